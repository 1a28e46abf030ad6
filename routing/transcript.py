"""The resident side of the 相談記録: residents, conversations, the transcript, and tickets created by the bot.

Functions take a SQLAlchemy session (one unit of work, committed by ``intake.db.run_db``) and keyword arguments.
LINE user ids are never stored in clear: a keyed hash finds the resident, an encrypted copy lets staff reply.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from intake import crypto
from intake.db import utcnow
from routing.models import (
    Channel,
    ContactMethod,
    Conversation,
    Direction,
    MeetingKind,
    Message,
    Resident,
    Sender,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)

# Crockford-like: no 0/O, 1/I/L, U — easy to read out on the phone.
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def get_or_create_resident(
    session: Session,
    *,
    pack: str,
    channel: str,
    subject: str,
    key: bytes,
    line_user_id: str | None = None,
) -> Resident:
    """The resident for ``subject`` (a LINE user id or a web-chat session id) on ``channel``."""
    subject_hash = crypto.subject_hash(key, channel, subject)
    found = session.scalar(
        select(Resident).where(Resident.channel == Channel(channel), Resident.subject_hash == subject_hash)
    )
    if found is not None:
        if not found.following:
            found.following = True
        return found
    resident = Resident(
        pack=pack,
        channel=Channel(channel),
        subject_hash=subject_hash,
        line_user_id_enc=crypto.encrypt(key, line_user_id) if line_user_id else None,
    )
    # One resident's events are handled under a lock (``lock:user:<hash>``), so no other process creates it now.
    session.add(resident)
    session.flush()
    return resident


def open_conversation(
    session: Session, *, resident: Resident, conversation_id: int | None = None
) -> Conversation:
    """The resident's open conversation (``conversation_id`` when still open, else the newest open one, else new)."""
    if conversation_id is not None:
        conv = session.get(Conversation, conversation_id)
        if conv is not None and conv.resident_id == resident.id and conv.ended_at is None:
            return conv
    conv = session.scalar(
        select(Conversation)
        .where(Conversation.resident_id == resident.id, Conversation.ended_at.is_(None))
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conv is not None:
        return conv
    conv = Conversation(resident_id=resident.id, pack=resident.pack)
    session.add(conv)
    session.flush()
    return conv


def end_conversation(session: Session, *, conversation_id: int, reason: str) -> None:
    """Close a conversation; its messages and tickets stay."""
    conv = session.get(Conversation, conversation_id)
    if conv is not None and conv.ended_at is None:
        conv.ended_at = utcnow()
        conv.end_reason = reason[:64]


def set_following(session: Session, *, resident_id: int, following: bool) -> None:
    session.execute(update(Resident).where(Resident.id == resident_id).values(following=following))


class DuplicateEvent(Exception):
    """This LINE event is already in the transcript (a redelivery that got past the store's dedup)."""


def record_message(
    session: Session,
    *,
    conversation_id: int,
    direction: str,
    sender: str,
    kind: str,
    text: str | None = None,
    payload: dict[str, Any] | None = None,
    line_event_id: str | None = None,
    ticket_id: int | None = None,
    staff_id: int | None = None,
) -> Message:
    """Append one message to the transcript (``staff_id``: the staff member who wrote it). Raises
    :class:`DuplicateEvent` for a LINE event seen before."""
    message = Message(
        conversation_id=conversation_id,
        direction=Direction(direction),
        sender=Sender(sender),
        kind=kind[:32],
        text=text,
        payload=payload,
        line_event_id=line_event_id,
        ticket_id=ticket_id,
        staff_id=staff_id,
    )
    if line_event_id is not None and session.scalar(
        select(Message.id).where(Message.line_event_id == line_event_id)
    ):
        raise DuplicateEvent(line_event_id)
    session.add(message)
    session.flush()
    return message


def conversation_messages(session: Session, *, conversation_id: int, limit: int = 500) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id)
            .limit(limit)
        )
    )


def new_ticket_number(now: datetime | None = None) -> str:
    """``YYMMDD-XXXX``: the day, and four characters that are easy to read out on the phone."""
    day = (now or utcnow()).strftime("%y%m%d")
    return day + "-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(4))


