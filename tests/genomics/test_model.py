"""METAGENE LM: packed reads equal reads alone (fp64), causality, gradcheck, MLM isolation, LoRA, heads."""

import math

import pytest
import torch

from sciformers.core import ConfigError, create_model, get_model_spec
from sciformers.genomics import BidirMLM, MetageneLM, PackedReads, ReadClassifier, SingleReads, lm_config
from sciformers.genomics.classifier import LoRALinear
from sciformers.genomics.packing import IGNORE, pack_units, read_units

VOCAB = 40
TOKEN_BASES = torch.tensor([0] * 6 + [1 + i % 5 for i in range(VOCAB - 6)])


def _reads(seed=0, lengths=(5, 9, 3, 7, 11, 2)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(6, VOCAB, (n,), generator=g).tolist() for n in lengths]


def _batch(ds, idx=None):
    items = [ds[i] for i in (idx if idx is not None else range(len(ds)))]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def _tiny(cls=MetageneLM, **kw):
    torch.manual_seed(0)
    return cls(size="tiny", vocab_size=VOCAB, context=32, **kw).double().eval()


@pytest.mark.parametrize("cls", [MetageneLM, BidirMLM])
def test_packed_reads_equal_reads_run_alone(cls):
    model, reads = _tiny(cls), _reads()
    packed = PackedReads(reads, 24, TOKEN_BASES)
    assert len(packed) >= 2  # several windows, several reads per window
    batch = _batch(packed)
    hidden = model.backbone(batch["input_ids"], batch["segments"], batch["positions"])
    logits = model.lm_head(hidden)
    r = 0
    for w, (tokens, segments) in enumerate(packed.windows):
        for seg in sorted(set(segments)):
            n = segments.count(seg)
            start = segments.index(seg)
            alone = _batch(SingleReads([reads[r]], 16, TOKEN_BASES))
            ref = model.logits(alone)[0, : min(n, 16)]
            got = logits[w, start:start + min(n, 24 - start)]
            k = min(len(got), len(ref))
            torch.testing.assert_close(got[:k], ref[:k], rtol=0, atol=1e-12)
            r += 1
    assert r == len(reads)


def test_targets_never_cross_reads_and_bases_count():
    reads = _reads(lengths=(4, 6))
    (tokens, segments), = pack_units(read_units(reads, 20), 20)
    b = PackedReads(reads, 20, TOKEN_BASES)[0]
    assert b["targets"][5].item() == IGNORE  # [EOS] of read 1 does not predict [BOS] of read 2
    assert b["positions"][:8].tolist() == list(range(6)) + [0, 1]
    expected = sum(TOKEN_BASES[t].item() for t in reads[0] + reads[1])
    assert b["bases"].sum().item() == expected


def test_causal_future_tokens_do_not_change_the_past():
    model = _tiny()
    ds = SingleReads(_reads(lengths=(12,)), 16, TOKEN_BASES)
    b = _batch(ds)
    out = model.logits(b)
    b2 = {k: v.clone() for k, v in b.items()}
    b2["input_ids"][0, 8:13] = 7
    out2 = model.logits(b2)
    torch.testing.assert_close(out[0, :8], out2[0, :8], rtol=0, atol=0)
    assert (out[0, 8:13] - out2[0, 8:13]).abs().max() > 1e-6
    # the bidirectional peer does see the future
    mlm = _tiny(BidirMLM)
    assert (mlm.logits(b)[0, :8] - mlm.logits(b2)[0, :8]).abs().max() > 1e-6


def test_gradcheck_backbone_tiny():
    torch.manual_seed(0)
    model = MetageneLM(size="tiny", vocab_size=VOCAB, dim=8, heads=2, ffn=8, depth=1, context=8).double()
    seg = torch.tensor([[1, 1, 1, 2, 2, 0]])
    pos = torch.tensor([[0, 1, 2, 0, 1, 0]])
    x = torch.randn(1, 6, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: model.backbone.forward_embeddings(t, seg, pos), (x,))


