"""The one training loop every domain uses.

AdamW with warm-up + cosine (or one-cycle) schedules, gradient clipping, bf16 autocast on CUDA,
early stopping on a validation split carved from the training data (never the test set),
atomic safetensors checkpoints with exact resume, and DDP under ``torchrun``.

Exact resume: the data order of epoch ``e`` is a permutation drawn from a generator seeded by
``(seed, e)``, and a checkpoint stores the position inside the epoch with the model, optimizer,
scheduler and every RNG state. A run killed mid-epoch and restarted on the same ``run_dir``
therefore ends with the same weights as one that was never interrupted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset, default_collate

from sciformers.core import distributed as dist
from sciformers.core.checkpoint import load_checkpoint, save_checkpoint
from sciformers.core.config import Config
from sciformers.core.device import autocast_context
from sciformers.core.module import TrainModule
from sciformers.core.progress import progress_bar
from sciformers.core.schedule import build_schedule
from sciformers.core.seeding import rng_state, set_rng_state


class TrainConfig(Config):
    """The ``train:`` section of a pipeline.

    Args:
        seeds: training seeds a pipeline repeats over.
        steps: optimizer steps (wins over ``epochs``).
        epochs: passes over the training split (default 1 when neither is set).
        batch_size: global batch size (split across ranks under DDP).
        eval_batch_size: batch size for validation and prediction (default ``batch_size``).
        lr, weight_decay, betas: AdamW; no weight decay on biases and norm weights.
        schedule: ``cosine`` (linear warm-up then cosine), ``onecycle`` or ``constant``.
        warmup: warm-up length, a fraction of the steps if < 1 else a step count.
        grad_clip: max global gradient norm (``None``: no clipping).
        amp: ``auto``/``bf16``: bf16 autocast on CUDA; CPU always runs fp32. ``off``: never.
        val_fraction: fraction of train carved out for validation (0: fixed budget, no early stopping).
        eval_every: steps between validations (default: once per epoch).
        patience: validations without improvement before stopping; best weights are restored.
        checkpoint_every: steps between checkpoints (default: at every validation).
        num_workers: DataLoader workers.
        log_every: steps between log lines when no progress bar is shown.
    """

    seeds: list[int] = Field(default_factory=lambda: [0])
    steps: int | None = Field(default=None, ge=1)
    epochs: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=32, ge=1)
    eval_batch_size: int | None = Field(default=None, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup: float = Field(default=0.05, ge=0)
    grad_clip: float | None = 1.0
    amp: Literal["auto", "bf16", "off"] = "auto"
    val_fraction: float = Field(default=0.1, ge=0, lt=1)
    eval_every: int | None = Field(default=None, ge=1)
    patience: int | None = Field(default=None, ge=1)
    checkpoint_every: int | None = Field(default=None, ge=1)
    num_workers: int = Field(default=0, ge=0)
    log_every: int = Field(default=10, ge=1)


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` did."""

    steps: int
    epochs: int
    best_val_loss: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    fit_s: float = 0.0
    train_samples_per_s: float | None = None


