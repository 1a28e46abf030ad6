"""相談記録の保存期間: remove the personal part of consultations closed longer ago than the retention period.

What goes, for a ticket closed (status 終結) more than ``days`` ago:
- its transcript (messages), internal notes and queued pushes;
- the free text staff wrote around it (ticket summary and outcome, event details, reasons of transfers and
  escalations) and the triage evidence (quotes from the resident's words);
- the link to the resident and the conversation; the contact phone.

What stays: the anonymous ticket (number, pack, fields, complex, crisis, urgency, window, meeting kind, status,
created/closed times and the kinds of its events), which the 評価指標 count.

Then conversations that no ticket refers to and that saw nothing since the cut-off go with their messages, and so
do residents left with no ticket and no conversation (created before the cut-off: never someone chatting now).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from intake.db import utcnow
from routing.models import (
    Assignment,
    Conversation,
    Escalation,
    Message,
    Note,
    Outbox,
    Resident,
    Ticket,
    TicketEvent,
    TicketStatus,
)


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    dry_run: bool
    tickets: int = 0
    messages: int = 0
    notes: int = 0
    outbox: int = 0
    conversations: int = 0
    residents: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        return out


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def expired_tickets(cutoff: datetime) -> Select[Any]:
    """Ids of tickets closed before ``cutoff``."""
    return select(Ticket.id).where(
        Ticket.status == TicketStatus.CLOSED,
        Ticket.closed_at.is_not(None),
        Ticket.closed_at < cutoff,
    )


def purge(session: Session, *, days: int, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Apply the retention period in ``session`` (flushed, not committed: the caller's unit of work commits).

    With ``dry_run`` the changes are made inside a savepoint and rolled back, so the counts are exact.
    """
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or utcnow()) - timedelta(days=days)
    if not dry_run:
        return _purge(session, cutoff, dry_run=False)
    savepoint = session.begin_nested()
    try:
        return _purge(session, cutoff, dry_run=True)
    finally:
        savepoint.rollback()


def _purge(session: Session, cutoff: datetime, *, dry_run: bool) -> PurgeReport:
    expired = expired_tickets(cutoff).scalar_subquery()
    opts = {"synchronize_session": False}

    holds_personal_data = or_(
        Ticket.resident_id.is_not(None),
        Ticket.conversation_id.is_not(None),
        Ticket.summary.is_not(None),
        Ticket.outcome.is_not(None),
        Ticket.contact_phone.is_not(None),
    )
    tickets = _count(
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(expired), holds_personal_data)
            .values(
                resident_id=None,
                conversation_id=None,
                summary=None,
                outcome=None,
                contact_phone=None,
                evidence=[],
                updated_at=Ticket.updated_at,
            )
            .execution_options(**opts)
        )
    )
    messages = _count(
        session.execute(delete(Message).where(Message.ticket_id.in_(expired)).execution_options(**opts))
    )
    notes = _count(session.execute(delete(Note).where(Note.ticket_id.in_(expired)).execution_options(**opts)))
    outbox = _count(
        session.execute(delete(Outbox).where(Outbox.ticket_id.in_(expired)).execution_options(**opts))
    )
    session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(expired))
        .values(detail={})
        .execution_options(**opts)
    )
    session.execute(
        update(Escalation)
        .where(Escalation.ticket_id.in_(expired))
        .values(reason=None)
        .execution_options(**opts)
    )
    session.execute(
        update(Assignment)
        .where(Assignment.ticket_id.in_(expired))
        .values(reason=None)
        .execution_options(**opts)
    )

    # Conversations nobody refers to any more and quiet since the cut-off.
    stale = (
        select(Conversation.id)
        .where(
            Conversation.started_at < cutoff,
            ~exists().where(Ticket.conversation_id == Conversation.id),
            ~exists().where(Message.conversation_id == Conversation.id, Message.created_at >= cutoff),
        )
        .scalar_subquery()
    )
    stale_ids = list(session.scalars(select(Conversation.id).where(Conversation.id.in_(stale))))
    if stale_ids:
        messages += _count(
            session.execute(
                delete(Message).where(Message.conversation_id.in_(stale_ids)).execution_options(**opts)
            )
        )
        conversations = _count(
            session.execute(
                delete(Conversation).where(Conversation.id.in_(stale_ids)).execution_options(**opts)
            )
        )
    else:
        conversations = 0

    # Residents with nothing left (their queued pushes go with them: outbox.resident_id cascades).
    residents = _count(
        session.execute(
            delete(Resident)
            .where(
                Resident.created_at < cutoff,
                ~exists().where(Ticket.resident_id == Resident.id),
                ~exists().where(Conversation.resident_id == Resident.id),
            )
            .execution_options(**opts)
        )
    )
    session.flush()
    return PurgeReport(
        cutoff=cutoff,
        dry_run=dry_run,
        tickets=tickets,
        messages=messages,
        notes=notes,
        outbox=outbox,
        conversations=conversations,
        residents=residents,
    )
