"""Fixtures of the routing tests: every pack of the repository, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.knowledge import load_pack
from intake.knowledge.schema import Pack

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "knowledge"
ALL_PACKS = ("nomi", "chuo", "iizuka", "daisen", "yuzawa", "demo")


@pytest.fixture(scope="session")
def packs() -> dict[str, Pack]:
    return {pack_id: load_pack(KNOWLEDGE, pack_id) for pack_id in ALL_PACKS}
