"""The Trainer learns, validates on a split carved from train, stops early, predicts every sample in order."""

import pytest
import torch
from torch.utils.data import Subset

from models import TinyRegressor, regression_data
from sciformers.core import TrainConfig, Trainer, TrainModule, seed_everything
from sciformers.core.trainer import split_validation


def _cfg(**kw):
    return TrainConfig.parse({"lr": 1e-2, "batch_size": 16, **kw})


def test_learns_a_tiny_regression():
    seed_everything(0)
    model, data = TinyRegressor(dropout=0.0), regression_data(200)
    x, y = data.tensors
    before = torch.mean((model.predict([x, y]) - y) ** 2).item()
    result = Trainer(_cfg(steps=300, val_fraction=0.1, eval_every=50), quiet=True).fit(model, data)
    after = torch.mean((model.predict([x, y]) - y) ** 2).item()
    assert after < 0.05 * before
    assert result.steps == 300 and len(result.history) == 6
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)
    assert result.train_samples_per_s and result.train_samples_per_s > 0


def test_validation_split_is_disjoint_deterministic_and_seeded():
    data = regression_data(50)
    tr, va = split_validation(data, 0.2, seed=3)
    assert isinstance(tr, Subset) and isinstance(va, Subset)
    assert len(va) == 10 and not set(tr.indices) & set(va.indices) and len(tr) + len(va) == 50
    assert split_validation(data, 0.2, seed=3)[1].indices == va.indices
    assert split_validation(data, 0.2, seed=4)[1].indices != va.indices
    with pytest.raises(ValueError, match="leaves no training data"):
        split_validation(regression_data(1), 0.5, seed=0)


def test_early_stopping_restores_the_best_weights():
    seed_everything(0)
    model, data = TinyRegressor(dropout=0.0), regression_data(64)
    seen = []

    class Recorder(Trainer):
        def _validate(self, module, val, collate):
            seen.append({k: v.clone() for k, v in module.state_dict().items()})
            return super()._validate(module, val, collate)

    # lr so high that validation loss gets worse after the first evaluations
    result = Recorder(_cfg(steps=200, lr=3.0, grad_clip=None, eval_every=4, patience=2, schedule="constant",
                           warmup=0), quiet=True).fit(model, data)
    assert result.steps < 200  # stopped early
    best_index = min(range(len(result.history)), key=lambda i: result.history[i]["val_loss"])
    for key, value in model.state_dict().items():
        assert torch.equal(value, seen[best_index][key])


def test_predict_covers_the_whole_dataset_in_order_with_an_uneven_last_batch():
    model, data = TinyRegressor(), regression_data(37)
    pred = Trainer(_cfg(eval_batch_size=8), quiet=True).predict(model, data)
    model.eval()
    assert pred.shape == (37,)
    torch.testing.assert_close(pred, model.predict(list(data.tensors)))


def test_predict_with_a_module_without_parameters():
    class Constant(TrainModule):
        def predict(self, batch):
            return torch.full((len(batch[0]),), 7.0)

    pred = Trainer(_cfg(), quiet=True).predict(Constant(), regression_data(5))
    assert pred.tolist() == [7.0] * 5
    with pytest.raises(ValueError, match="no trainable parameters"):
        Trainer(_cfg(steps=1), quiet=True).fit(Constant(), regression_data(5))


def test_non_finite_loss_is_a_clear_error():
    data = regression_data(16)
    data.tensors[1][3] = float("nan")
    with pytest.raises(FloatingPointError, match="training loss is nan"):
        Trainer(_cfg(steps=2, val_fraction=0.0, batch_size=16), quiet=True).fit(TinyRegressor(), data)


def test_train_config_names_bad_keys():
    from sciformers.core import ConfigError

    with pytest.raises(ConfigError, match=r"train\.stpes: unknown key"):
        TrainConfig.parse({"stpes": 5}, where="train")
    with pytest.raises(ConfigError, match=r"train\.val_fraction"):
        TrainConfig.parse({"val_fraction": 1.5}, where="train")


def test_log_lines_without_a_terminal_and_silence_when_quiet(capsys):
    cfg = _cfg(steps=20, val_fraction=0.0, log_every=5)
    Trainer(cfg).fit(TinyRegressor(), regression_data(40))  # pytest's stderr is not a terminal: no bar
    out = capsys.readouterr()
    assert [line.split("step ")[1].split()[0] for line in out.out.splitlines()] == ["5/20", "10/20", "15/20", "20/20"]
    assert out.out.startswith("  train TinyRegressor: step 5/20  epoch 2/7  loss ")
    assert out.err == ""
    Trainer(cfg, quiet=True).fit(TinyRegressor(), regression_data(40))
    assert capsys.readouterr() == ("", "")


def test_progress_bar_is_silent_when_quiet_or_not_a_terminal():
    from sciformers.core import progress_bar

    for quiet in (True, False):
        with progress_bar(10, "x", quiet=quiet) as bar:
            assert not bar.live  # quiet, or stderr captured by pytest
            bar.update(1, loss=0.5)


def test_a_final_validation_when_the_budget_ends_between_evaluations():
    result = Trainer(_cfg(steps=7, eval_every=5), quiet=True).fit(TinyRegressor(), regression_data(40))
    assert [h["step"] for h in result.history] == [5, 7]


def test_batches_of_nested_structures_reach_the_module():
    class Nested(TinyRegressor):
        def training_step(self, batch):
            assert set(batch) == {"x", "pair"} and isinstance(batch["pair"], tuple)
            return super().training_step([batch["x"], batch["pair"][0]])

    def collate(items):
        x = torch.stack([i[0] for i in items])
        y = torch.stack([i[1] for i in items])
        return {"x": x, "pair": (y, [y])}

    result = Trainer(_cfg(steps=3, val_fraction=0.0), quiet=True).fit(Nested(), regression_data(20), collate_fn=collate)
    assert result.steps == 3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_with_bf16_autocast():
    seen = []

    class Probe(TinyRegressor):
        def training_step(self, batch):
            seen.append((batch[0].device.type, self.net[0](batch[0]).dtype))
            return super().training_step(batch)

    seed_everything(0)
    model = Probe(dropout=0.0)
    result = Trainer(_cfg(steps=30, amp="bf16"), device="cuda", quiet=True).fit(model, regression_data(64))
    assert seen[0] == ("cuda", torch.bfloat16) and result.best_val_loss is not None
    pred = Trainer(_cfg(amp="bf16"), device="cuda", quiet=True).predict(model, regression_data(10))
    assert pred.device.type == "cpu" and pred.dtype == torch.float32 and pred.shape == (10,)
    Trainer(_cfg(steps=2, amp="off"), device="cuda", quiet=True).fit(model, regression_data(64))
    assert seen[-1] == ("cuda", torch.float32)


def test_an_epoch_budget_counts_whole_passes():
    # 40 samples, 10% validation -> 36 training samples -> 3 batches of 16 per epoch
    result = Trainer(_cfg(epochs=2), quiet=True).fit(TinyRegressor(), regression_data(40))
    assert (result.steps, result.epochs) == (6, 2)
    assert [h["step"] for h in result.history] == [3, 6]  # validated once per epoch by default
    result = Trainer(_cfg(), quiet=True).fit(TinyRegressor(), regression_data(40))
    assert (result.steps, result.epochs) == (3, 1)  # neither steps nor epochs: one epoch
