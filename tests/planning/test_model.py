"""Searchformer: cached decoding against the full forward pass (fp64), causality, padding, the loss."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from sciformers.core import TrainConfig, Trainer, create_model, get_model_spec
from sciformers.planning.data import collate
from sciformers.planning.decoding import CachedDecoder, generate
from sciformers.planning.model import Searchformer


def _model(**kw):
    torch.manual_seed(0)
    return Searchformer(vocab_size=20, dim=16, heads=2, encoder_depth=2, decoder_depth=2, mlp_ratio=2, **kw).double().eval()


def _batch():
    src = torch.tensor([[1, 5, 6, 7, 8, 2], [1, 9, 4, 2, 0, 0]])
    tgt = torch.tensor([[1, 10, 11, 12, 13, 2], [1, 14, 15, 2, 0, 0]])
    return {"src": src, "src_mask": src > 0, "tgt": tgt, "tgt_mask": tgt > 0}


def test_cached_decoder_matches_full_forward():
    model, b = _model(), _batch()
    with torch.no_grad():
        full = model(b["src"], b["src_mask"], b["tgt"], torch.ones_like(b["tgt_mask"]))
        dec = CachedDecoder(model, b["src"], b["src_mask"])
        stepped = torch.stack([dec.step(b["tgt"][:, t]) for t in range(b["tgt"].shape[1])], dim=1)
    torch.testing.assert_close(stepped, full, rtol=1e-10, atol=1e-10)


def test_greedy_generation_is_argmax_of_teacher_forcing():
    model, b = _model(), _batch()
    out = generate(model, b["src"], b["src_mask"], max_new_tokens=6)
    with torch.no_grad():
        logits = model(b["src"], b["src_mask"], out[:, :-1], torch.ones_like(out[:, :-1], dtype=torch.bool))
    for row in range(2):
        n = int((out[row] != 0).sum())  # bos + generated tokens up to eos (or the budget)
        assert torch.equal(out[row, 1:n], logits[row, : n - 1].argmax(-1))


def test_causal_and_padding_invariance():
    model, b = _model(), _batch()
    with torch.no_grad():
        base = model(**b)
        changed = b["tgt"].clone()
        changed[:, 3] = 17
        after = model(b["src"], b["src_mask"], changed, b["tgt_mask"])
        torch.testing.assert_close(after[:, :3], base[:, :3])  # the future cannot leak back
        assert not torch.allclose(after[:, 3:], base[:, 3:])
        # extra prompt padding changes nothing
        src = F.pad(b["src"], (0, 3))
        padded = model(src, src > 0, b["tgt"], b["tgt_mask"])
        torch.testing.assert_close(padded[0], base[0], rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(padded[1, :4], base[1, :4], rtol=1e-10, atol=1e-10)


def test_loss_is_token_mean_cross_entropy_without_padding():
    model, b = _model(), _batch()
    logits = model(b["src"], b["src_mask"], b["tgt"][:, :-1], b["tgt_mask"][:, :-1])
    logp = torch.log_softmax(logits, -1)
    terms = [-logp[i, t, b["tgt"][i, t + 1]] for i in range(2) for t in range(5) if b["tgt_mask"][i, t + 1]]
    assert model.training_step(b).item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-12)


def test_gradcheck_through_the_embedding():
    # tiny fp64 check that the encoder-decoder (RoPE, RMSNorm, SwiGLU, cross-attention) is differentiable
    torch.manual_seed(0)
    model = Searchformer(vocab_size=16, dim=8, heads=2, encoder_depth=1, decoder_depth=1, mlp_ratio=1).double()
    b = _batch()
    emb = model.embed.weight.detach()[:, :8].clone().requires_grad_(True)

    def loss(w):
        x = F.embedding(b["src"], w)
        y = F.embedding(b["tgt"], w)
        h = model.net(x, y, b["src_mask"], b["tgt_mask"])
        return (h @ w.T).logsumexp(-1).sum()

    assert torch.autograd.gradcheck(loss, (emb,), eps=1e-6, atol=1e-5)


def test_registered_modes_and_memorisation():
    trace = create_model("planning.searchformer_trace", vocab_size=20, dim=16, heads=2, encoder_depth=1, decoder_depth=1)
    plan = create_model("planning.searchformer_plan", vocab_size=20, dim=16, heads=2, encoder_depth=1, decoder_depth=1)
    assert trace.mode == "trace" and plan.mode == "plan"
    with pytest.raises(ValueError, match="mode"):
        Searchformer(vocab_size=20, mode="both")
    # a tiny model memorises two prompt -> response pairs through the shared Trainer
    torch.manual_seed(0)
    model = Searchformer(vocab_size=20, dim=32, heads=2, encoder_depth=1, decoder_depth=1, mlp_ratio=2)
    pairs = [([1, 5, 6, 2], [1, 10, 11, 12, 2]), ([1, 7, 8, 2], [1, 13, 14, 2])]
    Trainer(TrainConfig(steps=150, batch_size=2, lr=3e-3, val_fraction=0, warmup=0), quiet=True).fit(
        model, pairs, collate_fn=collate)
    b = collate(pairs)
    out = generate(model, b["src"], b["src_mask"], max_new_tokens=6)
    assert out[0, :5].tolist() == [1, 10, 11, 12, 2] and out[1, :4].tolist() == [1, 13, 14, 2]


@pytest.mark.parametrize("name", ["planning.searchformer_trace", "planning.searchformer_plan"])
def test_registry_entry_runs_its_example(name):
    spec = get_model_spec(name)
    assert spec.kind == "trainable"
    model = create_model(name, **spec.test_kwargs)
    batch = spec.example(model)
    assert model.predict(batch).shape == (2, spec.test_kwargs["max_new_tokens"] + 1)
    assert torch.isfinite(model.training_step(batch))


def test_package_import_loads_no_harness():
    code = ("import sys, sciformers.planning; "
            "print([m for m in sys.modules if m.startswith(('sciformers.evaluation', 'matplotlib'))])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
