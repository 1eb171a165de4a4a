"""SegFormer efficient attention: sr=1 is plain MHA; sr=R is attention over the reduced map."""

import pytest
import torch
import torch.nn.functional as F

from sciformers.attention import SpatialReductionAttention, create_attention, naive_attention


def test_sr1_equals_torch_multihead_attention():
    torch.manual_seed(0)
    layer = create_attention("spatial_reduction", dim=8, heads=2, sr=1).double()
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([layer.q.weight, layer.kv.weight]))
        mha.in_proj_bias.copy_(torch.cat([layer.q.bias, layer.kv.bias]))
        mha.out_proj.weight.copy_(layer.proj.weight)
        mha.out_proj.bias.copy_(layer.proj.bias)
    x = torch.randn(2, 12, 8, dtype=torch.float64)
    torch.testing.assert_close(layer(x, 3, 4), mha(x, x, x, need_weights=False)[0])


def test_sr_r_equals_attention_over_explicitly_reduced_keys():
    torch.manual_seed(1)
    layer = SpatialReductionAttention(dim=4, heads=2, sr=2).double()
    x = torch.randn(1, 6 * 4, 4, dtype=torch.float64)
    image = x.transpose(1, 2).reshape(1, 4, 6, 4)
    reduced = F.layer_norm(F.conv2d(image, layer.reduce.weight, layer.reduce.bias, stride=2).flatten(2).transpose(1, 2),
                           (4,), layer.norm.weight, layer.norm.bias)
    assert reduced.shape == (1, 6, 4)  # (6/2) * (4/2) keys
    q = (x @ layer.q.weight.T + layer.q.bias).view(1, 24, 2, 2).transpose(1, 2)
    k, v = (reduced @ layer.kv.weight.T + layer.kv.bias).view(1, 6, 2, 2, 2).permute(2, 0, 3, 1, 4)
    expected = naive_attention(q, k, v).transpose(1, 2).reshape(1, 24, 4) @ layer.proj.weight.T + layer.proj.bias
    torch.testing.assert_close(layer(x, 6, 4), expected)


def test_gradcheck_tiny():
    layer = SpatialReductionAttention(dim=2, heads=1, sr=2).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layer(t, 2, 2), (x,))


def test_wrong_token_count_is_a_clear_error():
    with pytest.raises(ValueError, match=r"x must be \(B, H\*W=12, 8\)"):
        SpatialReductionAttention(dim=8, sr=2)(torch.randn(1, 10, 8), 3, 4)
