"""Migrations build the whole schema on SQLite and PostgreSQL, and it round-trips a ticket with its transcript."""

from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from intake.db import make_engine
from intake.migrate import downgrade, upgrade
from routing.models import (
    Channel,
    Conversation,
    Direction,
    Message,
    Resident,
    Sender,
    Ticket,
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
