"""Progress: one live display per run that the Trainer's bar (model and seed, step count, ETA,
loss, epoch) joins; nothing drawn when quiet or off a terminal, where the Trainer prints log lines."""

from models import TinyRegressor, regression_data
from sciformers.core import TrainConfig, Trainer, progress, seed_everything
from sciformers.core.progress import progress_bar, progress_display


def _on_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "_drawn", lambda quiet: not quiet)


def test_a_bar_opened_inside_the_run_display_joins_it_and_leaves_when_done(monkeypatch):
    _on_a_terminal(monkeypatch)
    with progress_display() as display:
        runs = display.bar(3, "attention/listops: runs", completed=1)
        live = progress._ACTIVE[-1]
        with progress_bar(5, "softmax (seed 0)") as bar:
            bar.update(2, loss=0.5, epoch="1/2")
            assert bar.live
            tasks = {t.description: t for t in live.tasks}
            assert tasks["softmax (seed 0)"].completed == 2
            assert tasks["softmax (seed 0)"].fields["status"] == "loss 0.5  epoch 1/2"
        runs.update(1)
        assert [(t.description, t.completed) for t in live.tasks] == [("attention/listops: runs", 2)]
    assert not progress._ACTIVE


def test_quiet_draws_nothing(monkeypatch):
    _on_a_terminal(monkeypatch)
    with progress_display(quiet=True) as display, progress_bar(3, "x", quiet=True) as bar:
        assert not display.live and not display.bar(3, "runs").live and not bar.live
    assert not progress._ACTIVE


def test_the_trainer_bar_names_the_model_and_seed_and_leaves_a_summary_line(monkeypatch, capsys):
    _on_a_terminal(monkeypatch)
    labels = []

    def spy(total, description, quiet=False):
        labels.append((total, description))
        return progress_bar(total, description, quiet)

    monkeypatch.setattr("sciformers.core.trainer.progress_bar", spy)
    seed_everything(0)
    config = TrainConfig.parse({"steps": 4, "batch_size": 16, "val_fraction": 0.25, "eval_every": 2})
    Trainer(config, label="tiny (seed 3)").fit(TinyRegressor(), regression_data(40))
    assert labels == [(4, "tiny (seed 3)")]
    assert "tiny (seed 3): 4/4 steps, epoch 2/2, best val loss " in capsys.readouterr().out


def test_off_a_terminal_the_trainer_prints_steps_epochs_and_eta(capsys):
    seed_everything(0)
    config = TrainConfig.parse({"steps": 4, "batch_size": 16, "val_fraction": 0, "log_every": 2})
    Trainer(config, label="tiny (seed 3)").fit(TinyRegressor(), regression_data(40))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("  tiny (seed 3): step 2/4  epoch 1/2  loss ")
    assert " eta " in lines[1] and "step 4/4  epoch 2/2" in lines[1]
    assert Trainer(config, quiet=True).fit(TinyRegressor(), regression_data(40)).steps == 4
    assert capsys.readouterr().out == ""
