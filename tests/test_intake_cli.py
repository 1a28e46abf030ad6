"""The ``intake`` console script: its groups, migrations on SQLite and PostgreSQL, and the retention purge."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from intake.cli import app
from intake.db import make_engine, make_sessionmaker, utcnow
from intake.migrate import current, head
from intake.settings import get_settings
from routing.models import Channel, Conversation, Direction, Message, Resident, Sender, Ticket, TicketStatus

INTAKE = str(Path(sys.executable).parent / "intake")
GROUPS = ("serve", "triage", "eval", "route", "knowledge", "tickets", "staff", "db")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    """Commands read settings from the environment: start each test from a clean, uncached one."""
    for name in ("DATABASE_URL", "REDIS_URL", "INTAKE_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_console_script_help_lists_every_group() -> None:
    out = subprocess.run([INTAKE, "--help"], capture_output=True, text=True, check=True).stdout
    # Each group starts a line of the command table (framed by rich, or plain).
    missing = [g for g in GROUPS if not re.search(rf"(?m)^[│|\s]*{g}\s", out)]
    assert missing == [], out


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_has_help(group: str, cli_env: CliRunner) -> None:
    result = cli_env.invoke(app, [group, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_db_help_names_its_commands(cli_env: CliRunner) -> None:
    out = cli_env.invoke(app, ["db", "--help"]).output
    for command in ("upgrade", "downgrade", "current", "purge"):
        assert command in out


def test_db_upgrade_on_sqlite_from_the_console_script(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'intake.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([INTAKE, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "database at head" in done.stdout
    assert current(url) == head()
    shown = subprocess.run([INTAKE, "db", "current"], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == head()


@pytest.mark.postgres
def test_db_upgrade_and_downgrade_on_postgres(postgres_url: str, cli_env: CliRunner) -> None:
    # Written as operators do: postgresql:// without the driver name.
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    result = cli_env.invoke(app, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert current(url) == head()
    get_settings.cache_clear()
    result = cli_env.invoke(app, ["db", "downgrade", "base"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert current(url) is None


def _closed_case(url: str, *, days_ago: int) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        resident = Resident(
            pack="demo", channel=Channel.LINE, subject_hash="h", created_at=utcnow() - timedelta(days=3000)
        )
        conv = Conversation(resident=resident, pack="demo", started_at=utcnow() - timedelta(days=3000))
        s.add(conv)
        s.flush()
        ticket = Ticket(
            number="T-1",
            pack="demo",
            knowledge_version="v1",
            resident_id=resident.id,
            conversation_id=conv.id,
            fields=["障害"],
            window_id="shogai",
            status=TicketStatus.CLOSED,
            closed_at=utcnow() - timedelta(days=days_ago),
        )
        s.add(ticket)
        s.flush()
        s.add(
            Message(
                conversation_id=conv.id,
                ticket_id=ticket.id,
                direction=Direction.INBOUND,
                sender=Sender.RESIDENT,
                kind="text",
                text="息子のことで相談したいです",
                created_at=utcnow() - timedelta(days=3000),
            )
        )
    engine.dispose()


def _messages(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        n = len(s.scalars(select(Message)).all())
    engine.dispose()
    return n


def test_db_purge_dry_run_then_for_real(database_url: str, cli_env: CliRunner) -> None:
    _closed_case(database_url, days_ago=400)
    env = {"DATABASE_URL": database_url, "INTAKE_RETENTION_DAYS": "365"}

    dry = cli_env.invoke(app, ["db", "purge", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    counts = json.loads(dry.output.strip().splitlines()[-1])
    assert counts["dry_run"] is True
    assert (counts["tickets"], counts["messages"], counts["residents"]) == (1, 1, 1)
    assert _messages(database_url) == 1

    # A longer period given on the command line wins over the setting: nothing is old enough.
    get_settings.cache_clear()
    longer = cli_env.invoke(app, ["db", "purge", "--days", "500"], env=env)
    assert longer.exit_code == 0, longer.output
    assert "removed: 0 messages" in longer.output
    assert _messages(database_url) == 1

    get_settings.cache_clear()
    real = cli_env.invoke(app, ["db", "purge"], env=env)
    assert real.exit_code == 0, real.output
    assert "removed: 1 messages" in real.output
    assert "息子" not in real.output
    assert _messages(database_url) == 0


def test_db_purge_refuses_zero_days(cli_env: CliRunner, tmp_path: Path) -> None:
    result = cli_env.invoke(
        app, ["db", "purge", "--days", "0"], env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.exit_code == 2


def test_serve_refuses_several_workers_without_redis(cli_env: CliRunner) -> None:
    result = cli_env.invoke(app, ["serve", "--workers", "2", "--no-migrate"])
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output


def test_serve_answers_and_logs_json_lines_without_an_access_log(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'intake.db'}",
        "INTAKE_SECRET_KEY": "serve-test-key-" + "x" * 32,
        "INTAKE_LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [INTAKE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/healthz", proc)
        assert health == (200, {"status": "ok"})
        status, body = _get_when_up(f"http://127.0.0.1:{port}/readyz?user=U{'0' * 32}", proc)
        assert (status, body["store"], body["database"]) == (200, True, True)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert current(env["DATABASE_URL"]) == head()  # serve migrated the database first
    lines = [line for line in err.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert [line for line in lines if not line.startswith("{")] == [], "every log line is JSON"
    events = [e["event"] for e in entries]
    assert "started" in events and "stopped" in events
    assert not any("GET /" in line or "/readyz" in line for line in lines), "no access log"
    assert "U" + "0" * 32 not in err + out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_when_up(url: str, proc: subprocess.Popen[str], limit: float = 60.0) -> tuple[int, Any]:
    deadline = time.monotonic() + limit
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"intake serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
