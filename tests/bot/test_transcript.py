"""The resident side of the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from intake import crypto
from intake.db import session_scope
from routing import transcript
from routing.models import Message, Ticket, TicketEvent, Urgency

KEY = b"k" * 48
USER = "U" + "a" * 32


def test_resident_is_found_by_keyed_hash_and_the_line_id_is_encrypted(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as s:
        r = transcript.get_or_create_resident(
            s, pack="p", channel="line", subject=USER, key=KEY, line_user_id=USER
        )
        rid, enc, hashed = r.id, r.line_user_id_enc, r.subject_hash
    assert USER not in (enc or "") and USER not in hashed
    assert crypto.decrypt(KEY, enc or "") == USER
    with session_scope(sessions) as s:
        again = transcript.get_or_create_resident(s, pack="p", channel="line", subject=USER, key=KEY)
        assert again.id == rid
        web = transcript.get_or_create_resident(s, pack="p", channel="web", subject=USER, key=KEY)
        assert web.id != rid  # channels never mix


def test_messages_tickets_and_the_transcript(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s:
        r = transcript.get_or_create_resident(s, pack="p", channel="line", subject=USER, key=KEY)
        conv = transcript.open_conversation(s, resident=r)
        transcript.record_message(
            s,
            conversation_id=conv.id,
            direction="in",
            sender="resident",
            kind="text",
            text="相談",
            line_event_id="E1",
        )
        transcript.record_message(
            s, conversation_id=conv.id, direction="out", sender="bot", kind="text", text="はい"
        )
        with pytest.raises(transcript.DuplicateEvent):
            transcript.record_message(
                s, conversation_id=conv.id, direction="in", sender="resident", kind="text", line_event_id="E1"
            )
        ticket = transcript.create_ticket(
            s,
            pack="p",
            knowledge_version="v9",
            resident_id=r.id,
            conversation_id=conv.id,
            fields=["介護", "困窮"],
            window_id="kyodo",
            complex=True,
            consent=False,
            contact_method="phone",
            contact_phone="0761000000",
            meeting_kind="without_consent",
        )
        number, tid, cid = ticket.number, ticket.id, conv.id
    assert re.fullmatch(r"\d{6}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{4}", number)
    with session_scope(sessions) as s:
        t = s.get(Ticket, tid)
        assert t is not None and t.knowledge_version == "v9" and t.urgency == Urgency.NORMAL
        assert t.meeting_kind == "without_consent" and t.consent is False
        assert [m.ticket_id for m in s.scalars(select(Message))] == [tid, tid]
        assert [e.kind for e in s.scalars(select(TicketEvent))] == ["created"]
        # a crisis later in the same intake can only raise the urgency, never lower it
        transcript.update_ticket(s, ticket_id=tid, fields=["介護"], window_id="houkatsu", crisis=True)
    with session_scope(sessions) as s:
        t = s.get(Ticket, tid)
        assert t is not None and t.crisis and t.urgency == Urgency.URGENT
        transcript.update_ticket(s, ticket_id=tid, fields=["介護"], window_id="houkatsu", crisis=False)
    with session_scope(sessions) as s:
        t = s.get(Ticket, tid)
        assert t is not None and t.crisis and t.urgency == Urgency.URGENT
        transcript.end_conversation(s, conversation_id=cid, reason="cancelled")
    with session_scope(sessions) as s:
        r = transcript.get_or_create_resident(s, pack="p", channel="line", subject=USER, key=KEY)
        assert transcript.open_conversation(s, resident=r, conversation_id=cid).id != cid  # ended: a new one
