"""The data cache: generated datasets live under ``~/.cache/sciformers`` (or ``$SCIFORMERS_CACHE``).

Nothing in it is committed; every entry can be regenerated from its seed and config.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$SCIFORMERS_CACHE/<parts...>`` (default ``~/.cache/sciformers``), created if missing."""
    root = Path(os.environ.get("SCIFORMERS_CACHE", Path.home() / ".cache" / "sciformers"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
