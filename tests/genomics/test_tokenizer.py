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
