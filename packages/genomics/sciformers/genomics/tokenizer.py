"""DNA tokenizers as Hugging Face ``tokenizers`` JSON: METAGENE-1's BPE, k-mers and single nucleotides.

METAGENE-1 trains BPE on sequencing reads (vocabulary 1024: six special tokens, the bases and
the merges) and ships it as a ``tokenizer.json`` with a whitespace pre-tokenizer and the
template ``[BOS] $A [EOS]``. Every tokenizer here has the same layout: specials at ids 0..5
(``[PAD] [UNK] [SEP] [BOS] [EOS] [MASK]``), the ``ACGTN`` alphabet, then

- ``bpe`` / ``bpe<V>``: BPE merges learnt on reads (each read one "word": merges never cross reads);
- ``kmer<k>``: the Nucleotide Transformer's tokenizer (Dalla-Torre et al. 2024): non-overlapping
  ``ACGT`` k-mers from the left, single bases where fewer than ``k`` unambiguous bases are left
  (the read's tail, around an ``N``); vocabulary ``4^k + 11``;
- ``nucleotide``: one token per base (HyenaDNA, HAD), vocabulary 11.

Decoding concatenates token strings, so ``decode(encode(s)) == clean_sequence(s)`` for every
nucleotide string (Ns and lower case included). BPE is neither reverse-complement nor shift
invariant, and token counts differ across tokenizers; compare models in bits per base
(:func:`bits_per_base`), never per token.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Iterable, Sequence

from sciformers.genomics.seqio import ALPHABET, clean_sequence

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[SEP]", "[BOS]", "[EOS]", "[MASK]")
PAD, UNK, SEP, BOS, EOS, MASK = range(len(SPECIAL_TOKENS))


def _tokenizers():
    try:
        import tokenizers
    except ImportError as err:  # pragma: no cover - the extra installs it
        raise ImportError("the DNA tokenizer needs HF tokenizers: pip install 'sciformers[genomics]'") from err
    return tokenizers


class DNATokenizer:
    """A tokenizer over ``ACGTN`` with METAGENE-1's special tokens (BPE, k-mer or single nucleotides).

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` whose ids 0..5 are :data:`SPECIAL_TOKENS`.
        where: where it came from, for error messages.

    Raises:
        ValueError: if the special tokens are not at ids 0..5 or a base is missing.
    """

    def __init__(self, tokenizer, where: str = "tokenizer") -> None:  # noqa: ANN001 - tokenizers.Tokenizer
        for i, tok in enumerate(SPECIAL_TOKENS):
            if tokenizer.token_to_id(tok) != i:
                raise ValueError(f"{where}: special token {tok} must have id {i}, has {tokenizer.token_to_id(tok)}; "
                                 f"expected METAGENE-1's layout {list(SPECIAL_TOKENS)}")
        missing = [b for b in ALPHABET if tokenizer.token_to_id(b) is None]
        if missing:
            raise ValueError(f"{where}: bases {missing} are not in the vocabulary; expected all of {ALPHABET}")
        self.tokenizer = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()
        self._strings = [tokenizer.id_to_token(i) for i in range(self.vocab_size)]

    @classmethod
    def train(cls, reads: Iterable[str], vocab_size: int = 1024) -> "DNATokenizer":
        """Learn BPE merges from ``reads`` until the vocabulary has ``vocab_size`` entries.

        Args:
            reads: ``ACGTN`` strings (one word each).
            vocab_size: total entries, specials and bases included (paper: 1024).
        """
        if vocab_size < len(SPECIAL_TOKENS) + len(ALPHABET):
            raise ValueError(f"vocab_size must be at least {len(SPECIAL_TOKENS) + len(ALPHABET)}, got {vocab_size}")
        tk = _tokenizers()
        tok = tk.Tokenizer(tk.models.BPE(unk_token="[UNK]"))
        tok.pre_tokenizer = tk.pre_tokenizers.Whitespace()
        trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                         initial_alphabet=list(ALPHABET), show_progress=False)
        tok.train_from_iterator(reads, trainer)
        tok.post_processor = _template(tk)
        return cls(tok, where="trained tokenizer")

    @classmethod
    def kmer(cls, k: int) -> "DNATokenizer":
        """Non-overlapping k-mers over ``ACGT``, single bases elsewhere (``k = 1``: one token per base).

        Args:
            k: bases per k-mer token (Nucleotide Transformer: 6).
        """
        if not 1 <= k <= 8:
            raise ValueError(f"k-mer tokenizer: k must be in 1..8 (vocabulary 4^k + 11), got {k}")
        tk = _tokenizers()
        kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)] if k > 1 else []
        vocab = {t: i for i, t in enumerate([*SPECIAL_TOKENS, *ALPHABET, *kmers])}
        tok = tk.Tokenizer(tk.models.WordLevel(vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = tk.pre_tokenizers.Split(tk.Regex(f"[ACGT]{{{k}}}|[ACGTN]"), behavior="isolated")
        tok.post_processor = _template(tk)
        return cls(tok, where=f"{k}-mer tokenizer")

    @classmethod
    def nucleotide(cls) -> "DNATokenizer":
        """One token per base: vocabulary of the six specials and ``ACGTN``."""
        return cls.kmer(1)

    @classmethod
    def from_file(cls, path: str | Path) -> "DNATokenizer":
        """Load a ``tokenizer.json`` (ours or METAGENE-1's ``mgfm-1024``)."""
        return cls(_tokenizers().Tokenizer.from_file(str(path)), where=str(path))

    @classmethod
    def from_str(cls, data: str) -> "DNATokenizer":
        """Load the JSON text of a ``tokenizer.json``."""
        return cls(_tokenizers().Tokenizer.from_str(data), where="tokenizer JSON")

    def save(self, path: str | Path) -> Path:
        """Write ``tokenizer.json`` (loadable by ``tokenizers`` and ``PreTrainedTokenizerFast``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(path))
        return path

    def to_str(self) -> str:
        """The ``tokenizer.json`` content."""
        return self.tokenizer.to_str()

    def encode(self, seq: str) -> list[int]:
        """Token ids of one sequence, without special tokens (the sequence is cleaned to ``ACGTN``)."""
        return self.tokenizer.encode(clean_sequence(seq), add_special_tokens=False).ids

    def encode_batch(self, seqs: Sequence[str]) -> list[list[int]]:
        """Token ids of many sequences (parallel in ``tokenizers``), without special tokens."""
        encs = self.tokenizer.encode_batch([clean_sequence(s) for s in seqs], add_special_tokens=False)
        return [e.ids for e in encs]

    def decode(self, ids: Iterable[int]) -> str:
        """The bases of ``ids``; special tokens are dropped."""
        return "".join(self._strings[i] for i in ids if i >= len(SPECIAL_TOKENS))

    def token_lengths(self) -> list[int]:
        """Bases per vocabulary entry (0 for special tokens)."""
        return [0 if i < len(SPECIAL_TOKENS) else len(s) for i, s in enumerate(self._strings)]

    def bp_per_token(self, seqs: Sequence[str]) -> float:
        """Mean bases per token over ``seqs`` (total bases / total tokens; paper: about 4.6 on reads)."""
        ids = self.encode_batch(seqs)
        tokens = sum(len(x) for x in ids)
        return sum(len(s) for s in seqs) / max(tokens, 1)


def _template(tk):  # noqa: ANN001, ANN202 - the tokenizers module and its processor
    return tk.processors.TemplateProcessing(single="[BOS] $A [EOS]", special_tokens=[("[BOS]", BOS), ("[EOS]", EOS)])


_SPEC = re.compile(r"nucleotide|kmer([1-8])|bpe(\d*)")


def check_tokenizer_spec(spec: str) -> str:
    """``spec`` if it names a tokenizer: ``nucleotide``, ``kmer<k>`` (k = 1..8), ``bpe`` or ``bpe<V>``.

    Raises:
        ValueError: for anything else, listing the forms.
    """
    if not _SPEC.fullmatch(spec):
        raise ValueError(f"tokenizer {spec!r}: expected 'nucleotide', 'kmer<k>' (k = 1..8), 'bpe' "
                         "(data.vocab_size entries) or 'bpe<V>' (V entries, e.g. bpe256)")
    return spec


def build_tokenizer(spec: str, reads: Sequence[str], vocab_size: int = 1024) -> DNATokenizer:
    """The tokenizer ``spec`` names; a BPE is learnt on ``reads``.

    Args:
        spec: see :func:`check_tokenizer_spec`.
        reads: training reads for a BPE (unused otherwise).
        vocab_size: the vocabulary of a plain ``bpe``.
    """
    m = _SPEC.fullmatch(check_tokenizer_spec(spec))
    assert m is not None
    if spec == "nucleotide":
        return DNATokenizer.nucleotide()
    if m.group(1):
        return DNATokenizer.kmer(int(m.group(1)))
    return DNATokenizer.train(reads, int(m.group(2)) if m.group(2) else vocab_size)


def bits_per_base(total_nll_nats: float, total_bases: int) -> float:
    """Cross-entropy in bits per base: ``sum NLL / (ln 2 * bases)``; 2.0 is the uniform model."""
    return total_nll_nats / (math.log(2.0) * max(total_bases, 1))
