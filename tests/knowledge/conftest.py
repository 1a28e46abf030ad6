"""Fixtures of the knowledge tests: a private copy of ``knowledge/`` to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from knowledge_helpers import KNOWLEDGE


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A copy of ``knowledge/`` that a test may edit (the way an admin edits the published files)."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target
