"""The data cache: generated datasets live under ``~/.cache/sciformers`` (or ``$SCIFORMERS_CACHE``).

Nothing in it is committed; every entry can be regenerated from its seed and config. Entries
are written through :func:`cached_file`, the one writer that is safe when several processes (two
pipelines, or the ranks of one ``torchrun`` job) want the same entry at once: one of them builds
it while the others wait, into a temporary file of its own that is renamed into place.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, the rename stays atomic
    fcntl = None  # type: ignore[assignment]


def cache_dir(*parts: str) -> Path:
    """``$SCIFORMERS_CACHE/<parts...>`` (default ``~/.cache/sciformers``), created if missing."""
    root = Path(os.environ.get("SCIFORMERS_CACHE", Path.home() / ".cache" / "sciformers"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_file(path: Path, build: Callable[[Path], None]) -> Path:
    """``path``, built once by ``build(tmp)`` if it does not exist yet.

    ``build`` writes a temporary file beside ``path`` whose name keeps every suffix of ``path``
    (``.json.gz``, ``.npz``), unique to this process and call; it is renamed onto ``path``
    atomically, so no reader ever sees a partial file. An exclusive lock on ``<path>.lock``
    makes concurrent callers wait for the first one instead of generating the same data again.

    Args:
        path: the cache entry.
        build: writes the entry's content to the path it is given.

    Returns:
        ``path``.
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():  # another process may have built it while this one waited
                tmp = path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")
                try:
                    build(tmp)
                    os.replace(tmp, path)
                finally:
                    if tmp.is_dir():  # an entry may be a folder (zarr)
                        shutil.rmtree(tmp, ignore_errors=True)
                    else:
                        tmp.unlink(missing_ok=True)
        finally:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return path
