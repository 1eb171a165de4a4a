"""RevIN: statistics, exact round trip, and gradients."""

import pytest
import torch

from sciformers.timeseries.forecasting import RevIN


@pytest.mark.parametrize("affine", [False, True])
def test_revin_round_trips_and_standardises(affine):
    torch.manual_seed(0)
    x = torch.randn(4, 50, 3, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1]) + torch.tensor([5.0, -3.0, 100.0])
    revin = RevIN(3, affine=affine, eps=1e-12).double()
    if affine:
        with torch.no_grad():
            revin.gamma.copy_(torch.tensor([0.5, 2.0, -1.5]))
            revin.beta.copy_(torch.tensor([0.1, -0.2, 3.0]))
    z = revin.normalize(x)
    raw = (z - revin.beta) / revin.gamma if affine else z
    torch.testing.assert_close(raw.mean(1), torch.zeros(4, 3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(raw.std(1, unbiased=False), torch.ones(4, 3, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(revin.denormalize(z), x, atol=1e-9, rtol=1e-9)


def test_revin_denormalize_maps_a_forecast_with_the_window_statistics():
    x = torch.tensor([[[1.0], [3.0]]], dtype=torch.float64)  # mean 2, std 1
    revin = RevIN(1, affine=False, eps=0.0).double()
    revin.normalize(x)
    y = revin.denormalize(torch.tensor([[[0.0], [1.0], [-2.0]]], dtype=torch.float64))
    assert y.flatten().tolist() == [2.0, 3.0, 0.0]


def test_revin_gradcheck_and_errors():
    revin = RevIN(2, affine=True).double()
    x = torch.randn(2, 6, 2, dtype=torch.float64)
    revin.normalize(x)  # statistics are constants (detached), as in Kim et al.'s implementation
    y = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(revin.denormalize, (y,))
    z = revin.normalize(x.requires_grad_())
    (z * torch.arange(24.0, dtype=torch.float64).reshape(2, 6, 2)).sum().backward()
    std = torch.sqrt(x.detach().var(1, unbiased=False, keepdim=True) + revin.eps)
    torch.testing.assert_close(x.grad, (torch.arange(24.0, dtype=torch.float64).reshape(2, 6, 2) / std).expand(2, 6, 2))
    with pytest.raises(RuntimeError, match="before normalize"):
        RevIN(2).denormalize(torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match=r"expected \(B, T, 2\)"):
        revin.normalize(torch.zeros(1, 3, 5, dtype=torch.float64))
