"""評価指標 for admins: how many consultations came, in which fields, to which windows, and what became of them.

Counts are over tickets created in ``[since, until)``; escalations and transfers over those made in the period.
A ticket with several fields counts once in each of them (so the field counts may add up to more than the total).
The aggregation is pure (:func:`summarise`); :func:`compute` only reads the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.knowledge.schema import Pack
from routing.desk import aware, window_name
from routing.models import Escalation, MeetingKind, Ticket, TicketEvent, TicketStatus, Urgency
from triage.types import FIELD_ORDER

FIRST_ACTIONS = ("accepted", "assigned", "replied", "transferred", "escalated", "closed")


@dataclass(frozen=True)
class TicketRow:
    fields: tuple[str, ...]
    window_id: str
    complex: bool
    crisis: bool
    urgent: bool
    status: str
    created_at: datetime
    first_action_at: datetime | None


class WindowCount(BaseModel):
    window_id: str
    window_name: str
    count: int


class MeetingCount(BaseModel):
    meeting_kind: MeetingKind
    meeting_name: str
    count: int


class Metrics(BaseModel):
    since: datetime
    until: datetime
    total: int
    by_field: dict[str, int]
    by_window: list[WindowCount]
    by_status: dict[str, int]
    complex: int
    crisis: int
    urgent: int
    escalations: list[MeetingCount]
    transfers: int
    median_minutes_to_first_action: float | None


def summarise(
    rows: Iterable[TicketRow],
    *,
    since: datetime,
    until: datetime,
    escalations: Iterable[tuple[MeetingKind, str]],
    transfers: int,
    pack: Pack | None,
) -> Metrics:
    tickets = list(rows)
    by_field: Counter[str] = Counter()
    for t in tickets:
        by_field.update(set(t.fields))
    windows = Counter(t.window_id for t in tickets)
    statuses = Counter(t.status for t in tickets)
    meetings = Counter(escalations)
    waits = [
        (aware(t.first_action_at) - aware(t.created_at)).total_seconds() / 60
        for t in tickets
        if t.first_action_at is not None
    ]
    order = {w.id: i for i, w in enumerate(pack.windows)} if pack else {}
    return Metrics(
        since=since,
        until=until,
        total=len(tickets),
        by_field={f.value: by_field.get(f.value, 0) for f in FIELD_ORDER},
        by_window=[
            WindowCount(window_id=w, window_name=window_name(pack, w), count=n)
            for w, n in sorted(windows.items(), key=lambda p: (order.get(p[0], 10**6), p[0]))
        ],
        by_status={s.value: statuses.get(s.value, 0) for s in TicketStatus},
        complex=sum(t.complex for t in tickets),
        crisis=sum(t.crisis for t in tickets),
        urgent=sum(t.urgent for t in tickets),
        escalations=[
            MeetingCount(meeting_kind=kind, meeting_name=name, count=n)
            for (kind, name), n in sorted(meetings.items(), key=lambda p: (p[0][0].value, p[0][1]))
        ],
        transfers=transfers,
        median_minutes_to_first_action=round(median(waits), 1) if waits else None,
    )


def compute(session: Session, *, since: datetime, until: datetime, pack: Pack | None) -> Metrics:
    tickets = session.scalars(
        select(Ticket).where(Ticket.created_at >= since, Ticket.created_at < until).order_by(Ticket.id)
    ).all()
    first: dict[int, datetime] = {}
    if tickets:
        ids = [t.id for t in tickets]
        for ticket_id, at in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.created_at)
            .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind.in_(FIRST_ACTIONS))
            .order_by(TicketEvent.created_at)
        ):
            first.setdefault(ticket_id, at)
    rows = [
        TicketRow(
            fields=tuple(t.fields or ()),
            window_id=t.window_id,
            complex=t.complex,
            crisis=t.crisis,
            urgent=t.urgency is Urgency.URGENT,
            status=t.status.value,
            created_at=t.created_at,
            first_action_at=first.get(t.id),
        )
        for t in tickets
    ]
    escalations = [
        (kind, name)
        for kind, name in session.execute(
            select(Escalation.meeting_kind, Escalation.meeting_name).where(
                Escalation.created_at >= since, Escalation.created_at < until
            )
        )
    ]
    transfers = len(
        session.scalars(
            select(TicketEvent.id).where(
                TicketEvent.kind == "transferred",
                TicketEvent.created_at >= since,
                TicketEvent.created_at < until,
            )
        ).all()
    )
    return summarise(rows, since=since, until=until, escalations=escalations, transfers=transfers, pack=pack)
