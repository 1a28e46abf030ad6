"""閲覧・変更の記録: every read and change of a ticket, and every refused attempt, as an AuditLog row.

The audit row is written in the caller's unit of work for allowed actions. Refused attempts are written in a
unit of work of their own (:func:`record_refusal`) so that they stay on the record even though the action itself
changed nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from intake.db import session_scope
from routing.models import AuditLog


def record(
    session: Session,
    *,
    action: str,
    staff_id: int | None,
    login: str | None,
    ticket_id: int | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to ``session`` (flushed, committed with the caller's unit of work)."""
    row = AuditLog(
        action=action[:32],
        staff_id=staff_id,
        login=(login or None) and login[:64],
        ticket_id=ticket_id,
        allowed=allowed,
        detail=dict(detail or {}),
    )
    session.add(row)
    session.flush()
    return row


def record_refusal(
    sessions: sessionmaker[Session],
    *,
    action: str,
    staff_id: int | None,
    login: str | None,
    ticket_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a refused attempt in its own transaction: the refusal is kept, nothing else is changed."""
    with session_scope(sessions) as session:
        record(
            session,
            action=action,
            staff_id=staff_id,
            login=login,
            ticket_id=ticket_id,
            allowed=False,
            detail=detail,
        )
