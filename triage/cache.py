"""Housekeeping of the triage cache folder (compiled user dictionaries, parsed vocabularies, trained models)."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

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


def load_pickled(target: Path, kind: type[T]) -> T | None:
    """The object :func:`store_pickled` wrote at ``target`` (by this same code, in the user's own cache folder),
    or None when it is missing, unreadable or not a ``kind``."""
    # unpickling raises many kinds of errors (ImportError, IndexError, a class refusing its state): each is a miss
    try:
        cached = pickle.loads(target.read_bytes())
    except Exception:
        return None
    return cached if isinstance(cached, kind) else None


def store_pickled(target: Path, value: object) -> None:
    """Write ``value`` atomically (temp file and rename) and prune older entries of the same kind (the name's prefix
    before its first ``-``). A read-only cache is no error: the next start only computes the value again."""
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, target)
    except OSError:
        return
    prune_cache(folder, f"{target.name.split('-', 1)[0]}-*{target.suffix}")
