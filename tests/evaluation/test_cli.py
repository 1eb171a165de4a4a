"""The sciformers CLI: list, run, report, data, predict; bad input exits 2 with a message."""

from pathlib import Path

from sciformers.evaluation import read_records
from sciformers.evaluation.cli import main

FAST = ["--set", "train.steps=2", "--set", "data.n_train=40", "--set", "data.n_test=10", "--set", "train.eval_every=1"]


def test_list_shows_every_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for needle in ("attention/listops", "attention.sequence_classifier", "majority", "attention.throughput",
                   "softmax", "linear", "sinkhorn", "listops"):
        assert needle in out


def test_run_report_predict(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "attention/listops", "--out", str(out), "--quiet", "--seed", "1", "--models", "softmax,linear"]
                + FAST) == 0
    printed = capsys.readouterr().out
    assert {r.model for r in read_records(out / "records.jsonl")} == {"softmax", "linear", "majority"}
    assert f"report:  {out / 'report.md'}" in printed
    assert f"records: {out / 'records.jsonl'}" in printed and (out / "records.jsonl").is_file()
    assert main(["report", str(out), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "report.html").is_file()
    ckpt = out / "checkpoints" / "softmax" / "seed1" / "final"
    assert main(["predict", "attention", "--checkpoint", str(ckpt), "--out", str(tmp_path / "pred"),
                 "[MAX 2 9 [MIN 4 7 ] 0 ]", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-2:]
    assert [line.split("\t")[1] for line in lines] == ["[MAX 2 9 [MIN 4 7 ] 0 ]", "3"]
    assert all(line.split("\t")[0] in "0123456789" for line in lines)
    table = (tmp_path / "pred" / "predictions.csv").read_text().splitlines()
    assert table[0] == "label,expression" and len(table) == 3
    # a bad expression: an error naming it, or skipped with --skip-invalid while the rest is predicted
    assert main(["predict", "attention", "--checkpoint", str(ckpt), "--out", str(tmp_path / "p2"), "[FOO 1 ]"]) == 2
    assert "unknown tokens ['[FOO']" in capsys.readouterr().err
    assert main(["predict", "attention", "--checkpoint", str(ckpt), "--out", str(tmp_path / "p3"), "--skip-invalid",
                 "[FOO 1 ]", "3"]) == 0
    captured = capsys.readouterr()
    assert "skipped [FOO 1 ]" in captured.err and captured.out.strip().endswith("\t3")
    assert main(["predict", "attention", "--checkpoint", str(ckpt), "--out", str(tmp_path / "p4"), "--skip-invalid",
                 "[FOO 1 ]"]) == 1


def test_predict_help_lists_domains_and_a_domains_inputs(capsys):
    assert main(["predict", "--help"]) == 0
    assert "crystals" in capsys.readouterr().out
    assert main(["predict", "attention", "--help"]) == 0
    assert "ListOps expressions" in capsys.readouterr().out


def test_data_builds_into_the_cache(capsys):
    assert main(["data", "attention.listops", "--set", "n_train=20", "--set", "n_test=5"]) == 0
    files = capsys.readouterr().out.split()
    assert [f.rsplit("/", 1)[-1] for f in files] == ["train.tsv", "test.tsv"]


def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys):
    assert main(["run", "attention/listops", "--set", "train.stpes=3", "--out", str(tmp_path / "x")]) == 2
    assert "train.stpes: unknown key" in capsys.readouterr().err
    assert main(["data", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert main(["predict", "attention", "--checkpoint", str(tmp_path), "--out", str(tmp_path / "p"), "[MAX 1 2 ]"]) == 2
    assert main(["report", str(tmp_path / "empty")]) == 2


def test_threads_sets_torch_threads_and_rejects_zero(tmp_path, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["run", "attention/listops", "--threads", "0", "--out", str(tmp_path / "x")]) == 2
        assert "--threads must be at least 1" in capsys.readouterr().err
        assert main(["run", "attention/listops", "--threads", "1", "--quiet", "--out", str(tmp_path / "y")]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_report_of_several_folders_writes_a_new_folder_and_leaves_theirs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, seed in (("a", "0"), ("b", "1")):
        assert main(["run", "attention/listops", "--out", name, "--quiet", "--seed", seed, "--set", "models={}"]
                    + FAST) == 0
    before = (tmp_path / "a" / "report.md").read_text()
    capsys.readouterr()
    assert main(["report", "a", "b"]) == 0
    printed = capsys.readouterr().out
    (folder,) = (tmp_path / "reports").iterdir()
    assert f"report:  {Path('reports') / folder.name / 'report.md'}" in printed
    assert "| majority (baseline) | 2 |" in (folder / "report.md").read_text()  # both folders' seeds
    assert (tmp_path / "a" / "report.md").read_text() == before
    assert main(["report", "a", "b", "--out", "mine"]) == 0 and (tmp_path / "mine" / "report.html").is_file()
    assert main(["report", "a"]) == 0 and "report:  a/report.md" in capsys.readouterr().out  # one folder: in place
