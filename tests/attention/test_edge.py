"""Edge-aware graph attention: dense softmax on a complete graph, permutation equivariance."""

import itertools

import pytest
import torch

from sciformers.attention import EdgeAttention, create_attention, naive_attention, scatter_softmax


def _complete_graph(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(n), range(n)))).T.contiguous()


def test_complete_graph_with_zero_edge_features_equals_dense_attention():
    torch.manual_seed(0)
    layer = create_attention("edge", dim=8, heads=2, edge_dim=3, root_weight=False).double()
    x = torch.randn(5, 8, dtype=torch.float64)
    ei = _complete_graph(5)
    out = layer(x, ei, torch.zeros(ei.shape[1], 3, dtype=torch.float64))
    split = lambda t: t.view(1, 5, 2, 4).transpose(1, 2)  # noqa: E731
    dense = naive_attention(split(layer.to_q(x)), split(layer.to_k(x)), split(layer.to_v(x)))
    torch.testing.assert_close(out, layer.to_out(dense.transpose(1, 2).reshape(5, 8)))


def test_node_permutation_equivariance():
    torch.manual_seed(1)
    layer = EdgeAttention(dim=6, heads=3, edge_dim=2).double()
    x = torch.randn(7, 6, dtype=torch.float64)
    ei = torch.randint(0, 7, (2, 20))
    ea = torch.randn(20, 2, dtype=torch.float64)
    perm = torch.randperm(7)
    inverse = torch.argsort(perm)  # node i becomes node inverse[i]
    out = layer(x, ei, ea)
    out_perm = layer(x[perm], inverse[ei], ea)
    torch.testing.assert_close(out_perm, out[perm])


def test_scatter_softmax_normalises_per_target():
    scores = torch.randn(6, 2, dtype=torch.float64)
    index = torch.tensor([0, 0, 2, 2, 2, 1])
    alpha = scatter_softmax(scores, index, 4)
    sums = torch.zeros(4, 2, dtype=torch.float64).index_add_(0, index, alpha)
    torch.testing.assert_close(sums[:3], torch.ones(3, 2, dtype=torch.float64))
    torch.testing.assert_close(alpha[:2, 0], torch.softmax(scores[:2, 0], 0))


def test_gradcheck_tiny():
    layer = EdgeAttention(dim=4, heads=2, edge_dim=1).double()
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    ea = torch.randn(4, 1, dtype=torch.float64, requires_grad=True)
    ei = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 1]])
    assert torch.autograd.gradcheck(lambda a, b: layer(a, ei, b), (x, ea))


def test_bad_graph_input_names_the_tensor():
    layer = EdgeAttention(dim=4, edge_dim=2)
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"edge_index values must lie in \[0, 3\)"):
        layer(x, torch.tensor([[0, 5], [1, 2]]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"edge_index must be a \(2, E\) long tensor"):
        layer(x, torch.tensor([[0.0, 1.0], [1.0, 2.0]]), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"edge_attr must be \(E=2, 2\)"):
        layer(x, torch.tensor([[0, 1], [1, 2]]), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"x must be \(num_nodes, 4\)"):
        layer(torch.randn(3, 5), torch.tensor([[0], [1]]), torch.zeros(1, 2))


def test_isolated_node_gets_a_zero_message():
    torch.manual_seed(2)
    layer = EdgeAttention(dim=4, heads=2, edge_dim=1).double()
    x = torch.randn(3, 4, dtype=torch.float64)
    out = layer(x, torch.tensor([[0, 1], [1, 0]]), torch.randn(2, 1, dtype=torch.float64))  # node 2 has no in-edge
    torch.testing.assert_close(out[2], layer.to_out.bias + layer.root(x[2]))
    with pytest.raises(ValueError, match="not divisible by heads"):
        EdgeAttention(dim=5, heads=2)
