"""The ListOps generator: labels are the expressions' values, limits hold, seeds reproduce, files round-trip."""

import random
from collections import Counter

import pytest

from sciformers.attention_suites import listops_data as lo

GEN = dict(min_len=10, max_len=80, max_depth=5, max_args=5, leaf_prob=0.6)


def test_operator_semantics():
    assert lo.apply_op("[MAX", [3, 9, 1]) == 9
    assert lo.apply_op("[MIN", [3, 9, 1]) == 1
    assert lo.apply_op("[MED", [3, 9, 1]) == 3
    assert lo.apply_op("[MED", [1, 2, 8, 9]) == 5  # int((2 + 8) / 2)
    assert lo.apply_op("[MED", [1, 2]) == 1  # int(1.5)
    assert lo.apply_op("[SM", [7, 8, 9]) == 4
    assert lo.evaluate_tokens("[MAX 4 3 [MIN 2 3 ] 1 0 [MED 1 5 8 9 2 ] ]".split()) == 5


def test_labels_equal_an_independent_stack_evaluation():
    for tokens, label in lo.generate(300, seed=1, **GEN):
        assert lo.evaluate_tokens(tokens) == label


def test_lengths_depths_and_arguments_obey_the_limits():
    rng = random.Random(0)
    for _ in range(200):
        tree = lo.random_tree(rng, max_depth=4, max_args=3, leaf_prob=0.5)
        assert 1 <= lo.depth(tree) <= 4
        stack = [tree]
        while stack:
            node = stack.pop()
            if not isinstance(node, int):
                assert 2 <= len(node[1]) <= 3
                stack.extend(node[1])
    for tokens, _ in lo.generate(200, seed=2, **GEN):
        assert GEN["min_len"] <= len(tokens) <= GEN["max_len"]
        assert tokens.count("]") == sum(t in lo.OPERATORS for t in tokens)


def test_seed_reproduces_and_labels_are_not_degenerate():
    a, b = lo.generate(200, seed=3, **GEN), lo.generate(200, seed=3, **GEN)
    assert a == b and a != lo.generate(200, seed=4, **GEN)
    counts = Counter(label for _, label in a)
    assert len(counts) == 10 and max(counts.values()) / 200 < 0.35


def test_unreachable_length_window_is_a_clear_error():
    with pytest.raises(ValueError, match="missed the length window"):
        lo.generate(1, seed=0, min_len=500, max_len=600, max_depth=2, max_args=2, leaf_prob=0.5, max_tries=50)


def test_tsv_round_trip_and_lra_parentheses(tmp_path):
    ex = lo.generate(20, seed=5, **GEN)
    lo.write_tsv(tmp_path / "a.tsv", ex)
    assert lo.read_tsv(tmp_path / "a.tsv") == ex
    (tmp_path / "lra.tsv").write_text("Source\tTarget\n( ( [MAX 2 ) 9 ) ]\t9\n")
    assert lo.read_tsv(tmp_path / "lra.tsv") == [(["[MAX", "2", "9", "]"], 9)]


@pytest.mark.parametrize(
    "content, message",
    [
        ("Src\tTgt\n", r"bad\.tsv:1: expected header"),
        ("Source\tTarget\n[MAX 1 2 ]\n", r"bad\.tsv:2: expected 2 tab-separated fields"),
        ("Source\tTarget\n[MAX 1 X ]\t2\n", r"bad\.tsv:2: unknown tokens \['X'\]"),
        ("Source\tTarget\n[MAX 1 2 ]\tten\n", r"bad\.tsv:2: Target 'ten' is not an integer"),
        ("Source\tTarget\n[MAX 1 2 ]\t12\n", r"bad\.tsv:2: Target 12 outside 0-9"),
    ],
)
def test_malformed_tsv_names_file_and_line(tmp_path, content, message):
    (tmp_path / "bad.tsv").write_text(content)
    with pytest.raises(ValueError, match=message):
        lo.read_tsv(tmp_path / "bad.tsv")


def test_collate_pads_and_masks():
    ds = lo.ListOpsDataset([(["[MAX", "1", "2", "]"], 2), (["3"], 3)])
    batch = lo.collate([ds[0], ds[1]])
    assert batch["tokens"].shape == (2, 4)
    assert batch["mask"].tolist() == [[True] * 4, [True, False, False, False]]
    assert batch["tokens"][1, 1:].tolist() == [lo.TOKEN_ID[lo.PAD]] * 3
    assert batch["label"].tolist() == [2, 3]
