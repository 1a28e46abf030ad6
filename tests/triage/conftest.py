from __future__ import annotations

from pathlib import Path

import pytest

from triage import Triager

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


@pytest.fixture(scope="session")
def sudachi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh user-dictionary cache: the build must work on a machine that never built it."""
    return tmp_path_factory.mktemp("sudachi-cache")


@pytest.fixture(scope="session")
def triager(sudachi_cache: Path) -> Triager:
    return Triager.load(KNOWLEDGE, "demo", cache_dir=sudachi_cache)
