"""FactFormer's factorized kernels equal the dense Kronecker kernel on the flattened grid."""

import pytest
import torch

from sciformers.attention import AxialAttention, create_attention, dense_kronecker_apply, factorized_kernel_apply

torch.manual_seed(0)


@pytest.mark.parametrize("grid", [(7,), (5, 3), (3, 4, 5)])
def test_factorized_equals_dense_kronecker(grid):
    kernels = [torch.randn(2, 3, s, s, dtype=torch.float64) for s in grid]
    v = torch.randn(2, 3, *grid, 4, dtype=torch.float64)
    torch.testing.assert_close(factorized_kernel_apply(kernels, v), dense_kronecker_apply(kernels, v), atol=1e-12, rtol=1e-12)


def test_one_axis_is_ordinary_kernel_attention():
    kappa = torch.randn(1, 2, 9, 9, dtype=torch.float64)
    v = torch.randn(1, 2, 9, 5, dtype=torch.float64)
    torch.testing.assert_close(factorized_kernel_apply([kappa], v), kappa @ v)


@pytest.mark.parametrize("ndim, grid", [(1, (6,)), (2, (5, 3)), (3, (3, 2, 4))])
def test_layer_equals_its_dense_oracle(ndim, grid):
    layer = create_attention("axial", dim=8, heads=2, dim_head=4, ndim=ndim).double()
    u = torch.randn(2, *grid, 8, dtype=torch.float64)
    v = layer.to_v(u).unflatten(-1, (2, 4)).movedim(-2, 1)
    dense = dense_kronecker_apply(layer.kernels(u), v)
    z = torch.nn.functional.group_norm(dense.movedim(1, -2).flatten(-2).movedim(-1, 1), 2).movedim(1, -1)
    torch.testing.assert_close(layer(u), layer.to_out(z))


@pytest.mark.parametrize("grid", [(9, 10), (9, 3, 10)])
def test_low_rank_application_equals_the_dense_oracle(grid):
    """With rank r = 2 < S/2 the layer applies kappa = q k^T as q (k^T v); the product must not change."""
    layer = AxialAttention(dim=8, heads=2, dim_head=2, ndim=len(grid), kernel_multiplier=1).double()
    u = torch.randn(2, *grid, 8, dtype=torch.float64)
    v = layer.to_v(u).unflatten(-1, (2, 2)).movedim(-2, 1)
    dense = dense_kronecker_apply(layer.kernels(u), v)
    z = torch.nn.functional.group_norm(dense.movedim(1, -2).flatten(-2).movedim(-1, 1), 2).movedim(1, -1)
    torch.testing.assert_close(layer(u), layer.to_out(z))


def test_gradcheck_tiny():
    layer = AxialAttention(dim=4, heads=1, dim_head=2, ndim=2, kernel_multiplier=1).double()
    u = torch.randn(1, 3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layer(t), (u,))


def test_periodic_shift_with_rotary_off_commutes_with_the_layer():
    """Without positions, the layer is equivariant to permuting a grid axis (no axis order is built in)."""
    layer = AxialAttention(dim=8, heads=2, dim_head=4, ndim=2, rotary=False).double()
    u = torch.randn(1, 6, 5, 8, dtype=torch.float64)
    shifted = torch.roll(u, shifts=2, dims=1)
    torch.testing.assert_close(layer(shifted), torch.roll(layer(u), shifts=2, dims=1))


def test_bad_input_is_a_clear_error():
    layer = AxialAttention(dim=8, ndim=2)
    with pytest.raises(ValueError, match=r"input must be \(B, \*2 grid axes, 8\)"):
        layer(torch.randn(1, 4, 8))
    with pytest.raises(ValueError, match="coords lengths"):
        layer(torch.randn(1, 4, 3, 8), coords=[torch.arange(4), torch.arange(4)])
    with pytest.raises(ValueError, match="ndim must be 1, 2 or 3"):
        AxialAttention(dim=8, ndim=4)
