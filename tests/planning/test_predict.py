"""``sciformers predict planning``: one line per task, a CSV under --out only, bad files and tasks skipped or fatal."""

import csv

import pytest
import torch

from sciformers.core import create_model, save_model
from sciformers.evaluation.cli import main
from sciformers.evaluation.datasets import PredictRequest
from sciformers.planning.predict import HEADER, predict_planning
from sciformers.planning.tokenizer import Tokenizer

MAZES = "S#..G\n.#.#.\n.....\n#....\n.....\n\n; a comment\nS....\n.###.\n...#G\n.....\n.....\n"
LEVEL = "; 0\n######\n#    #\n# $. #\n#  @ #\n# #  #\n######\n"
NO_WORKER = "; 1\n######\n#    #\n# $. #\n#    #\n# #  #\n######\n"


def _checkpoint(folder, kind, size, n_boxes=1):
    torch.manual_seed(0)
    max_cost = size**2 if kind == "maze" else 2 * size**2
    kwargs = {"vocab_size": len(Tokenizer(size, max_cost)), "dim": 16, "heads": 2, "encoder_depth": 1,
              "decoder_depth": 1, "mlp_ratio": 2, "max_new_tokens": 6}
    model = create_model("planning.searchformer_trace", **kwargs)
    save_model(folder, model, {"model": "planning.searchformer_trace", "kwargs": kwargs, "kind": kind, "size": size,
                               "max_cost": max_cost, "n_boxes": n_boxes})
    return folder


def _listing(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


def test_mazes_predicted_into_a_csv_under_out(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "maze_ckpt", "maze", 5)
    data = tmp_path / "tasks"
    data.mkdir()
    (data / "mazes.txt").write_text(MAZES)
    (data / "notes.md").write_text("not a task file")  # a folder's *.txt only
    before = _listing(data)
    out = tmp_path / "out"
    assert main(["predict", "planning", "--checkpoint", str(ckpt), "--out", str(out), "--option", "max_new_tokens=4",
                 str(data)]) == 0
    assert _listing(data) == before
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [f"{data / 'mazes.txt'}:1", f"{data / 'mazes.txt'}:2"]
    assert all("correct=" in ln and "astar_len=" in ln for ln in lines)
    with (out / "predictions.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == HEADER and "plan_len_cells" in rows[0]
    assert [r[:2] for r in rows[1:]] == [[str(data / "mazes.txt"), "1"], [str(data / "mazes.txt"), "2"]]
    assert rows[1][5] == "9"  # A*'s plan from S to G, in cells, start and goal included


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "maze_ckpt", "maze", 5)
    (tmp_path / "big.txt").write_text("S.....\n......\n......\n......\n......\n.....G\n")
    (tmp_path / "empty.txt").write_text("; only a comment\n\n")
    (tmp_path / "bad.txt").write_text(MAZES + "\nS#..X\n.....\n")
    base = ["predict", "planning", "--checkpoint", str(ckpt), "--out", str(tmp_path / "out")]
    for args, message in (([str(tmp_path / "big.txt")], "big.txt, task 1: 6x6 exceeds the checkpoint's size 5"),
                          ([str(tmp_path / "empty.txt")], "empty.txt: no tasks"),
                          ([str(tmp_path / "bad.txt")], "bad.txt, task 3: line 1, column 5: unknown character 'X'"),
                          ([str(tmp_path / "missing.txt")], "missing.txt: no such file or folder"),
                          (["--option", "max_new_tokens=-1", str(tmp_path / "big.txt")],
                           "--option max_new_tokens=-1: max_new_tokens must be a positive integer")):
        assert main(base + args) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "predictions.csv").exists()
    with pytest.raises(ValueError, match="not a planning checkpoint"):
        other = tmp_path / "other"
        save_model(other, torch.nn.Linear(1, 1), {"model": "x", "kwargs": {}})
        predict_planning(PredictRequest(other, [str(tmp_path / "big.txt")], tmp_path / "out"))


def test_boxoban_files_skip_invalid_goes_on_and_all_bad_exits_1(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "sokoban_ckpt", "sokoban", 6, n_boxes=1)
    levels = tmp_path / "boxoban"
    levels.mkdir()
    (levels / "000.txt").write_text(LEVEL + "\n" + LEVEL)
    (levels / "001.txt").write_text(NO_WORKER + "\n" + NO_WORKER)  # every level bad: reported once
    (levels / "002.txt").write_text(LEVEL + "\n" + NO_WORKER)  # one bad level among good ones
    before = _listing(levels)
    base = ["predict", "planning", "--checkpoint", str(ckpt)]
    assert main(base + ["--out", str(tmp_path / "o1"), str(levels)]) == 2
    assert "001.txt, task 1: expected exactly one worker" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "o2"), "--skip-invalid", str(levels)]) == 0
    captured = capsys.readouterr()
    assert [ln.split("\t")[0] for ln in captured.out.strip().splitlines()] == [
        f"{levels / '000.txt'}:1", f"{levels / '000.txt'}:2", f"{levels / '002.txt'}:1"]
    assert f"skipped {levels / '001.txt'}: all 2 task(s) invalid; task 1: expected exactly one worker" in captured.err
    assert f"skipped {levels / '002.txt'}, task 2: expected exactly one worker" in captured.err
    assert len((tmp_path / "o2" / "predictions.csv").read_text().splitlines()) == 4
    assert main(base + ["--out", str(tmp_path / "o3"), "--skip-invalid", str(levels / "001.txt"),
                        str(tmp_path / "missing.txt")]) == 1
    assert "missing.txt" in capsys.readouterr().err
    assert _listing(levels) == before


def test_predict_help_lists_inputs_and_options(capsys):
    assert main(["predict", "planning", "--help"]) == 0
    out = capsys.readouterr().out
    assert "inputs:" in out and "Boxoban" in out and "max_new_tokens" in out
