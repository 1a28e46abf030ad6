"""Housekeeping of the triage cache folder (compiled user dictionaries, parsed vocabularies, trained models)."""

from __future__ import annotations

import contextlib
from pathlib import Path

CACHE_KEEP = 12  # per kind of cache file: enough for every pack and a few recent edits of each


def prune_cache(cache_dir: Path, pattern: str, keep: int = CACHE_KEEP) -> None:
    """Remove all but the ``keep`` most recently written files matching ``pattern``: every edit of the knowledge
    files writes new cache entries, and a long-running deployment must not fill its disk. A file still in use by a
    running process stays readable to it (POSIX unlink)."""
    try:
        found = sorted(cache_dir.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in found[keep:]:
        # removed by another process meanwhile, or read-only: the next write tries again
        with contextlib.suppress(OSError):
            old.unlink()