class _Step(nn.Module):
    """Routes ``training_step`` through ``forward`` so DDP synchronises its gradients."""

    def __init__(self, module: TrainModule) -> None:
        super().__init__()
        self.module = module

    def forward(self, batch: Any) -> Tensor:
        return self.module.training_step(batch)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside dicts, lists and tuples to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def split_validation(dataset: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Carve a seeded random ``fraction`` of ``dataset`` out as a validation split."""
    n = len(dataset)  # type: ignore[arg-type]
    n_val = max(1, int(round(fraction * n)))
    if n_val >= n:
        raise ValueError(f"train.val_fraction={fraction} leaves no training data from {n} samples")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, sorted(perm[n_val:])), Subset(dataset, sorted(perm[:n_val]))


def _decay_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    params = [p for p in module.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


class Trainer:
    """Fits a :class:`TrainModule` and predicts with it.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) it joins the process group, wraps the module in DDP,
    splits each global batch of ``train.batch_size`` across ranks and lets only rank 0 draw
    progress and write checkpoints (see :mod:`sciformers.core.distributed`).

    Args:
        config: the ``train:`` section.
        run_dir: where ``checkpoints/last`` lives; ``None`` trains without checkpoints.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: seeds the data order and the validation split.
        quiet: no progress bar or log lines.
        label: the progress bar's text, e.g. the model and seed (default ``train <module class>``).
        on_step_end: called with the step count after every optimizer step (and checkpoint).
    """

    def __init__(
        self, config: TrainConfig, *, run_dir: Path | None = None, device: str = "auto", seed: int = 0,
        quiet: bool = False, on_step_end: Callable[[int], None] | None = None, label: str | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.device = dist.init_distributed(device)
        self.seed = seed
        self.quiet = quiet
        self.on_step_end = on_step_end
        self.label = label

    # -- training ---------------------------------------------------------------------------

    def fit(
        self, module: TrainModule, train: Dataset, val: Dataset | None = None, *,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> FitResult:
        """Train ``module`` on ``train``, validating on ``val`` or on a split carved from train.

        Resumes from ``run_dir/checkpoints/last`` when it exists (a finished run returns at once).
        With validation data the weights of the best validation loss are restored at the end.

        Args:
            module: the model; moved to the trainer's device and trained in place.
            train: a map-style dataset.
            val: validation data; ``None`` carves ``train.val_fraction`` out of ``train``.
            collate_fn: batches a list of samples (default: torch's ``default_collate``).

        Returns:
            :class:`FitResult`; ``epochs`` counts completed passes over ``train``.

        Raises:
            ValueError: for an empty dataset, a module without trainable parameters, or a
                checkpoint in ``run_dir`` written with another config.
        """
        cfg, collate = self.config, collate_fn or default_collate
        if val is None and cfg.val_fraction > 0:
            train, val = split_validation(train, cfg.val_fraction, self.seed)
        n = len(train)  # type: ignore[arg-type]
        if n == 0:
            raise ValueError("training dataset is empty")
        module.to(self.device)
        groups = _decay_groups(module, cfg.weight_decay)
        if not any(g["params"] for g in groups):
            raise ValueError(f"{type(module).__name__} has no trainable parameters")
        per_epoch = math.ceil(n / cfg.batch_size)
        total = cfg.steps or (cfg.epochs or 1) * per_epoch
        warmup = int(cfg.warmup * total) if cfg.warmup < 1 else int(cfg.warmup)
        optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)
        scheduler = build_schedule(optimizer, cfg.schedule, total, warmup)
        step_fn = dist.wrap_ddp(_Step(module), self.device)
        eval_every = cfg.eval_every or per_epoch
        ckpt_every = cfg.checkpoint_every or eval_every
        run_key = _run_key(cfg, self.seed, n, len(val) if val is not None else 0)  # type: ignore[arg-type]
        state: dict[str, Any] = {"step": 0, "epoch": 0, "pos": 0, "best_val": None, "bad_evals": 0,
                                 "history": [], "done": False, "run": run_key}
        best: dict[str, Tensor] = {}
        ckpt_dir = self.run_dir / "checkpoints" / "last" if self.run_dir else None
        if ckpt_dir is not None:
            loaded = load_checkpoint(ckpt_dir, module, optimizer, scheduler)
            if loaded is not None:
                state, extra = loaded
                _check_same_run(ckpt_dir, state.get("run", {}), run_key)
                set_rng_state({k[4:]: v for k, v in extra.items() if k.startswith("rng.")})
                best = {k[5:]: v.to(self.device) for k, v in extra.items() if k.startswith("best.")}

        def checkpoint() -> None:
            if ckpt_dir is not None and dist.is_main():
                extra = {f"rng.{k}": v for k, v in rng_state().items()} | {f"best.{k}": v for k, v in best.items()}
                save_checkpoint(ckpt_dir, module, optimizer, scheduler, state, extra)
            dist.barrier()

        def validate(weighted_loss: float) -> None:
            # the global batch's mean loss: each rank's loss weighted by its share, summed over ranks
            train_loss = float(dist.all_reduce_sums({"l": torch.tensor(weighted_loss, dtype=torch.float64)})["l"])
            train_loss /= dist.world_size()
            val_loss = self._validate(module, val, collate)  # type: ignore[arg-type]
            state["history"].append({"step": state["step"], "epoch": state["epoch"], "train_loss": train_loss,
                                     "val_loss": val_loss, "lr": scheduler.get_last_lr()[0]})
            if state["best_val"] is None or val_loss < state["best_val"]:
                state["best_val"], state["bad_evals"] = val_loss, 0
                best.clear()
                best.update({k: v.detach().clone() for k, v in module.state_dict().items()})
            else:
                state["bad_evals"] += 1
                state["done"] = cfg.patience is not None and state["bad_evals"] >= cfg.patience

        start, seen, first_step = time.perf_counter(), 0, state["step"]
        quiet = self.quiet or not dist.is_main()
        n_epochs = math.ceil(total / per_epoch)
        label = self.label or f"train {type(module).__name__}"
        with progress_bar(total, label, quiet) as bar:
            bar.update(state["step"])
            drawn = bar.live
            while not state["done"] and state["step"] < total:
                batches = dist.train_batches(n, cfg.batch_size, self.seed, state["epoch"])
                # A private generator: creating the loader must not draw from the global RNG,
                # or a resumed run's dropout masks would differ from an uninterrupted run's.
                loader_gen = torch.Generator().manual_seed(self.seed * 1_000_003 + state["epoch"])
                loader = DataLoader(train, batch_sampler=[b for b, _ in batches[state["pos"]:]], collate_fn=collate,
                                    num_workers=cfg.num_workers, generator=loader_gen)
                for batch in loader:
                    weight = batches[state["pos"]][1]
                    loss = self._train_step(step_fn, module, optimizer, scheduler, batch, weight)
                    seen += min(cfg.batch_size, n - state["pos"] * cfg.batch_size)
                    state["step"] += 1
                    state["pos"] += 1
                    if state["pos"] == len(batches):
                        state["epoch"], state["pos"] = state["epoch"] + 1, 0
                    epoch = state["epoch"] + (1 if state["pos"] else 0)
                    bar.update(1, loss=loss, epoch=f"{epoch}/{n_epochs}")
                    if val is not None and (state["step"] % eval_every == 0 or state["step"] == total):
                        validate(loss * weight)
                    if not quiet and not bar.live and state["step"] % cfg.log_every == 0:
                        print(f"  {label}: step {state['step']}/{total}  epoch {epoch}/{n_epochs}  loss {loss:.4f}  "
                              f"lr {scheduler.get_last_lr()[0]:.2e}  eta {_eta(start, state['step'] - first_step, total - state['step'])}",
                              flush=True)
                    if state["step"] % ckpt_every == 0 or state["step"] == total or state["done"]:
                        checkpoint()
                    if self.on_step_end is not None:
                        self.on_step_end(state["step"])
                    if state["step"] >= total or state["done"]:
                        break
        if best:
            module.load_state_dict(best)
        state["done"] = True
        checkpoint()
        fit_s = time.perf_counter() - start
        if not quiet and drawn:  # the bar is gone: one line of what it showed
            val = f", best val loss {state['best_val']:.4g}" if state["best_val"] is not None else ""
            print(f"  {label}: {state['step']}/{total} steps, epoch {state['epoch']}/{n_epochs}{val}, {fit_s:.1f} s",
                  flush=True)
        return FitResult(
            steps=state["step"], epochs=state["epoch"], best_val_loss=state["best_val"], history=state["history"],
            fit_s=fit_s, train_samples_per_s=seen / fit_s if seen else None,
        )

    def _train_step(self, step_fn: nn.Module, module: TrainModule, optimizer: torch.optim.Optimizer,
                    scheduler: Any, batch: Any, weight: float) -> float:
        """One optimizer step; ``weight`` is this rank's share of the global batch (1.0 alone)."""
        module.train()
        with autocast_context(self.device, self.config.amp):
            loss = step_fn(to_device(batch, self.device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss.item()}; lower train.lr or check the data")
        (loss * weight).backward()
        if self.config.grad_clip is not None:
            nn.utils.clip_grad_norm_(module.parameters(), self.config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _validate(self, module: TrainModule, val: Dataset, collate: Callable[[list[Any]], Any]) -> float:
        """Mean validation loss over every sample, reduced over ranks as a sum and a count."""
        module.eval()
        total, count = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
        with torch.no_grad(), autocast_context(self.device, self.config.amp):
            for idx, batch in self._eval_batches(val, collate):
                total += float(module.validation_step(to_device(batch, self.device))) * len(idx)
                count += len(idx)
        sums = dist.all_reduce_sums({"loss": total, "count": count})
        return float(sums["loss"] / sums["count"])

    # -- inference --------------------------------------------------------------------------

    def _eval_batches(self, dataset: Dataset, collate: Callable[[list[Any]], Any], shard_ranks: bool = True):
        n = len(dataset)  # type: ignore[arg-type]
        shard = dist.eval_shard(n) if shard_ranks else torch.arange(n)
        size = self.config.eval_batch_size or self.config.batch_size
        batches = [shard[i:i + size].tolist() for i in range(0, len(shard), size)]
        loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate, num_workers=self.config.num_workers,
                            generator=torch.Generator().manual_seed(self.seed))
        return zip(batches, loader)

    def predict(self, module: TrainModule, dataset: Dataset, *, collate_fn: Callable[[list[Any]], Any] | None = None,
                shard_ranks: bool = True) -> Tensor | dict[str, Tensor]:
        """``module.predict`` over the whole ``dataset`` in order (no sample dropped or repeated).

        Under DDP each rank predicts a disjoint shard and every rank returns the full result;
        ``shard_ranks=False`` predicts everything in this process alone (no collective: a model
        that only rank 0 runs).
        """
        if len(dataset) == 0:  # type: ignore[arg-type]
            raise ValueError("cannot predict on an empty dataset")
        module.to(self.device).eval()
        indices: list[Tensor] = []
        outputs: list[Any] = []
        with torch.no_grad(), autocast_context(self.device, self.config.amp):
            for idx, batch in self._eval_batches(dataset, collate_fn or default_collate, shard_ranks):
                out = module.predict(to_device(batch, self.device))
                outputs.append({k: _to_cpu(v) for k, v in out.items()} if isinstance(out, dict) else _to_cpu(out))
                indices.append(torch.tensor(idx))
        gather = dist.gather_in_order if shard_ranks else (lambda _, out: out)
        if not outputs:
            return gather(torch.zeros(0, dtype=torch.long), None)
        if isinstance(outputs[0], dict):
            local: Any = {k: torch.cat([o[k] for o in outputs]) for k in outputs[0]}
        else:
            local = torch.cat(outputs)
        return gather(torch.cat(indices), local)


def _run_key(cfg: TrainConfig, seed: int, n_train: int, n_val: int) -> dict[str, Any]:
    """Everything that shapes a run's trajectory; a checkpoint resumes only under the same key.

    ``seeds``, ``num_workers`` and ``log_every`` are left out: they do not change the weights.
    """
    config = cfg.model_dump(mode="json", exclude={"seeds", "num_workers", "log_every"})
    return {**{f"train.{k}": v for k, v in config.items()}, "seed": seed, "train_samples": n_train,
            "val_samples": n_val, "world_size": dist.world_size()}


def _check_same_run(ckpt_dir: Path, saved: dict[str, Any], now: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint written by a different run, naming what differs."""
    diff = [f"{k}: checkpoint {saved.get(k)!r}, now {now.get(k)!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
    if diff:
        raise ValueError(f"{ckpt_dir}: cannot resume, the checkpoint was written by another run ("
                         + "; ".join(diff) + "); use a fresh run folder or restore these settings")


def _eta(start: float, steps_done: int, steps_left: int) -> str:
    """``m:ss`` left at this session's pace (``?`` before the first step)."""
    if steps_done <= 0:
        return "?"
    left = int((time.perf_counter() - start) / steps_done * steps_left)
    return f"{left // 60}:{left % 60:02d}"


def _to_cpu(t: Tensor) -> Tensor:
    """Predictions on the CPU, reduced-precision floats widened to fp32."""
    return (t.float() if t.is_floating_point() else t).cpu()
