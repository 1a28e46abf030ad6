"""Helpers of the knowledge tests: where the files are, and small edits the way an admin makes them."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "knowledge"
SEEDS = REPO.parent / "shared" / "seeds"
REAL_PACKS = ("nomi", "chuo", "iizuka", "daisen", "yuzawa")
ALL_PACKS = (*REAL_PACKS, "demo")


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact piece of a file (fails loudly when the piece is not there)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_no(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
