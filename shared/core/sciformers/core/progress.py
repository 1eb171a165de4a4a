"""Rich progress bars that stay quiet in scripts, on non-zero ranks, and do not flood CI logs."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Bar(Protocol):
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
    """A progress bar over ``total`` steps; silent when ``quiet`` or when stderr is not a terminal.

    Non-terminal output (CI logs) gets no bar; the Trainer prints its own periodic log lines.
    """
    if quiet or not sys.stderr.isatty():
        yield _Silent()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _RichBar(progress, progress.add_task(description, total=total, status=""))
