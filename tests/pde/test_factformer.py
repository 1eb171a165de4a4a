"""FactFormer: fp64 reference, axial = Kronecker kernel, gradcheck, torus equivariance, rollout."""

import math

import pytest
import torch

from sciformers.attention import dense_kronecker_apply, factorized_kernel_apply
from sciformers.core import create_model
from sciformers.pde import FactFormer2D, FactFormer3D, relative_l2_loss

TINY = dict(dim=8, depth=2, heads=2, dim_head=4, kernel_multiplier=2, latent_multiplier=1.0, rff_dim=8)


def _model(**kw):
    torch.manual_seed(0)
    return FactFormer2D(**{**TINY, **kw}).double()


def _naive_block(block, u, positions):
    """FABlock by the definition: build the full kernel kappa((x1,y1),(x2,y2)) = sum-free per head
    kappa_x[x1,x2] * kappa_y[y1,y2] on the flattened grid and integrate, then the output path."""
    b, sx, sy, _ = u.shape
    v = block.to_v(u).reshape(b, sx, sy, block.heads, block.dim_head)
    kx, ky = block.kernels(u, positions)
    z = torch.zeros_like(v)
    for h in range(block.heads):
        full = torch.einsum("bik,bjl->bijkl", kx[:, h], ky[:, h]).reshape(b, sx * sy, sx * sy)
        z[..., h, :] = (full @ v[..., h, :].reshape(b, sx * sy, -1)).reshape(b, sx, sy, -1)
    z = z.reshape(b, sx, sy, -1)
    z = torch.nn.functional.group_norm(z.movedim(-1, 1), block.heads).movedim(1, -1)
    return block.to_out(z)


def _naive_step(model, window):
    grid = tuple(window.shape[2:])
    u = window.movedim(1, -1) @ model.lift.weight.T + model.lift.bias
    pos = [2 * math.pi * torch.arange(s, dtype=torch.float64) / s for s in grid]
    axes = [torch.arange(s, dtype=torch.float64) / s for s in grid]
    coords = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1)
    proj = 2 * math.pi * coords @ model.rff.B.double()
    gamma = torch.cat([proj.cos(), proj.sin()], -1)
    for i, block in enumerate(model.blocks):
        u = u + model.pos_proj[i](gamma)
        mu, var = u.mean(-1, keepdim=True), u.var(-1, unbiased=False, keepdim=True)
        normed = (u - mu) / torch.sqrt(var + 1e-5) * model.in_norms[i].weight + model.in_norms[i].bias  # in_norm
        u = u + _naive_block(block, normed, pos)
    h = model.march.to_latent(u)
    frames = []
    for e in model.march.time_embedding:
        h = h + model.march.propagate(h + e)
        frames.append(model.march.decode(h)[..., 0])
    return torch.stack(frames, 1)


def test_step_matches_naive_fp64_reference_with_dense_kernels():
    """The step by the paper's definition: each block reads LayerNorm(u) (the reference's in_norm)."""
    model = _model(out_steps=2)
    with torch.no_grad():  # non-trivial LayerNorm affine, so the reference checks it is applied
        for norm in model.in_norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.2, 0.2)
    window = torch.randn(2, 4, 6, 5, dtype=torch.float64)
    assert torch.allclose(model.step(window), _naive_step(model, window), atol=1e-10)


@pytest.mark.parametrize("ndim", [2, 3])
def test_axial_kernels_of_a_block_equal_the_dense_kronecker_kernel(ndim):
    cls = FactFormer2D if ndim == 2 else FactFormer3D
    torch.manual_seed(1)
    model = cls(**TINY).double()
    block = model.blocks[0]
    grid = (5, 4, 3)[:ndim]
    u = torch.randn(2, *grid, TINY["dim"], dtype=torch.float64)
    pos = [2 * math.pi * torch.arange(s, dtype=torch.float64) / s for s in grid]
    kernels = block.kernels(u, pos)
    v = torch.randn(2, block.heads, *grid, 3, dtype=torch.float64)
    assert (factorized_kernel_apply(kernels, v) - dense_kronecker_apply(kernels, v)).abs().max() < 1e-12


