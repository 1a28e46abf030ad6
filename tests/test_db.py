"""Migrations build the whole schema on SQLite and PostgreSQL, and it round-trips a ticket with its transcript."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from intake.db import make_engine, normalise_url, ping, run_db
from intake.migrate import current, downgrade, head, upgrade
from intake.retention import purge
from routing.models import (
    Assignment,
    Channel,
    Conversation,
    Direction,
    Escalation,
    MeetingKind,
    Message,
    Note,
    Outbox,
    Resident,
    Sender,
    Ticket,
    TicketEvent,
    TicketStatus,
)


def test_migrations_create_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "resident",
        "conversation",
        "message",
        "ticket",
        "ticket_event",
        "assignment",
        "escalation",
        "note",
        "audit_log",
        "staff_user",
        "staff_window",
        "api_token",
        "outbox",
    } <= tables


def test_downgrade_to_base_and_back(database_url: str) -> None:
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert "ticket" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    assert "ticket" in inspect(engine).get_table_names()
    engine.dispose()


def test_ticket_with_japanese_fields_and_transcript_round_trips(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        resident = Resident(pack="demo", channel=Channel.WEB, subject_hash="h1")
        conv = Conversation(resident=resident, pack="demo")
        s.add(conv)
        s.flush()
        ticket = Ticket(
            number="261122-AB12",
            pack="demo",
            knowledge_version="v1",
            resident_id=resident.id,
            conversation_id=conv.id,
            fields=["介護", "狭間"],
            complex=True,
            window_id="general",
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
                text="母の物忘れがひどくて",
            )
        )
    with sessions() as s:
        got = s.scalars(select(Ticket)).one()
        assert got.fields == ["介護", "狭間"]
        assert got.status is TicketStatus.NEW
        msgs = s.scalars(select(Message).where(Message.ticket_id == got.id)).all()
        assert [m.text for m in msgs] == ["母の物忘れがひどくて"]


INTAKE = str(Path(sys.executable).parent / "intake")


# --- migrations from the command line and from several processes at once -----------------------------------


def test_upgrade_creates_the_sqlite_folder_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'dir' / 'intake.db'}"
    assert current(url) is None
    upgrade(url)
    upgrade(url)
    assert current(url) == head()


def test_concurrent_upgrades_on_postgres_serialise(postgres_url: str) -> None:
    # Several app processes starting at once all run `intake db upgrade`: one migrates, the others wait.
    env = {**os.environ, "DATABASE_URL": postgres_url}
    procs = [
        subprocess.Popen([INTAKE, "db", "upgrade"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outcomes = [(p.wait(120), p.stderr.read() if p.stderr else b"") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert current(postgres_url) == head()


def test_postgres_urls_of_every_spelling_use_psycopg() -> None:
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


async def test_run_db_commits_one_unit_of_work_and_rolls_back_on_error(
    sessions: sessionmaker[Session],
) -> None:
    def add(s: Session) -> int:
        r = Resident(pack="demo", channel=Channel.WEB, subject_hash="ok")
        s.add(r)
        s.flush()
        return r.id

    def add_then_fail(s: Session) -> None:
        s.add(Resident(pack="demo", channel=Channel.WEB, subject_hash="lost"))
        s.flush()
        raise RuntimeError("boom")

    rid = await run_db(sessions, add)
    with pytest.raises(RuntimeError):
        await run_db(sessions, add_then_fail)
    with sessions() as s:
        assert [r.subject_hash for r in s.scalars(select(Resident))] == ["ok"]
        assert s.get(Resident, rid) is not None


def test_ping_is_false_for_a_database_that_is_not_there() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg://intake@127.0.0.1:{port}/none?connect_timeout=2")
    try:
        assert ping(engine) is False
    finally:
        engine.dispose()


# --- retention (相談記録の保存期間) -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _case(
    s: Session,
    tag: str,
    *,
    resident_age: float,
    status: TicketStatus | None,
    closed_days_ago: float | None = None,
    message_days_ago: float | None = None,
) -> Resident:
    """A resident with one conversation (two messages) and, unless ``status`` is None, a ticket on it."""
    resident = Resident(pack="demo", channel=Channel.LINE, subject_hash=tag, created_at=_ago(resident_age))
    conv = Conversation(resident=resident, pack="demo", started_at=_ago(resident_age))
    s.add(conv)
    s.flush()
    ticket = None
    if status is not None:
        ticket = Ticket(
            number=f"T-{tag}",
            pack="demo",
            knowledge_version="v1",
            resident_id=resident.id,
            conversation_id=conv.id,
            fields=["介護", "困窮"],
            complex=True,
            window_id="houkatsu",
            status=status,
            summary=f"{tag}: 母の介護と生活費のこと",
            outcome="包括につないだ",
            contact_phone="090-0000-0000",
            evidence=[{"field": "介護", "surface": "物忘れ"}],
            created_at=_ago(resident_age),
            closed_at=_ago(closed_days_ago) if closed_days_ago is not None else None,
        )
        s.add(ticket)
        s.flush()
        s.add(Note(ticket_id=ticket.id, body="家族構成: 母と二人"))
        s.add(TicketEvent(ticket_id=ticket.id, kind="closed", detail={"reason": "本人と面談済み"}))
        s.add(Assignment(ticket_id=ticket.id, window_id="houkatsu", reason="地区担当"))
        s.add(
            Escalation(
                ticket_id=ticket.id,
                meeting_kind=MeetingKind.WITH_CONSENT,
                meeting_name="重層的支援会議",
                reason="複合",
                created_at=_ago(resident_age),
            )
        )
    when = _ago(message_days_ago if message_days_ago is not None else resident_age)
    for text in ("母の物忘れがひどくて", "お金も足りません"):
        s.add(
            Message(
                conversation_id=conv.id,
                ticket_id=ticket.id if ticket else None,
                direction=Direction.INBOUND,
                sender=Sender.RESIDENT,
                kind="text",
                text=text,
                created_at=when,
            )
        )
    s.flush()
    s.add(
        Outbox(
            resident_id=resident.id,
            ticket_id=ticket.id if ticket else None,
            messages=[{"type": "text", "text": "担当からのご連絡です"}],
            retry_key=str(uuid.uuid4()),
        )
    )
    return resident


def _seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _case(s, "expired", resident_age=2100, status=TicketStatus.CLOSED, closed_days_ago=2000)
        _case(s, "recent", resident_age=2100, status=TicketStatus.CLOSED, closed_days_ago=10)
        _case(s, "open", resident_age=2100, status=TicketStatus.IN_PROGRESS)
        # Re-opened after a close long ago: still in work.
        _case(s, "reopened", resident_age=2100, status=TicketStatus.IN_PROGRESS, closed_days_ago=2000)
        _case(s, "chat_only_old", resident_age=2100, status=None)
        _case(s, "chat_only_active", resident_age=2100, status=None, message_days_ago=1)
        s.add(Resident(pack="demo", channel=Channel.WEB, subject_hash="new_follower", created_at=_ago(1)))
        s.add(Resident(pack="demo", channel=Channel.WEB, subject_hash="old_follower", created_at=_ago(3000)))


def _snapshot(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with sessions() as s:
        return {
            "residents": sorted(r.subject_hash for r in s.scalars(select(Resident))),
            "messages": s.scalar(select(func.count()).select_from(Message)),
            "notes": s.scalar(select(func.count()).select_from(Note)),
            "outbox": s.scalar(select(func.count()).select_from(Outbox)),
            "conversations": s.scalar(select(func.count()).select_from(Conversation)),
            "tickets": sorted(
                (t.number, t.status.value, tuple(t.fields), t.window_id) for t in s.scalars(select(Ticket))
            ),
        }


def test_purge_removes_personal_data_of_expired_closed_consultations(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    before = _snapshot(sessions)
    with sessions.begin() as s:
        report = purge(s, days=1825, now=NOW)
    after = _snapshot(sessions)

    # residents: the expired case, the old ticketless chat and the follower who never wrote
    assert (report.tickets, report.notes, report.residents, report.conversations) == (1, 1, 3, 2)
    assert report.messages == 4  # the expired ticket's transcript and the old ticketless chat
    assert report.outbox == 1
    assert after["residents"] == sorted(["recent", "open", "reopened", "chat_only_active", "new_follower"])
    assert after["messages"] == before["messages"] - 4
    assert after["notes"] == before["notes"] - 1
    # The anonymous tickets stay for the 評価指標: same numbers, statuses, fields and windows.
    assert after["tickets"] == before["tickets"]
    with sessions() as s:
        gone = s.scalars(select(Ticket).where(Ticket.number == "T-expired")).one()
        assert gone.resident_id is None and gone.conversation_id is None
        assert gone.summary is None and gone.outcome is None and gone.contact_phone is None
        assert gone.evidence == []
        assert gone.closed_at is not None and gone.fields == ["介護", "困窮"] and gone.complex is True
        assert s.scalars(select(Message.text).where(Message.ticket_id == gone.id)).all() == []
        assert [e.detail for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == gone.id))] == [
            {}
        ]
        assert s.scalars(select(Escalation.reason).where(Escalation.ticket_id == gone.id)).all() == [None]
        assert s.scalars(select(Escalation.meeting_kind).where(Escalation.ticket_id == gone.id)).all() == [
            MeetingKind.WITH_CONSENT
        ]
        assert s.scalars(select(Assignment.reason).where(Assignment.ticket_id == gone.id)).all() == [None]
        kept = s.scalars(select(Ticket).where(Ticket.number == "T-recent")).one()
        assert kept.resident_id is not None and kept.summary is not None
        assert len(s.scalars(select(Message).where(Message.ticket_id == kept.id)).all()) == 2
        reopened = s.scalars(select(Ticket).where(Ticket.number == "T-reopened")).one()
        assert reopened.summary is not None


def test_purge_dry_run_counts_the_same_and_changes_nothing(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    before = _snapshot(sessions)
    with sessions.begin() as s:
        dry = purge(s, days=1825, now=NOW, dry_run=True)
    assert _snapshot(sessions) == before
    with sessions.begin() as s:
        real = purge(s, days=1825, now=NOW)
    assert dry.dry_run and not real.dry_run
    assert {k: v for k, v in dry.as_dict().items() if k != "dry_run"} == {
        k: v for k, v in real.as_dict().items() if k != "dry_run"
    }


def test_purge_twice_finds_nothing_more(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        purge(s, days=1825, now=NOW)
    with sessions.begin() as s:
        again = purge(s, days=1825, now=NOW)
    assert (again.tickets, again.messages, again.notes, again.conversations, again.residents) == (
        0,
        0,
        0,
        0,
        0,
    )


def test_a_shorter_period_reaches_recent_closures(sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    with sessions.begin() as s:
        report = purge(s, days=5, now=NOW)
    assert report.tickets == 2
    with sessions() as s:
        recent = s.scalars(select(Ticket).where(Ticket.number == "T-recent")).one()
        assert recent.resident_id is None


def test_purge_refuses_a_period_under_one_day(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s, pytest.raises(ValueError):
        purge(s, days=0)


def test_purge_leaves_the_evaluation_metrics_unchanged(sessions: sessionmaker[Session]) -> None:
    from routing.metrics import compute

    _seed(sessions)
    since, until = _ago(10_000), NOW + timedelta(days=1)
    with sessions() as s:
        before = compute(s, since=since, until=until, pack=None).model_dump()
    assert before["total"] == 4 and before["by_status"]["終結"] == 2 and before["escalations"]
    with sessions.begin() as s:
        purge(s, days=5, now=NOW)
    with sessions() as s:
        after = compute(s, since=since, until=until, pack=None).model_dump()
    assert after == before
