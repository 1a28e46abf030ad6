"""``intake tickets list`` and ``intake staff add|token|list`` as an operator runs them (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deskharness import ago, make_ticket
from sqlalchemy import select

from intake.db import make_engine, make_sessionmaker, session_scope
from intake.settings import REPO_ROOT
from routing.models import StaffUser

INTAKE = [sys.executable, "-m", "intake.cli"]


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INTAKE_PACK": "demo",
        "INTAKE_KNOWLEDGE_DIR": str(REPO_ROOT / "knowledge"),
        "INTAKE_SECRET_KEY": "cli-test-secret-" + "y" * 32,
    }
    return subprocess.run(
        [*INTAKE, *args], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120
    )


@pytest.fixture
def demo_window() -> str:
    from intake.knowledge import load_pack

    return load_pack(REPO_ROOT / "knowledge", "demo").windows[0].id


def test_staff_add_with_an_unknown_window_is_refused_listing_valid_ids(
    database_url: str, demo_window: str
) -> None:
    done = _run(
        database_url, "staff", "add", "--login", "a1", "--password", "long enough pw", "--window", "mars"
    )
    assert done.returncode == 2
    assert "unknown window mars" in done.stderr and demo_window in done.stderr
    engine = make_engine(database_url)
    with session_scope(make_sessionmaker(engine)) as s:
        assert s.scalars(select(StaffUser)).all() == []
    engine.dispose()


def test_staff_add_then_token_then_list(database_url: str, demo_window: str) -> None:
    added = _run(
        database_url,
        "staff", "add", "--login", "coord1", "--password", "long enough pw", "--window", demo_window,
        "--role", "coordinator",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "/staff/login" in added.stdout
    again = _run(
        database_url,
        "staff",
        "add",
        "--login",
        "coord1",
        "--password",
        "long enough pw",
        "--window",
        demo_window,
    )
    assert again.returncode == 2 and "すでに使われています" in again.stderr
    token = _run(database_url, "staff", "token", "--login", "coord1")
    assert token.returncode == 0 and token.stdout.strip().startswith("itk_")
    listed = _run(database_url, "staff", "list")
    assert f"coord1\tcoordinator\t{demo_window}" in listed.stdout
    assert _run(database_url, "staff", "token", "--login", "nobody").returncode == 2


def test_tickets_list_json_newest_first(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    old = make_ticket(sessions, window_id="kaigo", created_at=ago(60), fields=["介護"])
    new = make_ticket(
        sessions, window_id="kodomo", created_at=ago(1), fields=["子ども", "困窮"], complex=True
    )
    engine.dispose()
    done = _run(database_url, "tickets", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["number"] for r in rows] == [new, old]
    assert rows[0]["fields"] == ["子ども", "困窮"] and rows[0]["complex"] is True
    assert rows[0]["window"] == "kodomo" and rows[0]["status"] == "新規"
    assert "母の介護" not in done.stdout  # never the consultation's text
    plain = _run(database_url, "tickets", "list")
    assert plain.stdout.splitlines()[0].startswith(new)
