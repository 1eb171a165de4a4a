"""A run folder's bookkeeping: its config, its status, its log, and when it may be reused.

- ``config.yaml``: the resolved config (every record's ``config_hash`` is computed from it);
- ``status.json``: ``running``, ``interrupted``, ``failed`` (with the error) or ``done``, with the
  process that wrote it and how many records the folder holds;
- ``run.log``: third-party warnings and log messages of the run, each once, and the traceback
  of a failure, so that the console shows only the run's own progress.

Rerunning into a folder with the same config resumes it. A folder of another config is
refused with the choices spelled out (a new ``--out``, ``--force``, or its own config), unless
its run failed before recording anything (no record, no checkpoint): then it is taken over.
``--force`` moves a previous run aside (never deletes it) after checking it is a sciformers run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import traceback
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import yaml

from sciformers.core import ConfigError
from sciformers.evaluation.records import config_hash, read_records

CONFIG, STATUS, LOG, RECORDS = "config.yaml", "status.json", "run.log", "records.jsonl"
BOOKKEEPING = frozenset({CONFIG, STATUS, LOG})  # files that do not make a folder hold results


@dataclass
class Prepared:
    """What :func:`prepare_run_dir` found.

    Args:
        done: ``(task, model, seed)`` already recorded (a resumed run skips them).
        replaced: where ``force`` moved the previous run (``None``: nothing moved).
        reused: a folder whose run failed before recording anything, taken over by a new config.
    """

    done: set[tuple[str, str, int]]
    replaced: Path | None = None
    reused: bool = False


def read_status(out: Path) -> dict[str, Any] | None:
    """The folder's ``status.json`` (``None`` when absent or unreadable)."""
    try:
        status = json.loads((out / STATUS).read_text())
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def write_status(out: Path, status: str, **fields: Any) -> dict[str, Any]:
    """Write ``status.json`` atomically (temp file + rename): ``status``, this process, the time,
    the number of records, and ``fields`` (``error``, ``replaced`` ...)."""
    records = out / RECORDS
    payload = {"status": status, "updated": datetime.now().isoformat(timespec="seconds"), "pid": os.getpid(),
               "host": socket.gethostname(),
               "records": len(records.read_text().splitlines()) if records.is_file() else 0, **fields}
    tmp = out / f".{STATUS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    tmp.replace(out / STATUS)
    return payload


def holds_results(out: Path) -> bool:
    """Whether anything besides the bookkeeping files was written: a record, a checkpoint, an artifact."""
    return any(p.is_file() and p.relative_to(out).parts[0] not in BOOKKEEPING for p in out.rglob("*"))


def _in_progress(status: dict[str, Any] | None) -> bool:
    """Whether ``status`` says running and its process is alive on this host (not this process)."""
    if not status or status.get("status") != "running" or status.get("host") != socket.gethostname():
        return False
    pid = status.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but is not reaped yet (a killed worker whose parent died first)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS): trust os.kill
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        return {k: v for key, value in config.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: config}


def config_diff(old: dict[str, Any], new: dict[str, Any], limit: int = 4) -> str:
    """``train.lr: 0.001 there, 0.01 now; ...`` for the first ``limit`` keys that differ."""
    a, b = _flatten(old), _flatten(new)
    keys = [k for k in sorted(set(a) | set(b)) if a.get(k, "<unset>") != b.get(k, "<unset>")]
    parts = [f"{k}: {a.get(k, '<unset>')!r} there, {b.get(k, '<unset>')!r} now" for k in keys[:limit]]
    return "; ".join(parts) + (f"; and {len(keys) - limit} more" if len(keys) > limit else "")


def _read_config(out: Path) -> dict[str, Any] | None:
    """The folder's config when it is a sciformers run's (a mapping naming a task), else ``None``."""
    try:
        config = yaml.safe_load((out / CONFIG).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) and "task" in config else None


