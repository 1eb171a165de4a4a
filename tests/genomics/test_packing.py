"""Packing and single-read samples: a read longer than the window is an error, never cut."""

import pytest
import torch

from sciformers.genomics.packing import PackedReads, SingleReads, read_units

TOKEN_BASES = torch.tensor([0] * 6 + [1] * 10)


def test_reads_longer_than_the_window_are_an_error():
    reads = [[6, 7, 8], list(range(6, 16)) * 2]  # the second read: 20 tokens + [BOS] + [EOS]
    assert read_units(reads, 22)[1][1:-1] == reads[1]
    with pytest.raises(ValueError, match=r"read 1 has 20 tokens"):
        read_units(reads, 21)
    with pytest.raises(ValueError, match=r"read 1 has 20 tokens"):
        PackedReads(reads, 16, TOKEN_BASES)
    with pytest.raises(ValueError, match=r"read 1 has 20 tokens"):
        SingleReads(reads, 16, TOKEN_BASES)
