"""``input_files``: what every ``sciformers predict`` reads from its command line."""

import pytest

from sciformers.evaluation.datasets import input_files


def test_files_and_folders_expand_in_order_and_skip_outputs(tmp_path):
    for name in ("b.ts", "a.ts", "a.predictions.ts", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "other").mkdir()
    named = tmp_path / "other" / "named.TS"
    named.write_text("x")
    got = input_files([str(named), str(tmp_path)], (".ts",), ".ts file", skip=lambda p: ".predictions" in p.name)
    assert [p.name for p in got] == ["named.TS", "a.ts", "b.ts"]


def test_bad_inputs_are_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="absent.ts: no such file or folder"):
        input_files([str(tmp_path / "absent.ts")], (".ts",), ".ts file")
    with pytest.raises(ValueError, match="notes.txt: not a .ts file; expected .ts"):
        input_files([str(tmp_path / "notes.txt")], (".ts",), ".ts file")
    with pytest.raises(ValueError, match="no .ts file found"):
        input_files([str(tmp_path)], (".ts",), ".ts file")