def test_predict_sums_nll_and_bases_and_training_reduces_loss():
    model = _tiny().float().train()
    reads = _reads(lengths=(8,) * 12)
    packed = _batch(PackedReads(reads, 32, TOKEN_BASES))
    pred = model.predict(packed)
    assert pred.shape == (len(packed["input_ids"]), 3)
    assert pred[:, 1].sum().item() == packed["bases"].sum().item()
    assert pred[:, 2].sum().item() == (packed["targets"] >= 6).sum().item() == 12 * 8  # base tokens, no [EOS]
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = model.training_step(packed).item()
    for _ in range(10):
        opt.zero_grad()
        model.training_step(packed).backward()
        opt.step()
    assert model.training_step(packed).item() < 0.85 * first


def test_registered_configs():
    big = lm_config("7b")
    assert (big.depth, big.dim, big.heads, big.ffn, big.vocab_size, big.context) == (32, 4096, 32, 11008, 1024, 512)
    model = create_model("genomics.metagene", size="tiny", vocab_size=64)
    assert not any(m.bias is not None for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert model.lm_head.weight.data_ptr() != model.backbone.embed.weight.data_ptr()  # untied
    with pytest.raises(ValueError, match="unknown size"):
        lm_config("huge")
    with pytest.raises(ValueError, match="exceed the context"):
        model.logits(_batch(SingleReads(_reads(lengths=(80,)), 90, torch.ones(64, dtype=torch.long))))


def test_lora_starts_at_the_pretrained_function_and_trains_only_adapters():
    lm = _tiny()
    b = _batch(SingleReads(_reads(), 16, TOKEN_BASES, labels=[0, 1, 0, 1, 0, 1]))
    full = ReadClassifier(lm.backbone, 2, "full").double()
    ref = full(b)
    import copy
    lora = ReadClassifier(copy.deepcopy(lm.backbone), 2, "lora", lora_r=4, lora_alpha=8).double()
    lora.head.load_state_dict(full.head.state_dict())
    torch.testing.assert_close(lora(b), ref)  # B = 0 at the start
    n_lora = sum(isinstance(m, LoRALinear) for m in lora.modules())
    assert n_lora == 4 * lm.config.depth
    trainable = {n for n, p in lora.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    lora.training_step(b).backward()


@pytest.mark.parametrize("name", ["genomics.metagene", "bidir_mlm", "kmer_lr", "gc_content"])
def test_registry_kinds_and_examples(name):
    spec = get_model_spec(name)
    model = create_model(name, **spec.test_kwargs)
    assert spec.kind == ("trainable" if isinstance(model, torch.nn.Module) else "estimator")
    if spec.kind == "trainable":
        batch = spec.example(model)
        with torch.no_grad():
            out = model.predict(batch)
        assert out.shape[0] == batch["input_ids"].shape[0] and torch.isfinite(out).all()


def test_finetune_kwargs_build_the_classifier_and_leave_the_lm():
    lm = create_model("genomics.metagene", size="tiny", vocab_size=VOCAB, finetune={"mode": "lora", "r": 2})
    clf = ReadClassifier.from_pretrained(lm)
    assert sum(isinstance(m, LoRALinear) for m in clf.modules()) == 4 * lm.config.depth
    assert not any(isinstance(m, LoRALinear) for m in lm.modules()) and clf.backbone is not lm.backbone
    with pytest.raises(ConfigError, match="finetune"):
        create_model("genomics.metagene", size="tiny", finetune={"mode": "lora", "rank": 2})


def test_iid_model_through_the_lm_scoring_path_equals_its_closed_form():
    """Uniform logits (zero head) are the i.i.d. model p(b) = 1/5 over ACGTN: the LM's scoring path
    must charge exactly -log p per base of the read, and nothing for [EOS] (the baselines know the
    read's length too)."""
    import math

    from sciformers.genomics import DNATokenizer

    tok = DNATokenizer.nucleotide()
    reads = ["ACGTTGCAAC", "GGGN", "acgtnacg"]
    model = MetageneLM(size="tiny", vocab_size=tok.vocab_size, context=16).double().eval()
    torch.nn.init.zeros_(model.lm_head.weight)
    ds = SingleReads(tok.encode_batch(reads), 16, torch.tensor(tok.token_lengths()))
    with torch.no_grad():
        pred = model.predict(_batch(ds))
    bases = torch.tensor([len(r) for r in reads], dtype=torch.float64)
    torch.testing.assert_close(pred[:, 1], bases)
    torch.testing.assert_close(pred[:, 0], bases * math.log(5), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("head", ["mean", "last", "attention", "likelihood_ratio"])
def test_heads_ignore_padding_and_rc_averaging_is_strand_invariant(head):
    from sciformers.genomics import DNATokenizer, reverse_complement, finetune_classifier

    tok = DNATokenizer.train(["ACGTTGCAAGGT" * 5, "TTGACCA" * 6] * 10, vocab_size=30)  # BPE: not RC-symmetric
    lm = MetageneLM(size="tiny", vocab_size=tok.vocab_size, context=64, finetune={"head": head})
    torch.manual_seed(1)
    clf = finetune_classifier(lm, 2, [0.3, 0.7]).double().eval()
    for p in (getattr(clf, "attention_pool", None), getattr(clf, "class_embed", None)):
        if p is not None:
            torch.nn.init.normal_(p if isinstance(p, torch.nn.Parameter) else p.query)
    reads = ["ACGTTGCAAGGTAC", "GGTTGACCANT", "acgtacgtttga"]
    tb = torch.tensor(tok.token_lengths())
    ids = tok.encode_batch(reads)
    short, long = _batch(SingleReads(ids, 16, tb)), _batch(SingleReads(ids, 40, tb))
    torch.testing.assert_close(clf(short), clf(long), rtol=0, atol=1e-12)  # padding is never read
    p = clf.read_proba(reads, tok, 16, rc_average=True)
    p_rc = clf.read_proba([reverse_complement(r) for r in reads], tok, 16, rc_average=True)
    torch.testing.assert_close(p, p_rc, rtol=0, atol=1e-12)
    rc = [reverse_complement(r) for r in reads]
    assert not torch.allclose(clf.read_proba(reads, tok, 16), clf.read_proba(rc, tok, 16))  # one strand is not


def test_last_pooling_reads_the_eos_state_and_attention_pooling_starts_as_the_mean():
    lm = _tiny()
    ds = SingleReads(_reads(lengths=(5, 9)), 16, TOKEN_BASES)
    b = _batch(ds)
    hidden = lm.backbone(b["input_ids"], b["segments"], b["positions"])
    last = ReadClassifier(lm.backbone, 2, pool="last").double()
    assert b["input_ids"][0, 6].item() == 4 and b["input_ids"][1, 10].item() == 4  # [EOS] is an input
    torch.testing.assert_close(last.embed(b), torch.stack([hidden[0, 6], hidden[1, 10]]))
    att = ReadClassifier(lm.backbone, 2, pool="attention").double()
    torch.testing.assert_close(att.embed(b), ReadClassifier(lm.backbone, 2).double().embed(b))


def test_likelihood_ratio_head_starts_at_the_lm_and_is_bayes_rule():
    from sciformers.genomics import ClassConditionalLM, finetune_classifier

    lm = _tiny(finetune={"head": "likelihood_ratio"})
    b = _batch(SingleReads(_reads(lengths=(5, 9, 3)), 16, TOKEN_BASES, labels=[0, 1, 1]))
    clf = finetune_classifier(lm, 2, [0.25, 0.75]).double()
    assert isinstance(clf, ClassConditionalLM) and clf.lm is not lm
    nll = lm.predict(b)[:, 0]  # zero class vectors: p(x | c) is the pretrained LM's p(x)
    torch.testing.assert_close(clf(b), torch.log(torch.tensor([0.25, 0.75], dtype=torch.float64)) - nll[:, None])
    torch.nn.init.normal_(clf.class_embed)
    logits = clf(b)
    for c in (0, 1):  # eq. (1): log prior + the LM's log-likelihood of the read given class c
        alone = -clf.read_nll(b, torch.full((3,), c))
        torch.testing.assert_close(logits[:, c], alone + math.log((0.25, 0.75)[c]))
    assert (logits[:, 0] - logits[:, 1] - math.log(1 / 3)).abs().max() > 1e-3  # the class vector matters
    loss = clf.training_step(b)
    own = torch.stack([clf.read_nll(b, torch.full((3,), c)) for c in (0, 1)], -1)[torch.arange(3), b["label"]]
    torch.testing.assert_close(loss, own.sum() / b["bases"].sum())
    loss.backward()
    assert clf.class_embed.grad is not None and clf.class_embed.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="needs a causal LM"):
        finetune_classifier(_tiny(BidirMLM, finetune={"head": "likelihood_ratio"}))