def create_ticket(
    session: Session,
    *,
    pack: str,
    knowledge_version: str,
    resident_id: int | None,
    conversation_id: int | None,
    fields: Sequence[str],
    window_id: str,
    complex: bool = False,
    crisis: bool = False,
    crisis_kinds: Sequence[str] = (),
    urgent: bool = False,
    handoff: bool = False,
    evidence: Sequence[dict[str, Any]] = (),
    routing_reason: Sequence[str] = (),
    summary: str | None = None,
    consent: bool | None = None,
    contact_method: str | None = None,
    contact_phone: str | None = None,
    area: str | None = None,
    related_window_ids: Sequence[str] = (),
    meeting_kind: str | None = None,
) -> Ticket:
    """A new ticket, numbered, with the knowledge version; the conversation's messages are attached to it."""
    values = _ticket_values(
        fields=fields, window_id=window_id, complex=complex, crisis=crisis, crisis_kinds=crisis_kinds,
        urgent=urgent, handoff=handoff, evidence=evidence, routing_reason=routing_reason, summary=summary,
        consent=consent, contact_method=contact_method, contact_phone=contact_phone, area=area,
        related_window_ids=related_window_ids, meeting_kind=meeting_kind,
    )  # fmt: skip
    for _ in range(20):
        number = new_ticket_number()
        if session.scalar(select(Ticket.id).where(Ticket.number == number)) is None:
            break
    else:  # pragma: no cover - 30^4 numbers a day
        raise RuntimeError("no free ticket number")
    ticket = Ticket(
        number=number,
        pack=pack,
        knowledge_version=knowledge_version or "unknown",
        resident_id=resident_id,
        conversation_id=conversation_id,
        status=TicketStatus.NEW,
        **values,
    )
    session.add(ticket)
    session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, kind="created", detail={"by": "bot", "handoff": handoff}))
    if conversation_id is not None:
        attach_conversation(session, conversation_id=conversation_id, ticket_id=ticket.id)
    return ticket


def update_ticket(session: Session, *, ticket_id: int, **changes: Any) -> Ticket:
    """Complete a ticket created earlier in the same intake (a crisis ticket, then the rest of the story)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} not found")
    values = _ticket_values(**changes)
    # Never lower what an earlier step raised: urgency, crisis and hand-off stay.
    values["crisis"] = values["crisis"] or ticket.crisis
    values["handoff"] = values["handoff"] or ticket.handoff
    if ticket.urgency is Urgency.URGENT:
        values["urgency"] = Urgency.URGENT
    for name, value in values.items():
        setattr(ticket, name, value)
    session.add(TicketEvent(ticket_id=ticket.id, kind="updated", detail={"by": "bot"}))
    if ticket.conversation_id is not None:
        attach_conversation(session, conversation_id=ticket.conversation_id, ticket_id=ticket.id)
    return ticket


def attach_conversation(session: Session, *, conversation_id: int, ticket_id: int) -> None:
    session.execute(
        update(Message)
        .where(Message.conversation_id == conversation_id, Message.ticket_id.is_(None))
        .values(ticket_id=ticket_id)
    )


def _ticket_values(
    *,
    fields: Sequence[str],
    window_id: str,
    complex: bool = False,
    crisis: bool = False,
    crisis_kinds: Sequence[str] = (),
    urgent: bool = False,
    handoff: bool = False,
    evidence: Sequence[dict[str, Any]] = (),
    routing_reason: Sequence[str] = (),
    summary: str | None = None,
    consent: bool | None = None,
    contact_method: str | None = None,
    contact_phone: str | None = None,
    area: str | None = None,
    related_window_ids: Sequence[str] = (),
    meeting_kind: str | None = None,
) -> dict[str, Any]:
    return {
        "fields": list(fields),
        "window_id": window_id,
        "complex": complex,
        "crisis": crisis,
        "crisis_kinds": list(crisis_kinds),
        "urgency": Urgency.URGENT if urgent or crisis or handoff else Urgency.NORMAL,
        "handoff": handoff,
        "evidence": list(evidence),
        "routing_reason": list(routing_reason),
        "summary": summary,
        "consent": consent,
        "contact_method": ContactMethod(contact_method) if contact_method else None,
        "contact_phone": contact_phone,
        "area": area,
        "related_window_ids": list(related_window_ids),
        "meeting_kind": MeetingKind(meeting_kind) if meeting_kind else None,
    }
