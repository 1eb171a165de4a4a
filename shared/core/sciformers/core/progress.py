"""Rich progress bars that stay quiet in scripts, on non-zero ranks, and do not flood CI logs."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sciformers.core.distributed import is_main


class Bar(Protocol):
    """What :func:`progress_bar` yields: ``update(advance, **fields)`` shows fields beside the bar."""

    live: bool  # whether a bar is drawn (else callers print their own log lines)

    def update(self, advance: int = 1, **fields: object) -> None: ...


class _Silent:
    live = False

    def update(self, advance: int = 1, **fields: object) -> None:
        return None


class _RichBar:
    live = True

    def __init__(self, progress: Progress, task: int) -> None:
        self._progress, self._task = progress, task

    def update(self, advance: int = 1, **fields: object) -> None:
        status = "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
        self._progress.update(self._task, advance=advance, status=status)


@contextlib.contextmanager
def progress_bar(total: int, description: str, quiet: bool = False) -> Iterator[Bar]:
    """A progress bar over ``total`` steps on stderr, removed when done.

    Silent (``bar.live`` is False) when ``quiet``, on every rank but 0, and when stderr is not a
    terminal, so CI logs are not flooded with redraws; callers print their own periodic lines
    there (the Trainer does every ``train.log_every`` steps).

    Args:
        total: number of steps.
        description: text left of the bar.
        quiet: draw nothing.
    """
    if quiet or not is_main() or not sys.stderr.isatty():
        yield _Silent()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _RichBar(progress, progress.add_task(description, total=total, status=""))
