"""ShapeFormer network: Shapelet Filter against brute force, gradients, shift invariance, errors."""

import numpy as np
import pytest
import torch

from sciformers.core import create_model
from sciformers.timeseries.classification.shapeformer import ShapeFormer, ShapeletFilter, cid_distance


def spec(channel, start, values, gain=0.5):
    return {"values": list(values), "channel": channel, "start": start, "end": start + len(values), "info_gain": gain}


def tiny(shapelets=None, channels=3, length=24, **kw):
    shapelets = shapelets or [spec(0, 3, [0.0, 1.0, 0.0, -1.0]), spec(2, 10, [1.0, 2.0, 1.0]), spec(1, 15, [0.5, -0.5])]
    return ShapeFormer(shapelets, channels=channels, length=length, num_classes=2, dim=8, generic_dim=4, heads=2,
                       ffn_dim=8, dropout=0.0, scan_window=4, **kw)


def brute_force_best_fit(x, values, channel, start, end, scan):
    """Loop over every start in [start - scan, end + scan - L] (clipped), fp64, first minimum wins."""
    values = np.asarray(values, dtype=np.float64)
    L, T = len(values), x.shape[-1]
    best, best_d = None, np.inf
    for p in range(max(0, start - scan), min(T, end + scan) - L + 1):
        w = x[channel, p:p + L]
        ce_w, ce_s = np.sqrt((np.diff(w) ** 2).sum() + 1e-8), np.sqrt((np.diff(values) ** 2).sum() + 1e-8)
        d = ((w - values) ** 2).mean() * min(max(ce_w, ce_s) / min(ce_w, ce_s), 3.0)
        if d < best_d:
            best, best_d = p, d
    return best


def test_best_fit_position_matches_brute_force():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 40))
    for channel, start, L, scan in [(0, 0, 5, 4), (1, 17, 7, 6), (2, 33, 7, 50), (1, 10, 3, 0)]:
        values = rng.standard_normal(L)
        f = ShapeletFilter(values.tolist(), channel, start, start + L, dim=4, scan_window=scan).double()
        starts, best = f.best_fit(torch.from_numpy(x))
        for b in range(len(x)):
            p = brute_force_best_fit(x[b], values, channel, start, start + L, scan)
            assert starts[b].item() == p
            np.testing.assert_array_equal(best[b].numpy(), x[b, channel, p:p + L])


def test_cid_distance_matches_formula():
    w = torch.tensor([[0.0, 2.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    s = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    ce_s, ce_w0 = np.sqrt(2.0), np.sqrt(8.0)
    expected0 = (0 + (2 - 1) ** 2 + 0) / 3 * (ce_w0 / ce_s)
    expected1 = ((1 - 0) ** 2 + 0 + (1 - 0) ** 2) / 3 * 3.0  # flat window: ratio clipped at 3
    np.testing.assert_allclose(cid_distance(w, s).numpy(), [expected0, expected1], rtol=1e-6)


def test_difference_feature_is_linear_a_minus_linear_b():
    f = ShapeletFilter([0.0, 1.0, 0.0], 0, 4, 7, dim=4, scan_window=3).double()  # scans starts 1..7
    x = torch.zeros(1, 1, 12, dtype=torch.float64)
    x[0, 0, 6:9] = torch.tensor([0.0, 1.0, 0.0])
    start, best = f.best_fit(x)
    assert start.item() == 6  # the exact copy of the shapelet
    out = f(x)
    expected = f.embed_match(best) - f.embed_shapelet(f.shapelet)[None]
    torch.testing.assert_close(out, expected)


def test_gradcheck_fp64():
    torch.manual_seed(0)
    model = tiny().double().eval()
    x = torch.randn(2, 24, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: model(X=inp), (x,), eps=1e-6, atol=1e-5, fast_mode=True)
    # the shapelet is a learnable parameter: its gradient flows through Linear_b (eq. 6)
    shapelet = model.filters[0].shapelet
    assert torch.autograd.gradcheck(
        lambda v: torch.func.functional_call(model, {"filters.0.shapelet": v}, kwargs={"X": x.detach()}),
        (shapelet.detach().clone().requires_grad_(True),), eps=1e-6, atol=1e-5, fast_mode=True)


def test_class_specific_features_are_invariant_to_shifts_within_the_scan():
    """Best-fit matching: moving the motif inside the scan window leaves the shapelet tokens unchanged."""
    motif = [0.0, 2.0, -1.0, 3.0, 0.0]
    model = tiny([spec(1, 8, motif)], channels=2, length=30).double().eval()
    base = torch.zeros(1, 30, 2, dtype=torch.float64)
    outs = []
    for shift in (-4, -1, 0, 3, 4):
        x = base.clone()
        x[0, 8 + shift:13 + shift, 1] = torch.tensor(motif, dtype=torch.float64)
        outs.append(model.class_specific(x.transpose(1, 2)))
    for o in outs[1:]:
        torch.testing.assert_close(o, outs[0])


def test_token_weights_start_at_softmax_of_scaled_information_gain():
    gains = [0.2, 0.9, 0.5]
    shapelets = [spec(0, 3, [0.0, 1.0, 0.0], gains[0]), spec(1, 5, [1.0, 0.0], gains[1]), spec(2, 1, [1.0, 2.0], gains[2])]
    model = tiny(shapelets)
    expected = torch.softmax(20 * torch.tensor(gains), 0) * 3
    torch.testing.assert_close(model.token_weight.detach()[:, 0], expected)


def test_registered_and_validates_inputs():
    model = create_model("timeseries.shapeformer", shapelets=[spec(0, 0, [1.0, 2.0])], channels=1, length=10,
                         num_classes=3, dim=8, generic_dim=4, heads=2, ffn_dim=8)
    assert model(X=torch.randn(4, 10, 1)).shape == (4, 3)
    with pytest.raises(ValueError, match=r"expects \(batch, 10, 1\)"):
        model(X=torch.randn(4, 12, 1))
    with pytest.raises(ValueError, match="shapelet 0: channel 5"):
        ShapeFormer([spec(5, 0, [1.0, 2.0])], channels=2, length=10, num_classes=2)
    with pytest.raises(ValueError, match="at least one shapelet"):
        ShapeFormer([], channels=2, length=10, num_classes=2)


def test_trains_as_a_train_module_on_x_y_batches():
    torch.manual_seed(0)
    model = tiny()
    X, y = torch.randn(5, 24, 3), torch.tensor([0, 1, 1, 0, 1])
    logits = model.predict({"X": X})
    torch.testing.assert_close(logits, model(X=X))
    loss = model.training_step({"X": X, "y": y})
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, y))
    loss.backward()
    assert model.filters[0].shapelet.grad is not None
