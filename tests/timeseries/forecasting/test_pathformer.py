"""Pathformer: router top-k and balance loss by hand, decompositions, dual attention vs a naive loop, gradients."""

import math

import pytest
import torch

from sciformers.timeseries.forecasting import DualAttentionScale, MultiScaleRouter, Pathformer
from sciformers.timeseries.forecasting.pathformer import cv_squared, moving_average, seasonality


def test_router_keeps_exactly_k_scales_with_softmax_of_their_logits():
    router = MultiScaleRouter(seq_len=8, n_vars=2, d_model=3, num_scales=4, top_k=2)
    logits = torch.tensor([[0.1, 2.0, -1.0, 1.0], [3.0, 0.0, 0.5, 0.2]])
    gates = router.gate(logits)
    assert ((gates > 0).sum(1) == 2).all()
    e = math.exp
    torch.testing.assert_close(gates[0], torch.tensor([0.0, e(2) / (e(2) + e(1)), 0.0, e(1) / (e(2) + e(1))]))
    torch.testing.assert_close(gates[1], torch.tensor([e(3) / (e(3) + e(0.5)), 0.0, e(0.5) / (e(3) + e(0.5)), 0.0]))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_router_forward_gates_sum_to_one_over_k_scales(k):
    torch.manual_seed(0)
    router = MultiScaleRouter(seq_len=16, n_vars=3, d_model=4, num_scales=4, top_k=k).double()
    torch.nn.init.normal_(router.w_gate)
    h = torch.randn(5, 16, 3, 4, dtype=torch.float64)
    for train in (True, False):
        router.train(train)
        gates, balance = router(h)
        assert ((gates > 0).sum(1) == k).all()
        torch.testing.assert_close(gates.sum(1), torch.ones(5, dtype=torch.float64))
        torch.testing.assert_close(balance, cv_squared(gates.sum(0)))
    router.eval()
    torch.testing.assert_close(router(h)[0], router(h)[0])  # no gating noise at inference


def test_balance_loss_by_hand_and_minimal_at_uniform_usage():
    # importance (2, 1, 1, 0): mean 1, population variance 0.5 -> CV^2 = 0.5
    gates = torch.tensor([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 1.0, 0]])
    torch.testing.assert_close(cv_squared(gates.sum(0)), torch.tensor(0.5))
    uniform = torch.tensor([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5], [0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5]])
    assert cv_squared(uniform.sum(0)).item() == 0.0
    torch.manual_seed(1)
    for _ in range(20):  # every other usage pattern of the same total scores higher
        g = torch.softmax(torch.randn(4, 4) * 3, 1)
        assert cv_squared(g.sum(0)) > 0.0


def test_seasonality_keeps_dominant_frequencies_and_moving_average_keeps_lines():
    t = torch.arange(96, dtype=torch.float64)
    x = (2 * torch.sin(2 * math.pi * t / 24) + 0.5 * torch.cos(2 * math.pi * t / 12) + 3.0)[None, :, None]
    noise = 0.01 * torch.randn(1, 96, 1, dtype=torch.float64)
    season = seasonality(x + noise, num_freqs=2)
    torch.testing.assert_close(season, x - 3.0, atol=0.02, rtol=0)
    ramp = (0.5 * t + 1)[None, :, None]
    torch.testing.assert_close(moving_average(ramp, 5)[:, 2:-2], ramp[:, 2:-2])
    assert moving_average(ramp, 4).shape == ramp.shape


def _naive_intra(scale, h):
    """Intra-patch attention written patch by patch for ``h (L, N, d)`` (single head)."""
    mha = scale.intra_attn
    seq_len, n, d = h.shape
    out = torch.zeros(scale.num, n, d, dtype=h.dtype)
    for p in range(scale.num):
        for v in range(n):
            q = scale.intra_query[p]
            keys = torch.cat([q[None], h[p * scale.size:(p + 1) * scale.size, v]])
            w = torch.softmax(mha.to_k(keys) @ mha.to_q(q) / d**0.5, 0)
            out[p, v] = mha.to_out(w @ mha.to_v(keys))
    return torch.einsum("lp,pnd->lnd", scale.intra_spread.weight, out) + scale.intra_spread.bias[:, None, None]


def test_intra_patch_attention_matches_naive_loop():
    torch.manual_seed(0)
    scale = DualAttentionScale(seq_len=12, patch_size=4, d_model=3, d_ff=5).double().eval()
    h = torch.randn(2, 12, 2, 3, dtype=torch.float64)
    captured = {}
    scale.inter_attn.register_forward_hook(lambda m, i, o: captured.update(inter=o))
    out = scale(h)
    inter = captured["inter"].reshape(2, 2, 12, 3).permute(0, 2, 1, 3)
    for b in range(2):
        mid = h[b] + _naive_intra(scale, h[b]) + inter[b]
        torch.testing.assert_close(out[b], mid + scale.ff(mid), atol=1e-10, rtol=1e-10)


def test_top1_block_output_is_the_chosen_scale_and_gradcheck():
    torch.manual_seed(0)
    model = Pathformer(seq_len=8, pred_len=3, n_vars=2, patch_sizes=[[2, 4]], top_k=1, d_model=2, d_ff=4,
                       use_revin=False).double().eval()  # RevIN statistics are detached: no exact gradient
    block = model.blocks[0]
    h = torch.randn(3, 8, 2, 2, dtype=torch.float64)
    gates, _ = block.router(h)
    out, _ = block(h)
    for b in range(3):
        chosen = int(gates[b].argmax())
        torch.testing.assert_close(out[b], block.scales[chosen](h[b:b + 1])[0])
    torch.nn.init.normal_(block.router.w_gate, std=10.0)  # clear routing margins: finite differences keep the choice
    x = torch.randn(1, 8, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: model.forecast(t)[0], (x,), fast_mode=True)


def test_training_loss_adds_the_weighted_balance_loss():
    torch.manual_seed(0)
    model = Pathformer(seq_len=16, pred_len=4, n_vars=3, patch_sizes=[[4, 8, 2], [2, 4]], top_k=1, d_model=2, d_ff=4,
                       balance_coef=0.5)
    x, y = torch.randn(6, 16, 3), torch.randn(6, 4, 3)
    torch.manual_seed(5)
    pred, aux = model.forecast(x)
    torch.manual_seed(5)
    loss = model.training_step({"x": x, "y": y})
    torch.testing.assert_close(loss, torch.nn.functional.mse_loss(pred, y) + aux)
    assert aux.item() >= 0 and pred.shape == (6, 4, 3)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="patch size 5 does not divide the lookback 16"):
        Pathformer(seq_len=16, pred_len=4, n_vars=3, patch_sizes=[[4, 5]], top_k=1)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 2\]"):
        Pathformer(seq_len=16, pred_len=4, n_vars=3, patch_sizes=[[4, 8]], top_k=3)
