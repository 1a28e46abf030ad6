"""The triage cache folder (user dictionaries, parsed vocabularies, trained models) stays bounded."""

from __future__ import annotations

import os
from pathlib import Path

from triage.cache import load_pickled, prune_cache, store_pickled


def test_only_the_most_recent_entries_of_a_kind_are_kept(tmp_path: Path) -> None:
    for i in range(20):
        path = tmp_path / f"model-{i:02d}.pickle"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    other = tmp_path / "vocab-old.pickle"
    other.write_bytes(b"x")
    os.utime(other, (1, 1))
    prune_cache(tmp_path, "model-*.pickle", keep=5)
    assert sorted(p.name for p in tmp_path.glob("model-*.pickle")) == [
        f"model-{i:02d}.pickle" for i in range(15, 20)
    ]
    assert other.exists()  # another kind of entry is left alone


def test_a_missing_or_unwritable_folder_is_no_error(tmp_path: Path) -> None:
    prune_cache(tmp_path / "absent", "model-*.pickle")


def test_a_cached_value_reads_back_and_a_broken_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "model-abc.pickle"
    store_pickled(target, {"weights": [1.5, -2.0]})
    assert load_pickled(target, dict) == {"weights": [1.5, -2.0]}
    assert load_pickled(target, list) is None  # another kind of object is not taken for this one
    target.write_bytes(b"not a pickle")
    assert load_pickled(target, dict) is None
    assert load_pickled(tmp_path / "absent.pickle", dict) is None
    assert not list((tmp_path / "cache").glob("*.tmp"))  # the atomic write leaves no temp file
