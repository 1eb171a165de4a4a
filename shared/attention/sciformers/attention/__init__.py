"""sciformers.attention: attention variants behind one registry, and the transformer blocks built on them.

>>> from sciformers.attention import create_attention, list_attention
>>> attn = create_attention("linear")
>>> out = attn(q, k, v, causal=True)          # q, k, v: (B, H, N, d)
"""

from sciformers.attention.registry import (
    AttentionSpec,
    create_attention,
    get_attention_spec,
    list_attention,
    register_attention,
)

# --- sequence kernels: softmax, linear, sinkhorn (+ naive fp64 reference) ---
from sciformers.attention.linear import (
    LinearAttention,
    LinearAttentionState,
    causal_linear_attention,
    linear_attention,
    linear_attention_step,
)
from sciformers.attention.reference import (
    naive_attention,
    naive_linear_attention,
    naive_sinkhorn_attention,
)
from sciformers.attention.sinkhorn import SinkhornAttention, sinkhorn_attention
from sciformers.attention.softmax import SoftmaxAttention, softmax_attention

# --- structured variants: axial, spatial_reduction, edge ---
from sciformers.attention.axial import AxialAttention, dense_kronecker_apply, factorized_kernel_apply
from sciformers.attention.edge import EdgeAttention, scatter_softmax
from sciformers.attention.spatial_reduction import SpatialReductionAttention

# --- position encodings and transformer blocks ---
from sciformers.attention.blocks import (
    Decoder,
    Encoder,
    EncoderDecoder,
    FeedForward,
    MultiHeadAttention,
    TransformerBlock,
    make_norm,
)
from sciformers.attention.position import FourierFeatures, RotaryEmbedding, sinusoidal_encoding
