"""Rich progress bars that stay quiet in scripts, on non-zero ranks, and do not flood CI logs.

A pipeline run opens one :func:`progress_display` (its "runs k/n" bar); every
:func:`progress_bar` opened inside it (the Trainer's, one per model and seed: step count, ETA,
loss, epoch) joins that display instead of starting a second live display, and is removed when
its fit ends. Lines printed meanwhile appear above the bars.
"""

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
        if fields:
            self._progress.update(self._task, advance=advance, status=status)
        else:
            self._progress.update(self._task, advance=advance)


class Display:
    """The run's live display (:func:`progress_display`); ``bar`` adds a bar to it."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    @property
    def live(self) -> bool:
        return self._progress is not None

    def bar(self, total: int, description: str, completed: int = 0) -> Bar:
        """A bar that stays until the display closes (silent when the display is, or ``total`` is 0)."""
        if self._progress is None or total <= 0:
            return _Silent()
        return _RichBar(self._progress, self._progress.add_task(description, total=total, completed=completed,
                                                                status=""))


_ACTIVE: list[Progress] = []  # the open run display, if any (one at a time: rich allows one live display)


def _drawn(quiet: bool) -> bool:
    """Whether bars are drawn: not quiet, rank 0, and stderr a terminal (CI logs get log lines instead)."""
    return not quiet and is_main() and sys.stderr.isatty()


def _columns() -> tuple:
    return (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))


@contextlib.contextmanager
def progress_display(quiet: bool = False) -> Iterator[Display]:
    """One live display on stderr for a whole run; bars opened inside it join it.

    Silent when ``quiet``, on ranks but 0, when stderr is not a terminal, or inside another display.
    """
    if not _drawn(quiet) or _ACTIVE:
        yield Display(None)
        return
    with Progress(*_columns(), console=Console(stderr=True), transient=True) as progress:
        _ACTIVE.append(progress)
        try:
            yield Display(progress)
        finally:
            _ACTIVE.remove(progress)


@contextlib.contextmanager
def progress_bar(total: int, description: str, quiet: bool = False) -> Iterator[Bar]:
    """A progress bar over ``total`` steps on stderr, removed when done.

    Silent (``bar.live`` is False) when ``quiet``, on every rank but 0, and when stderr is not a
    terminal, so CI logs are not flooded with redraws; callers print their own periodic lines
    there (the Trainer does every ``train.log_every`` steps). Inside a :func:`progress_display`
    the bar is drawn in that display.

    Args:
        total: number of steps.
        description: text left of the bar (the Trainer's: the model and seed).
        quiet: draw nothing.
    """
    if not _drawn(quiet):
        yield _Silent()
        return
    if _ACTIVE:
        progress = _ACTIVE[-1]
        task = progress.add_task(description, total=total, status="")
        try:
            yield _RichBar(progress, task)
        finally:
            progress.remove_task(task)
        return
    with Progress(*_columns(), console=Console(stderr=True), transient=True) as progress:
        yield _RichBar(progress, progress.add_task(description, total=total, status=""))
