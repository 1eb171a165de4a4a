"""DNA BPE: lossless round trip, METAGENE-1's special-token layout, save/load, bases per token."""

import random

import pytest

from sciformers.genomics import SPECIAL_TOKENS, DNATokenizer, bits_per_base


@pytest.fixture(scope="module")
def reads():
    rng = random.Random(0)
    motifs = ["ACGTTGCA", "GGGCCCAT", "TTAGGG"]
    return ["".join(rng.choice(motifs) if rng.random() < 0.5 else rng.choice("ACGT") for _ in range(40))
            for _ in range(300)]


@pytest.fixture(scope="module")
def tok(reads):
    return DNATokenizer.train(reads, vocab_size=200)


def test_layout_matches_metagene(tok):
    assert tok.vocab_size == 200
    assert [tok.tokenizer.id_to_token(i) for i in range(6)] == list(SPECIAL_TOKENS)
    assert all(tok.tokenizer.token_to_id(b) is not None for b in "ACGTN")


def test_encode_decode_is_lossless(tok, reads):
    rng = random.Random(1)
    samples = reads[:20] + ["".join(rng.choice("ACGTN") for _ in range(rng.randint(1, 200))) for _ in range(50)]
    for s in samples:
        ids = tok.encode(s)
        assert min(ids) >= len(SPECIAL_TOKENS)
        assert tok.decode(ids) == s
    assert [tok.decode(x) for x in tok.encode_batch(samples)] == samples
    assert tok.decode([3, *tok.encode("ACGT"), 4, 0]) == "ACGT"  # specials dropped


def test_save_load_and_bases_per_token(tok, reads, tmp_path):
    path = tok.save(tmp_path / "tokenizer.json")
    again = DNATokenizer.from_file(path)
    assert again.encode(reads[0]) == tok.encode(reads[0])
    assert DNATokenizer.from_str(tok.to_str()).encode(reads[1]) == tok.encode(reads[1])
    bpt = tok.bp_per_token(reads)
    assert 1.5 < bpt < 40
    assert sum(map(len, reads)) / sum(len(tok.encode(r)) for r in reads) == pytest.approx(bpt)
    # the template adds [BOS] ... [EOS] as METAGENE-1's tokenizer.json does
    assert tok.tokenizer.encode("ACGT").ids[0] == 3 and tok.tokenizer.encode("ACGT").ids[-1] == 4


def test_bad_vocab_and_uniform_bits():
    with pytest.raises(ValueError, match="vocab_size must be at least"):
        DNATokenizer.train(["ACGT"], vocab_size=5)
    import math
    assert bits_per_base(100 * math.log(4), 100) == pytest.approx(2.0)


@pytest.mark.parametrize("spec", ["nucleotide", "kmer1", "kmer3", "kmer6", "bpe", "bpe64"])
def test_every_tokenizer_round_trips_reads_with_ns_and_lower_case(spec, reads, tmp_path):
    from sciformers.genomics.tokenizer import build_tokenizer

    tok = build_tokenizer(spec, reads, vocab_size=120)
    rng = random.Random(2)
    samples = ["acgtNNacgtTTGA", "N", "nnnn", "ACGTACGTACGTA", "ggccAATTnACGTAC"]
    samples += ["".join(rng.choice("ACGTNacgtn") for _ in range(rng.randint(1, 160))) for _ in range(40)]
    for s in samples:
        ids = tok.encode(s)
        assert min(ids) >= len(SPECIAL_TOKENS) and tok.decode(ids) == s.upper()
        assert sum(tok.token_lengths()[i] for i in ids) == len(s)  # bases per token add up (bits/bp)
    again = DNATokenizer.from_str(tok.to_str())  # what a checkpoint stores
    assert [again.encode(s) for s in samples] == tok.encode_batch(samples)
    assert again.save(tmp_path / "t.json").is_file()


def test_kmer_and_nucleotide_layouts():
    from sciformers.genomics.tokenizer import build_tokenizer

    nuc = DNATokenizer.nucleotide()
    assert nuc.vocab_size == 11 and nuc.encode("ACGTN") == [6, 7, 8, 9, 10]
    k6 = build_tokenizer("kmer6", [])
    assert k6.vocab_size == 4 ** 6 + 11  # the Nucleotide Transformer's 6-mer vocabulary
    assert [k6.decode([i]) for i in k6.encode("ACGTACGTNACGTAC" + "A" * 6)] == [
        "ACGTAC", "G", "T", "N", "ACGTAC", "AAAAAA"]
    assert build_tokenizer("bpe40", ["ACGTACGTTT"] * 20).vocab_size <= 40
    with pytest.raises(ValueError, match="expected 'nucleotide', 'kmer<k>'"):
        build_tokenizer("kmer9", [])