def test_block_update_does_not_depend_on_the_scale_of_the_residual_stream():
    """in_norm before the value and axis projections: the attention branch sees LayerNorm(u), so
    scaling the stream (RFF added every layer makes it grow) leaves the update unchanged."""
    model = _model(depth=1)
    u = torch.randn(2, 6, 5, TINY["dim"], dtype=torch.float64)
    pos = [2 * math.pi * torch.arange(s, dtype=torch.float64) / s for s in (6, 5)]
    update = model.block_update(0, u, pos)
    assert torch.allclose(model.block_update(0, 10.0 * u, pos), update, atol=1e-6)


def test_gradcheck_tiny():
    model = _model(depth=1)
    window = torch.randn(1, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model.step, (window,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("shift", [(1, 0), (3, 5), (7, 2)])
def test_periodic_shift_of_the_input_shifts_the_prediction(shift):
    """Without the absolute RFF encoding, every part is shift-equivariant on the torus: pointwise
    maps, mean pooling, GroupNorm over the domain, and integer-frequency rotary on 2 pi i / S."""
    model = _model(pos_encoding="none", rotary="periodic", out_steps=2)
    window = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    out = model.step(window)
    shifted = model.step(torch.roll(window, shift, dims=(-2, -1)))
    assert torch.allclose(shifted, torch.roll(out, shift, dims=(-2, -1)), atol=1e-10)


def test_3d_periodic_shift_equivariance():
    torch.manual_seed(0)
    model = FactFormer3D(**TINY, pos_encoding="none").double()
    window = torch.randn(1, 4, 4, 5, 6, dtype=torch.float64)
    out = model.step(window)
    shifted = model.step(torch.roll(window, (1, 2, 3), dims=(-3, -2, -1)))
    assert torch.allclose(shifted, torch.roll(out, (1, 2, 3), dims=(-3, -2, -1)), atol=1e-10)


def test_index_rotary_is_not_periodic_so_equivariance_needs_the_periodic_variant():
    model = _model(pos_encoding="none", rotary="index")
    with torch.no_grad():  # make the kernels matter: larger q/k weights
        for block in model.blocks:
            for lin in (*block.to_q, *block.to_k):
                lin.weight.mul_(100)
    window = torch.randn(1, 4, 8, 8, dtype=torch.float64)
    shifted = model.step(torch.roll(window, (3, 0), dims=(-2, -1)))
    assert not torch.allclose(shifted, torch.roll(model.step(window), (3, 0), dims=(-2, -1)), atol=1e-6)


def test_rollout_of_k_steps_equals_k_single_steps():
    model = _model(out_steps=1)
    model.set_normalization(0.5, 2.0)
    u0 = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    roll = model.rollout(u0, 5)
    window, frames = u0, []
    for _ in range(5):
        nxt = model(window)
        frames.append(nxt)
        window = torch.cat([window[:, 1:], nxt], dim=1)
    assert torch.allclose(roll, torch.cat(frames, dim=1), atol=1e-10)


def test_residual_predicts_increments_over_the_last_frame():
    """residual=True: next frame = last input frame + the network's output, for every marched frame."""
    plain, resid = _model(out_steps=2), _model(out_steps=2, residual=True)
    for m in (plain, resid):
        m.set_normalization(0.5, 2.0)
    u0 = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    assert torch.allclose(resid(u0), plain(u0) + u0[:, -1:] - 0.5, atol=1e-10)  # mean enters once, in the step
    roll, window, frames = resid.rollout(u0, 5), u0, []
    while sum(f.shape[1] for f in frames) < 5:
        frames.append(resid(window))
        window = torch.cat([window, frames[-1]], dim=1)[:, -4:]
    assert torch.allclose(roll, torch.cat(frames, dim=1)[:, :5], atol=1e-10)


def test_rollout_with_latent_marching_is_a_semigroup():
    model = _model(out_steps=2)
    u0 = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    full = model.rollout(u0, 7)
    first = model.rollout(u0, 4)
    rest = model.rollout(first, 3)
    assert torch.allclose(full, torch.cat([first, rest], dim=1), atol=1e-10)
    assert torch.allclose(full[:, :2], model(u0), atol=1e-12)


def test_curriculum_and_pushforward_training_steps():
    model = _model(out_steps=2, curriculum_steps=4, pushforward_start=2, pushforward_every=2, pushforward_unroll=1)
    assert model.train_frames == 4
    batch = {"inputs": torch.randn(2, 4, 6, 6, dtype=torch.float64), "target": torch.randn(2, 4, 6, 6, dtype=torch.float64)}
    seen = []
    for _ in range(5):
        seen.append(model.supervised_frames())
        loss = model.training_step(batch)
        loss.backward()
        assert torch.isfinite(loss)
    assert seen == [1, 1, 2, 2, 2]
    assert int(model.iteration) == 5
    model.eval()
    assert model.supervised_frames() == 2
    with pytest.raises(ValueError, match="pushforward needs 4 target frames"):
        model.train()
        model.iteration.fill_(2)
        model.training_step({"inputs": batch["inputs"], "target": batch["target"][:, :2]})


def test_normalization_is_part_of_the_saved_state():
    model = create_model("pde.factformer2d", **TINY)
    model.set_normalization(1.5, 3.0)
    state = model.state_dict()
    assert float(state["field_mean"]) == 1.5 and float(state["field_std"]) == 3.0


def test_bad_input_shape_is_a_clear_error():
    model = _model()
    with pytest.raises(ValueError, match=r"\(B, 4 frames"):
        model.rollout(torch.randn(1, 3, 8, 8, dtype=torch.float64), 2)
    with pytest.raises(ValueError, match="FactFormer2D"):
        model.step(torch.randn(1, 4, 8, dtype=torch.float64))


def test_training_noise_perturbs_the_inputs_and_keeps_the_target_clean():
    """input_noise (Sanchez-Gonzalez et al. 2020): the loss of a training step is that of the
    noisy normalized window against the clean target; validation and rollouts see no noise."""
    model = _model(input_noise=0.1, residual=True)
    model.set_normalization(0.5, 2.0)
    batch = {"inputs": torch.randn(2, 4, 6, 6, dtype=torch.float64), "target": torch.randn(2, 1, 6, 6, dtype=torch.float64)}
    torch.manual_seed(3)
    loss = model.training_step(batch)
    torch.manual_seed(3)
    inputs = model.normalize(batch["inputs"])
    noisy = inputs + 0.1 * torch.randn_like(inputs)
    assert torch.allclose(loss, relative_l2_loss(model.advance(noisy), model.normalize(batch["target"])), atol=1e-12)
    assert not torch.allclose(loss, relative_l2_loss(model.advance(inputs), model.normalize(batch["target"])))
    model.eval()
    assert torch.equal(model.validation_step(batch), model.validation_step(batch))
    assert torch.equal(model.rollout(batch["inputs"], 3), model.rollout(batch["inputs"], 3))
    with pytest.raises(ValueError, match="input_noise"):
        _model(input_noise=-1.0)


@pytest.mark.parametrize("name", ["pde.factformer3d", "fno"])
def test_multichannel_frames_are_normalized_per_channel_and_rolled_out(name):
    """channels=4 (smoke density + 3 velocity components): frames (B, T, 4, X, Y, Z), each channel
    normalized by its own statistics; a rollout of k steps is k single steps."""
    fno = name == "fno"  # .double()/.to() would cast neuralop's complex spectral weights: fno stays fp32
    kwargs = {"n_modes": [3, 3, 3], "hidden_channels": 6, "n_layers": 1} if fno else dict(TINY, rotary="index")
    dtype, atol = (torch.float32, 1e-5) if fno else (torch.float64, 1e-10)
    torch.manual_seed(0)
    model = create_model(name, in_steps=2, out_steps=1, channels=4, **kwargs)
    model = model if fno else model.double()
    model.set_normalization([0.0, 1.0, -1.0, 2.0], [1.0, 2.0, 3.0, 4.0])
    u = torch.randn(3, 2, 4, 5, 6, 4, dtype=dtype)
    z = model.normalize(u)
    assert torch.allclose(z[:, :, 3], (u[:, :, 3] - 2.0) / 4.0) and torch.allclose(model.denormalize(z), u, atol=atol)
    roll = model.rollout(u, 3)
    assert roll.shape == (3, 3, 4, 5, 6, 4)
    window, frames = u, []
    for _ in range(3):
        frames.append(model(window))
        window = torch.cat([window[:, 1:], frames[-1]], dim=1)
    assert torch.allclose(roll, torch.cat(frames, dim=1), atol=atol)
    with pytest.raises(ValueError, match="4 channels"):
        model.rollout(u[:, :, :3], 2)
