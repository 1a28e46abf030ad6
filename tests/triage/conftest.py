from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage import Triager
from triage.model import example_files

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"


@pytest.fixture(scope="session")
def labelled_texts() -> list[str]:
    """Every labelled message we have: the training situations, the blind batches (scored ones are training data in
    examples/blind/, new ones wait in tests/triage/data/) and dev (when present)."""
    files = [
        *example_files([KNOWLEDGE / "_common" / "triage"]),  # the files the model trains on
        *sorted((ROOT / "tests" / "triage" / "data").glob("*.jsonl")),
    ]
    dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if dev.exists():
        files.append(dev)
    return [
        json.loads(line)["text"]
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="session")
def sudachi_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh user-dictionary cache: the build must work on a machine that never built it."""
    return tmp_path_factory.mktemp("sudachi-cache")


@pytest.fixture(scope="session")
def triager(sudachi_cache: Path) -> Triager:
    return Triager.load(KNOWLEDGE, "demo", cache_dir=sudachi_cache)
