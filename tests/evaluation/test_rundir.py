"""A run folder's bookkeeping: status.json, taking over a folder whose run failed before training,
the refusal that names the choices, --force, Ctrl-C (one line, exit 130, the command that
resumes), and third-party warnings captured once into run.log."""

import json
import logging
import os
import shlex
import socket
import warnings

import pytest
import yaml

from sciformers.core import ConfigError
from sciformers.evaluation import get_task, read_records, run_pipeline
from sciformers.evaluation.cli import main
from sciformers.evaluation.pipeline import RunInterrupted
from sciformers.evaluation.rundir import prepare_run_dir, read_status

FAST = ["train.steps=2", "train.eval_every=1", "data.n_train=40", "data.n_test=10"]
ONLY_BASELINE = FAST + ["models={}"]
CLI_FAST = [a for item in FAST for a in ("--set", item)]


@pytest.fixture
def listops():
    return get_task("attention.listops")


def test_status_names_the_error_and_a_run_that_failed_before_training_reruns_in_place(tmp_path, listops,
                                                                                       monkeypatch):
    out = tmp_path / "run"

    def bad_data(data):
        raise ValueError("train.tsv line 3: expected 'label<TAB>expression'")

    monkeypatch.setattr(listops, "load", bad_data)
    with pytest.raises(ValueError, match="line 3"):
        run_pipeline("attention/listops", overrides=ONLY_BASELINE, out=out, quiet=True)
    status = read_status(out)
    assert status["status"] == "failed" and status["records"] == 0
    assert status["error"] == "ValueError: train.tsv line 3: expected 'label<TAB>expression'"
    assert "Traceback" in (out / "run.log").read_text()
    monkeypatch.undo()
    # nothing was recorded and no checkpoint written: the folder takes the fixed config
    result = run_pipeline("attention/listops", overrides=ONLY_BASELINE + ["data.max_len=70"], out=out, quiet=True)
    assert [r.model for r in result.records] == ["majority"]
    assert read_status(out)["status"] == "done" and read_status(out)["records"] == 1
    assert yaml.safe_load((out / "config.yaml").read_text())["data"]["max_len"] == 70


def test_a_folder_of_another_config_is_refused_naming_the_choices_and_force_moves_it_aside(tmp_path):
    out = tmp_path / "run"
    run_pipeline("attention/listops", overrides=ONLY_BASELINE, out=out, quiet=True)
    with pytest.raises(ConfigError) as refused:
        run_pipeline("attention/listops", overrides=ONLY_BASELINE + ["train.lr=0.01"], out=out, quiet=True)
    message = str(refused.value)
    assert "holds a run of a different config (status done, 1 records; train.lr: 0.001 there, 0.01 now)" in message
    assert "--out DIR" in message and "--force" in message and "the same config resumes automatically" in message
    result = run_pipeline("attention/listops", overrides=ONLY_BASELINE + ["train.lr=0.01"], out=out, quiet=True,
                          force=True)
    (aside,) = tmp_path.glob("run.replaced-*")
    assert yaml.safe_load((aside / "config.yaml").read_text())["train"]["lr"] == 0.001
    assert len(read_records(aside / "records.jsonl")) == 1  # the previous run is kept, not deleted
    assert result.records[0].config["train"]["lr"] == 0.01
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a sciformers run"):
        run_pipeline("attention/listops", overrides=ONLY_BASELINE, out=mine, quiet=True, force=True)
    assert (mine / "notes.txt").read_text() == "keep me"


def test_a_run_in_progress_is_refused_even_with_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump({"task": "attention.listops", "preset": "smoke"}))
    alive = {"status": "running", "pid": os.getppid(), "host": socket.gethostname()}
    (out / "status.json").write_text(json.dumps(alive))
    with pytest.raises(ConfigError, match="a run is in progress there"):
        prepare_run_dir(out, {"task": "attention.listops", "preset": "bench"}, force=True)
    (out / "status.json").write_text(json.dumps({**alive, "pid": 2**22 + 12345}))  # no such process: a dead run
    assert prepare_run_dir(out, {"task": "attention.listops", "preset": "bench"}).reused


def test_third_party_warnings_go_to_run_log_once_not_the_console(tmp_path, listops, monkeypatch, capsys):
    load = listops.load

    def noisy_load(data):
        for _ in range(3):
            warnings.warn("remember_data will change in 0.40", FutureWarning)
        warnings.warn("padding='same' with an even kernel", UserWarning)
        logging.getLogger("thirdparty").warning("a library log line")
        return load(data)

    monkeypatch.setattr(listops, "load", noisy_load)
    out = tmp_path / "run"
    run_pipeline("attention/listops", overrides=ONLY_BASELINE, out=out)
    captured = capsys.readouterr()
    assert "remember_data" not in captured.out + captured.err and "padding" not in captured.out + captured.err
    assert f"3 library warning(s) written to {out / 'run.log'}" in captured.out
    log = (out / "run.log").read_text()
    assert log.count("FutureWarning: remember_data will change in 0.40") == 1
    assert log.count("UserWarning: padding='same'") == 1 and "WARNING thirdparty: a library log line" in log


def test_ctrl_c_prints_one_line_exits_130_and_the_printed_command_resumes(tmp_path, listops, monkeypatch, capsys):
    out = tmp_path / "run"
    score = listops.score

    def interrupted_at_linear(job, prepared, predictions):
        if job.name == "linear":
            raise KeyboardInterrupt
        return score(job, prepared, predictions)

    monkeypatch.setattr(listops, "score", interrupted_at_linear)
    argv = ["run", "attention/listops", "--models", "softmax,linear", "--force", "--out", str(out), *CLI_FAST]
    assert main(argv) == 130
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"interrupted; 2 of 3 runs saved in {out} (records.jsonl, checkpoints/); resume with: " in lines[0]
    assert read_status(out)["status"] == "interrupted"
    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[0] == "sciformers" and "--force" not in command and command[-2:] == ["--out", str(out)]
    monkeypatch.undo()
    assert main(command[1:]) == 0
    assert "2 of 3 runs done, continuing" in capsys.readouterr().out
    assert sorted(r.model for r in read_records(out / "records.jsonl")) == ["linear", "majority", "softmax"]
    assert read_status(out)["status"] == "done"


def test_the_api_raises_run_interrupted_a_keyboard_interrupt(tmp_path, listops, monkeypatch):
    monkeypatch.setattr(listops, "score", lambda job, prepared, predictions: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(RunInterrupted) as caught:
        run_pipeline("attention/listops", overrides=ONLY_BASELINE, out=tmp_path / "run", quiet=True)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert (caught.value.done, caught.value.total, caught.value.out_dir) == (0, 1, tmp_path / "run")