def move_aside(out: Path) -> Path:
    """Rename ``out`` to ``<out>.replaced-<time>`` beside it (a new name if that exists); the new path."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target, n = out.with_name(f"{out.name}.replaced-{stamp}"), 1
    while target.exists():
        n += 1
        target = out.with_name(f"{out.name}.replaced-{stamp}-{n}")
    out.rename(target)
    return target


def prepare_run_dir(out: Path, resolved: dict[str, Any], force: bool = False) -> Prepared:
    """Create ``out``, resume into it, take it over or replace it; never overwrite another run.

    Args:
        out: the run folder.
        resolved: the resolved config of the run about to start.
        force: replace a previous run of any config (moved aside, not deleted).

    Raises:
        ConfigError: ``out`` is not a sciformers run; a run is in progress there; or it holds
            results of another config and ``force`` is off (the message names the choices).
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder; choose another --out")
    replaced, reused = None, False
    if out.is_dir() and any(out.iterdir()):
        previous = _read_config(out)
        if previous is None:
            raise ConfigError(f"{out}: folder exists and is not a sciformers run (no {CONFIG} naming a task); "
                              "choose another --out" + (" (--force replaces only sciformers runs)" if force else ""))
        status = read_status(out)
        if _in_progress(status):
            raise ConfigError(f"{out}: a run is in progress there (pid {status['pid']}, {STATUS}); wait for it to "
                              "finish or choose another --out")
        same = config_hash(previous) == config_hash(resolved)
        if force:
            replaced = move_aside(out)
        elif not same and holds_results(out):
            state = (status or {}).get("status", "unknown")
            n = len(read_records(out / RECORDS)) if (out / RECORDS).is_file() else 0
            raise ConfigError(
                f"{out}: holds a run of a different config (status {state}, {n} records; "
                f"{config_diff(previous, resolved)}). Choose one:\n"
                "  --out DIR  run into a new folder and keep both\n"
                f"  --force    replace it (the previous run is moved aside to {out.name}.replaced-<time>)\n"
                "  or rerun with the folder's own config: the same config resumes automatically, "
                "skipping the runs already recorded")
        elif not same:  # failed before training: nothing recorded, no checkpoint
            reused = True
            (out / LOG).unlink(missing_ok=True)
        else:
            records = out / RECORDS
            done = {(r.task, r.model, r.seed) for r in read_records(records)} if records.is_file() else set()
            return Prepared(done)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG).write_text(yaml.safe_dump(resolved, sort_keys=False))
    return Prepared(set(), replaced=replaced, reused=reused)


class RunLog:
    """Third-party warnings and log records of a run, each message once, into ``run.log``.

    Messages arriving before the folder exists are kept and written when :meth:`attach` names
    the file (they are dropped if the run never gets a folder: a config error).
    """

    def __init__(self, prefix: str = "") -> None:
        self.path: Path | None = None
        self.count = 0
        self.prefix = prefix
        self._seen: set[tuple[str, str]] = set()
        self._pending: list[str] = []

    def attach(self, path: Path) -> None:
        self.path = path
        pending, self._pending = self._pending, []
        for line in pending:
            self._write(line)

    def _write(self, line: str) -> None:
        if self.path is None:
            self._pending.append(line)
            return
        with self.path.open("a") as f:
            f.write(line if line.endswith("\n") else line + "\n")

    def add(self, kind: str, message: str, where: str = "") -> None:
        """Log ``message`` of ``kind`` (``FutureWarning``, ``WARNING sktime``) unless already logged."""
        if (kind, message) in self._seen:
            return
        self._seen.add((kind, message))
        self.count += 1
        stamp = datetime.now().strftime("%H:%M:%S")
        self._write(f"{stamp} {self.prefix}{kind}: {message}" + (f"  [{where}]" if where else ""))

    def error(self, err: BaseException) -> None:
        """The traceback of the error that ended the run."""
        self._write(f"{datetime.now():%H:%M:%S} {self.prefix}run failed:\n"
                    + "".join(traceback.format_exception(err)))

    @contextlib.contextmanager
    def capture(self) -> Iterator[RunLog]:
        """Route ``warnings`` and root-logger records (WARNING and up) here for the block."""

        def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
                 line: str | None = None) -> None:
            self.add(category.__name__, str(message), f"{filename}:{lineno}")

        handler = _LogHandler(self)
        root = logging.getLogger()
        with warnings.catch_warnings():
            warnings.showwarning = show
            root.addHandler(handler)
            try:
                yield self
            finally:
                root.removeHandler(handler)


class _LogHandler(logging.Handler):
    def __init__(self, log: RunLog) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._log.add(f"{record.levelname} {record.name}", record.getMessage())
        except Exception:  # a log handler must not raise
            self.handleError(record)
