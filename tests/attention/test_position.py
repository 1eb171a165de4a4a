"""Position encodings: rotary is relative, sinusoidal matches its closed form, Fourier features are seeded."""

import math

import pytest
import torch

from sciformers.attention import FourierFeatures, RotaryEmbedding, sinusoidal_encoding


def test_rotary_dot_product_depends_only_on_the_offset():
    rot = RotaryEmbedding(8)
    q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)

    def score(m: float, n: float) -> float:
        qm = rot.apply(q.view(1, 8), torch.tensor([m]))
        kn = rot.apply(k.view(1, 8), torch.tensor([n]))
        return float(qm @ kn.T)

    assert score(3, 1) == pytest.approx(score(10, 8)) == pytest.approx(score(2.5, 0.5))
    assert score(3, 1) != pytest.approx(score(3, 2))


def test_rotary_preserves_norms_and_is_identity_at_zero():
    rot = RotaryEmbedding(16)
    x = torch.randn(2, 4, 5, 16, dtype=torch.float64)
    y = rot.apply(x)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :])
    with pytest.raises(ValueError, match="last dim of x is 8, expected 16"):
        rot.apply(torch.randn(3, 8))


def test_sinusoidal_closed_form():
    pe = sinusoidal_encoding(50, 16)
    for pos in (0, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_fourier_features_are_seeded_and_bounded():
    a, b, c = FourierFeatures(2, 32, sigma=8, seed=1), FourierFeatures(2, 32, sigma=8, seed=1), FourierFeatures(2, 32, seed=2)
    x = torch.rand(10, 2)
    assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))
    feats = a(x)
    torch.testing.assert_close(feats[:, :16] ** 2 + feats[:, 16:] ** 2, torch.ones(10, 16))
