"""Transformer blocks: MHA equals torch's, decoders are causal, encoders are permutation-equivariant."""

import pytest
import torch

from sciformers.attention import Decoder, Encoder, EncoderDecoder, FeedForward, MultiHeadAttention, RotaryEmbedding, TransformerBlock


def test_mha_with_softmax_equals_torch_multihead_attention():
    torch.manual_seed(0)
    ours = MultiHeadAttention(12, 3).double()
    ref = torch.nn.MultiheadAttention(12, 3, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.to_q.weight, ours.to_k.weight, ours.to_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.to_q.bias, ours.to_k.bias, ours.to_v.bias]))
        ref.out_proj.weight.copy_(ours.to_out.weight)
        ref.out_proj.bias.copy_(ours.to_out.bias)
    x, ctx = torch.randn(2, 7, 12, dtype=torch.float64), torch.randn(2, 5, 12, dtype=torch.float64)
    pad = torch.tensor([[True] * 5, [True, True, True, False, False]])
    torch.testing.assert_close(ours(x), ref(x, x, x, need_weights=False)[0])
    torch.testing.assert_close(ours(x, context=ctx, mask=pad),
                               ref(x, ctx, ctx, key_padding_mask=~pad, need_weights=False)[0])
    causal = torch.triu(torch.ones(7, 7, dtype=torch.bool), 1)
    torch.testing.assert_close(ours(x, causal=True), ref(x, x, x, attn_mask=causal, need_weights=False)[0])


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_decoder_is_causal(attention):
    torch.manual_seed(0)
    dec = Decoder(2, 16, 4, cross_attention=False, attention=attention, norm="rmsnorm", mlp="swiglu", bias=False,
                  rotary=RotaryEmbedding(4)).double().eval()
    x = torch.randn(1, 9, 16, dtype=torch.float64)
    y = x.clone()
    y[:, 6:] += torch.randn(1, 3, 16, dtype=torch.float64)
    torch.testing.assert_close(dec(x)[:, :6], dec(y)[:, :6])
    assert not torch.allclose(dec(x)[:, 6:], dec(y)[:, 6:])


@pytest.mark.parametrize("attention", ["softmax", "linear", "sinkhorn"])
def test_encoder_is_permutation_equivariant_and_ignores_padding(attention):
    torch.manual_seed(0)
    enc = Encoder(2, 16, 4, attention=attention).double().eval()
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    perm = torch.randperm(6)
    torch.testing.assert_close(enc(x[:, perm]), enc(x)[:, perm])
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    y = x.clone()
    y[1, 4:] = torch.randn(2, 16, dtype=torch.float64)  # change only padded tokens
    torch.testing.assert_close(enc(x, mask=mask)[1, :4], enc(y, mask=mask)[1, :4])


def test_encoder_decoder_and_gradcheck_of_a_block():
    torch.manual_seed(0)
    model = EncoderDecoder(1, 1, 8, 2).double()
    out = model(torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 3, 8, dtype=torch.float64))
    assert out.shape == (2, 3, 8)
    block = TransformerBlock(4, 2, mlp_ratio=1, mlp="swiglu", norm="rmsnorm").double()
    x = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: block(t, causal=True), (x,))


def test_bad_block_input_is_a_clear_error():
    mha = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match=r"x must be \(B, N, 8\)"):
        mha(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"key-padding mask must be \(B, M\) = \(2, 4\)"):
        mha(torch.randn(2, 4, 8), mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="not divisible by heads"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="needs a sequence kernel"):
        MultiHeadAttention(8, 2, attention="axial")
    with pytest.raises(ValueError, match="unknown mlp"):
        FeedForward(4, 8, kind="relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exactly when built with cross_attention"):
        TransformerBlock(8, 2, cross_attention=True)(torch.randn(1, 2, 8))


def test_rotary_attention_depends_only_on_relative_positions():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, rotary=RotaryEmbedding(4)).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    pos = torch.arange(5, dtype=torch.float64)
    torch.testing.assert_close(mha(x, positions=pos), mha(x, positions=pos + 7.5))
    per_sample = torch.stack([pos, pos + 3.0])  # (B, N) positions broadcast over heads
    torch.testing.assert_close(mha(x, positions=per_sample), mha(x))
    assert not torch.allclose(mha(x, positions=2 * pos), mha(x))


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_left_padded_decoder_ignores_padding(attention):
    torch.manual_seed(0)
    dec = Decoder(2, 8, 2, cross_attention=False, attention=attention).double().eval()
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    mask = torch.tensor([[True] * 6, [False] * 2 + [True] * 4])
    y = x.clone()
    y[1, :2] = torch.randn(2, 8, dtype=torch.float64)
    torch.testing.assert_close(dec(x, mask=mask)[1, 2:], dec(y, mask=mask)[1, 2:])


def test_unsupported_kernel_features_are_clear_errors():
    with pytest.raises(ValueError, match="'sinkhorn' does not support causal"):
        MultiHeadAttention(8, 2, attention="sinkhorn")(torch.randn(1, 3, 8), causal=True)
    rot = MultiHeadAttention(8, 2, rotary=RotaryEmbedding(4))
    with pytest.raises(ValueError, match="self-attention only"):
        rot(torch.randn(1, 3, 8), context=torch.randn(1, 4, 8))
    with pytest.raises(ValueError, match=r"positions must be \(N,\) or \(B, N\) with N=3"):
        rot(torch.randn(1, 3, 8), positions=torch.arange(4))
    with pytest.raises(ValueError, match="rotary dim 8 must equal dim_head 4"):
        MultiHeadAttention(8, 2, rotary=RotaryEmbedding(8))
    with pytest.raises(ValueError, match="exactly when built with cross_attention"):
        TransformerBlock(8, 2)(torch.randn(1, 2, 8), context=torch.randn(1, 3, 8))
