"""The cache writer: one build under concurrency, atomic rename, suffixes kept, nothing left behind."""

import multiprocessing as mp
import time
from pathlib import Path

import pytest

from sciformers.core import cached_file


def _slow_build(target: str, log: str) -> None:
    def build(tmp: Path) -> None:
        with open(log, "a") as fh:
            fh.write("built\n")
        time.sleep(0.5)
        tmp.write_text("data")

    assert cached_file(Path(target), build).read_text() == "data"


def test_concurrent_callers_build_once_and_all_read_it(tmp_path):
    target, log = tmp_path / "sub" / "entry.json.gz", tmp_path / "log.txt"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_slow_build, args=(str(target), str(log))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert log.read_text() == "built\n"
    assert sorted(f.name for f in target.parent.iterdir()) == ["entry.json.gz", "entry.json.gz.lock"]


def test_build_sees_a_unique_temp_name_with_the_suffixes(tmp_path):
    seen = []
    cached_file(tmp_path / "a.npz", lambda tmp: (seen.append(tmp.name), tmp.write_bytes(b"x")))
    assert seen[0].endswith("-a.npz") and seen[0].startswith(".tmp-")
    cached_file(tmp_path / "a.npz", lambda tmp: seen.append("again"))
    assert seen == seen[:1]  # an existing entry is not built again


def test_a_failed_build_leaves_no_entry_and_no_temp_file(tmp_path):
    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        cached_file(tmp_path / "b.csv", broken)
    assert [f.name for f in tmp_path.iterdir()] == ["b.csv.lock"]
