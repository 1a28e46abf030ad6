"""Staff-side services: the inbox, the ticket page and what staff do with a ticket.

Every function takes the acting staff member (:class:`Actor`) and checks :func:`can_view` first. Reads and
changes are audited in the same unit of work (``routing.audit``); refused attempts raise :class:`DeskError`, and
:func:`attempt` records them in a unit of work of their own so that the refusal stays on the record while nothing
else changes. ORM objects stay in here: callers get pydantic views.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, sessionmaker

from intake.db import session_scope, utcnow
from intake.knowledge.schema import Pack
from routing import audit, transcript
from routing.models import (
    Assignment,
    Channel,
    Direction,
    Escalation,
    MeetingKind,
    Message,
    Note,
    Outbox,
    Resident,
    Role,
    Sender,
    StaffUser,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)
from routing.outbox import enqueue_push

T = TypeVar("T")

MAX_REPLY_CHARS = 5000  # LINE's limit for one text message
MAX_NOTE_CHARS = 10000
MAX_REASON_CHARS = 2000
DEFAULT_CONFIDENTIALITY_BASIS = "社会福祉法第106条の6"


# --- who is acting -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The staff member behind a desk session or an API token."""

    staff_id: int
    login: str
    role: Role
    window_ids: frozenset[str]
    display_name: str | None = None

    @classmethod
    def of(cls, staff: StaffUser) -> Actor:
        return cls(
            staff_id=staff.id,
            login=staff.login,
            role=staff.role,
            window_ids=frozenset(staff.window_ids),
            display_name=staff.display_name,
        )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_coordinator(self) -> bool:
        return self.role is Role.COORDINATOR


class Scope(enum.StrEnum):
    WINDOW = "window"  # one window's inbox
    COLLABORATION = "collaboration"  # complex and escalated cases across windows (coordinators)


# --- refusals ------------------------------------------------------------------------------------------------


class DeskError(Exception):
    """An action refused: ``message`` is shown to the staff member (Japanese), ``code`` goes on the record."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, ticket_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ticket_id = ticket_id


class NotFound(DeskError):
    status = 404
    code = "not_found"


class Forbidden(DeskError):
    status = 403
    code = "forbidden"


class Conflict(DeskError):
    """The ticket is not in a state that allows the action (e.g. accepting a closed case)."""

    status = 409
    code = "conflict"


class Invalid(DeskError):
    status = 422
    code = "invalid"


# --- access rules (pure) -------------------------------------------------------------------------------------


def is_collaboration_case(ticket: Ticket) -> bool:
    """A complex case or one taken to 多機関協働."""
    return bool(
        ticket.complex or ticket.meeting_kind is not None or ticket.status is TicketStatus.COLLABORATION
    )


def can_view(actor: Actor, ticket: Ticket) -> bool:
    """Staff (and admins) see their windows' tickets; coordinators also see complex and escalated cases."""
    if ticket.window_id in actor.window_ids:
        return True
    return actor.is_coordinator and is_collaboration_case(ticket)


# --- views handed to the web desk and the API -----------------------------------------------------------------


class TicketSummary(BaseModel):
    number: str
    window_id: str
    window_name: str
    status: TicketStatus
    urgency: Urgency
    fields: list[str]
    complex: bool
    crisis: bool
    crisis_kinds: list[str]
    consent: bool | None
    area: str | None
    area_name: str | None
    assignee: str | None
    meeting_kind: MeetingKind | None
    created_at: datetime
    updated_at: datetime


class TranscriptLine(BaseModel):
    id: int
    direction: str
    sender: str
    kind: str
    text: str | None
    choice: str | None = None  # the button a resident pressed (postback data)
    staff: str | None
    created_at: datetime


class HistoryLine(BaseModel):
    kind: str
    staff: str | None
    detail: dict[str, Any]
    created_at: datetime


class NoteLine(BaseModel):
    id: int
    staff: str | None
    body: str
    created_at: datetime


class EscalationLine(BaseModel):
    meeting_kind: MeetingKind
    meeting_name: str
    confidentiality_note: str | None
    reason: str | None
    staff: str | None
    created_at: datetime


class ReplyStatus(BaseModel):
    message_id: int | None
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class TicketDetail(TicketSummary):
    knowledge_version: str
    evidence: list[dict[str, Any]]
    routing_reason: list[str]
    summary: str | None
    contact_method: str | None
    contact_phone: str | None
    related_window_ids: list[str]
    related_window_names: list[str]
    handoff: bool
    outcome: str | None
    closed_at: datetime | None
    channel: str | None
    can_reply: bool
    transcript: list[TranscriptLine]
    history: list[HistoryLine]
    notes: list[NoteLine]
    escalations: list[EscalationLine]
    replies: list[ReplyStatus]


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def window_name(pack: Pack | None, window_id: str) -> str:
    if pack is not None:
        try:
            return pack.window(window_id).name
        except KeyError:
            pass
    return window_id


def area_name(pack: Pack | None, area_id: str | None) -> str | None:
    if area_id is None or pack is None:
        return area_id
    try:
        return pack.area(area_id).name
    except (KeyError, AttributeError):
        return area_id


def _logins(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.login, StaffUser.display_name).where(StaffUser.id.in_(wanted))
    )
    return {r.id: (r.display_name or r.login) for r in rows}


def _summary(ticket: Ticket, pack: Pack | None, names: dict[int, str]) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "window_id": ticket.window_id,
        "window_name": window_name(pack, ticket.window_id),
        "status": ticket.status,
        "urgency": ticket.urgency,
        "fields": list(ticket.fields or []),
        "complex": ticket.complex,
        "crisis": ticket.crisis,
        "crisis_kinds": list(ticket.crisis_kinds or []),
        "consent": ticket.consent,
        "area": ticket.area,
        "area_name": area_name(pack, ticket.area),
        "assignee": names.get(ticket.assignee_id) if ticket.assignee_id else None,
        "meeting_kind": ticket.meeting_kind,
        "created_at": aware(ticket.created_at),
        "updated_at": aware(ticket.updated_at),
    }


# --- queries -------------------------------------------------------------------------------------------------


def _inbox_order() -> tuple[Any, ...]:
    urgent_first = case((Ticket.urgency == Urgency.URGENT, 0), else_=1)
    return (urgent_first, Ticket.created_at, Ticket.id)


def inbox(
    session: Session,
    actor: Actor,
    *,
    pack: Pack | None,
    scope: Scope = Scope.WINDOW,
    window_id: str | None = None,
    include_closed: bool = False,
    limit: int = 200,
) -> list[TicketSummary]:
    """One window's open tickets (or, for coordinators, the 多機関協働 cases): urgent first, then oldest."""
    query = select(Ticket)
    if scope is Scope.COLLABORATION:
        if not actor.is_coordinator:
            raise Forbidden("多機関協働の一覧は相談支援包括化推進員だけが見られます。")
        query = query.where(
            or_(
                Ticket.complex.is_(True),
                Ticket.meeting_kind.is_not(None),
                Ticket.status == TicketStatus.COLLABORATION,
            )
        )
    else:
        if window_id is None:
            raise Invalid("窓口を選んでください。")
        if window_id not in actor.window_ids:
            raise Forbidden("この窓口の受付一覧を見る権限がありません。")
        query = query.where(Ticket.window_id == window_id)
    if not include_closed:
        query = query.where(Ticket.status != TicketStatus.CLOSED)
    tickets = list(session.scalars(query.order_by(*_inbox_order()).limit(limit)))
    names = _logins(session, {t.assignee_id for t in tickets})
    audit.record(
        session,
        action="inbox",
        staff_id=actor.staff_id,
        login=actor.login,
        detail={"scope": scope.value, "window": window_id, "count": len(tickets)},
    )
    return [TicketSummary(**_summary(t, pack, names)) for t in tickets]


def _load(session: Session, actor: Actor, number: str, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.number == number)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise NotFound("そのご相談は見つかりません。番号を確かめてください。")
    if not can_view(actor, ticket):
        raise Forbidden(
            "このご相談を見る権限がありません。担当窓口の職員だけが見られます。", ticket_id=ticket.id
        )
    return ticket


def _transcript(session: Session, ticket: Ticket) -> list[Message]:
    cond = Message.ticket_id == ticket.id
    if ticket.conversation_id is not None:
        cond = or_(cond, Message.conversation_id == ticket.conversation_id)
    return list(session.scalars(select(Message).where(cond).order_by(Message.created_at, Message.id)))


def _can_reply(ticket: Ticket) -> bool:
    resident = ticket.resident
    return bool(
        resident is not None
        and resident.channel is Channel.LINE
        and resident.line_user_id_enc
        and resident.following
        and ticket.conversation_id is not None
        and ticket.status is not TicketStatus.CLOSED
    )


def _choice(message: Message) -> str | None:
    """The button a resident pressed (LINE postback data), for the transcript."""
    if message.kind != "postback" or not isinstance(message.payload, dict):
        return None
    data = message.payload.get("data")
    return str(data) if data else None


def detail_of(session: Session, ticket: Ticket, pack: Pack | None) -> TicketDetail:
    messages = _transcript(session, ticket)
    events = list(ticket.events)
    notes = list(session.scalars(select(Note).where(Note.ticket_id == ticket.id).order_by(Note.id)))
    escalations = list(
        session.scalars(select(Escalation).where(Escalation.ticket_id == ticket.id).order_by(Escalation.id))
    )
    outbox = list(session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id).order_by(Outbox.id)))
    names = _logins(
        session,
        {ticket.assignee_id}
        | {m.staff_id for m in messages}
        | {e.staff_id for e in events}
        | {n.staff_id for n in notes}
        | {e.staff_id for e in escalations},
    )
    resident: Resident | None = ticket.resident
    return TicketDetail(
        **_summary(ticket, pack, names),
        knowledge_version=ticket.knowledge_version,
        evidence=list(ticket.evidence or []),
        routing_reason=list(ticket.routing_reason or []),
        summary=ticket.summary,
        contact_method=ticket.contact_method.value if ticket.contact_method else None,
        contact_phone=ticket.contact_phone,
        related_window_ids=list(ticket.related_window_ids or []),
        related_window_names=[window_name(pack, w) for w in ticket.related_window_ids or []],
        handoff=ticket.handoff,
        outcome=ticket.outcome,
        closed_at=aware(ticket.closed_at) if ticket.closed_at else None,
        channel=resident.channel.value if resident else None,
        can_reply=_can_reply(ticket),
        transcript=[
            TranscriptLine(
                id=m.id,
                direction=m.direction.value,
                sender=m.sender.value,
                kind=m.kind,
                text=m.text,
                choice=_choice(m),
                staff=names.get(m.staff_id) if m.staff_id else None,
                created_at=aware(m.created_at),
            )
            for m in messages
        ],
        history=[
            HistoryLine(
                kind=e.kind,
                staff=names.get(e.staff_id) if e.staff_id else None,
                detail=dict(e.detail or {}),
                created_at=aware(e.created_at),
            )
            for e in events
        ],
        notes=[
            NoteLine(
                id=n.id,
                staff=names.get(n.staff_id) if n.staff_id else None,
                body=n.body,
                created_at=aware(n.created_at),
            )
            for n in notes
        ],
        escalations=[
            EscalationLine(
                meeting_kind=e.meeting_kind,
                meeting_name=e.meeting_name,
                confidentiality_note=e.confidentiality_note,
                reason=e.reason,
                staff=names.get(e.staff_id) if e.staff_id else None,
                created_at=aware(e.created_at),
            )
            for e in escalations
        ],
        replies=[
            ReplyStatus(
                message_id=o.message_id,
                status=o.status.value,
                attempts=o.attempts,
                last_error=o.last_error,
                sent_at=aware(o.sent_at) if o.sent_at else None,
            )
            for o in outbox
        ],
    )


def open_ticket(session: Session, actor: Actor, number: str, *, pack: Pack | None) -> TicketDetail:
    """The ticket page: transcript, why it was routed, history. The read is audited."""
    ticket = _load(session, actor, number)
    audit.record(session, action="view", staff_id=actor.staff_id, login=actor.login, ticket_id=ticket.id)
    return detail_of(session, ticket, pack)


# --- actions -------------------------------------------------------------------------------------------------


def _event(session: Session, ticket: Ticket, actor: Actor, kind: str, **detail: Any) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, staff_id=actor.staff_id, kind=kind, detail=detail))
    ticket.updated_at = utcnow()
    audit.record(
        session,
        action=kind,
        staff_id=actor.staff_id,
        login=actor.login,
        ticket_id=ticket.id,
        detail={k: v for k, v in detail.items() if k in {"from", "to", "meeting_kind", "status"}},
    )


def _text(value: str | None, *, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"{what}を入力してください。")
    if len(text) > limit:
        raise Invalid(f"{what}は{limit}文字以内にしてください（いま{len(text)}文字）。")
    return text


def _not_closed(ticket: Ticket) -> None:
    if ticket.status is TicketStatus.CLOSED:
        raise Conflict("このご相談は終結しています。", ticket_id=ticket.id)


def _start_assignment(
    session: Session, ticket: Ticket, *, window_id: str, staff_id: int | None, reason: str | None
) -> None:
    now = utcnow()
    for current in session.scalars(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.ended_at.is_(None))
    ):
        current.ended_at = now
    session.add(
        Assignment(ticket_id=ticket.id, window_id=window_id, staff_id=staff_id, reason=reason, started_at=now)
    )


def accept(session: Session, actor: Actor, number: str) -> Ticket:
    """受理: the window takes the case (新規 → 対応中)."""
    ticket = _load(session, actor, number, for_update=True)
    if ticket.status is not TicketStatus.NEW:
        raise Conflict(
            f"受理できるのは「新規」のご相談だけです（いまは「{ticket.status.value}」）。",
            ticket_id=ticket.id,
        )
    ticket.status = TicketStatus.IN_PROGRESS
    _event(session, ticket, actor, "accepted", status=ticket.status.value)
    return ticket


def assign_to_me(session: Session, actor: Actor, number: str) -> Ticket:
    """担当: the acting staff member becomes the assignee (a 新規 case becomes 対応中)."""
    ticket = _load(session, actor, number, for_update=True)
    _not_closed(ticket)
    if ticket.assignee_id == actor.staff_id:
        raise Conflict("すでにあなたが担当しています。", ticket_id=ticket.id)
    ticket.assignee_id = actor.staff_id
    if ticket.status is TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
    _start_assignment(session, ticket, window_id=ticket.window_id, staff_id=actor.staff_id, reason=None)
    _event(session, ticket, actor, "assigned", to=actor.login)
    return ticket


def transfer(
    session: Session, actor: Actor, number: str, *, pack: Pack, to_window: str, reason: str
) -> Ticket:
    """移管: hand the case to another window of the pack, with the reason on the record."""
    ticket = _load(session, actor, number, for_update=True)
    _not_closed(ticket)
    valid = [w.id for w in pack.windows]
    if to_window not in valid:
        raise Invalid("移管先の窓口が見つかりません。一覧から選んでください。", ticket_id=ticket.id)
    if to_window == ticket.window_id:
        raise Invalid("いまと同じ窓口には移管できません。", ticket_id=ticket.id)
    why = _text(reason, what="移管の理由", limit=MAX_REASON_CHARS)
    before = ticket.window_id
    ticket.window_id = to_window
    ticket.assignee_id = None
    if ticket.status is TicketStatus.IN_PROGRESS:
        ticket.status = TicketStatus.NEW  # the receiving window accepts it again
    _start_assignment(session, ticket, window_id=to_window, staff_id=None, reason=why)
    _event(session, ticket, actor, "transferred", **{"from": before, "to": to_window, "reason": why})
    return ticket


def confidentiality_note(meeting_name: str, legal_basis: str) -> str:
    basis = legal_basis.strip() or DEFAULT_CONFIDENTIALITY_BASIS
    return (
        f"本人の同意がないため{meeting_name}で扱います。構成員には守秘義務があります（{basis}）。"
        "会議で知った情報を会議の目的の外で使ったり、漏らしたりしないでください。"
    )


def escalate(session: Session, actor: Actor, number: str, *, pack: Pack, reason: str) -> Escalation:
    """多機関協働へ: with the resident's consent to the consent meeting (重層的支援会議), otherwise to the
    no-consent meeting (支援会議), whose 守秘義務 is written on the record."""
    ticket = _load(session, actor, number, for_update=True)
    _not_closed(ticket)
    if ticket.status is TicketStatus.COLLABORATION:
        raise Conflict("すでに多機関協働で扱っています。", ticket_id=ticket.id)
    why = _text(reason, what="多機関協働にする理由", limit=MAX_REASON_CHARS)
    collab = pack.municipality.collaboration
    if ticket.consent is True:
        kind, meeting, note = MeetingKind.WITH_CONSENT, collab.with_consent, None
    else:
        kind, meeting = MeetingKind.WITHOUT_CONSENT, collab.without_consent
        note = confidentiality_note(meeting.name, meeting.legal_basis)
    escalation = Escalation(
        ticket_id=ticket.id,
        meeting_kind=kind,
        meeting_name=meeting.name,
        confidentiality_note=note,
        reason=why,
        staff_id=actor.staff_id,
    )
    session.add(escalation)
    ticket.status = TicketStatus.COLLABORATION
    ticket.meeting_kind = kind
    related = list(ticket.related_window_ids or [])
    if collab.window_id not in related and collab.window_id != ticket.window_id:
        ticket.related_window_ids = [*related, collab.window_id]
    _event(session, ticket, actor, "escalated", meeting_kind=kind.value, meeting=meeting.name)
    session.flush()
    return escalation


def add_note(session: Session, actor: Actor, number: str, *, body: str) -> Note:
    """内部メモ (never shown to the resident). Allowed on closed cases too (事後の記録)."""
    ticket = _load(session, actor, number, for_update=True)
    text = _text(body, what="メモ", limit=MAX_NOTE_CHARS)
    note = Note(ticket_id=ticket.id, staff_id=actor.staff_id, body=text)
    session.add(note)
    session.flush()
    _event(session, ticket, actor, "noted", note_id=note.id)
    return note


def reply(session: Session, actor: Actor, number: str, *, text: str) -> Message:
    """返信: store the staff message in the transcript and queue a LINE push (the outbox retries it)."""
    ticket = _load(session, actor, number, for_update=True)
    _not_closed(ticket)
    body = _text(text, what="返信", limit=MAX_REPLY_CHARS)
    if not _can_reply(ticket) or ticket.conversation_id is None or ticket.resident_id is None:
        raise Conflict(
            "このご相談にはLINEで返信できません（Webチャットからのご相談か、友だち登録が解除されています）。"
            "電話など、ご本人が選んだ方法で連絡してください。",
            ticket_id=ticket.id,
        )
    message = transcript.record_message(
        session,
        conversation_id=ticket.conversation_id,
        ticket_id=ticket.id,
        direction=Direction.OUTBOUND,
        sender=Sender.STAFF,
        kind="text",
        text=body,
        staff_id=actor.staff_id,
    )
    enqueue_push(
        session,
        resident_id=ticket.resident_id,
        ticket_id=ticket.id,
        messages=[{"type": "text", "text": body}],
        message_id=message.id,
    )
    if ticket.status is TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
    _event(session, ticket, actor, "replied", message_id=message.id)
    return message


def close(session: Session, actor: Actor, number: str, *, outcome: str) -> Ticket:
    """終結: the case ends, with its outcome on the record."""
    ticket = _load(session, actor, number, for_update=True)
    _not_closed(ticket)
    text = _text(outcome, what="終結の結果", limit=MAX_REASON_CHARS)
    ticket.status = TicketStatus.CLOSED
    ticket.outcome = text
    ticket.closed_at = utcnow()
    now = ticket.closed_at
    for current in session.scalars(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.ended_at.is_(None))
    ):
        current.ended_at = now
    _event(session, ticket, actor, "closed", status=ticket.status.value)
    return ticket


# --- one unit of work, refusals on the record ----------------------------------------------------------------


def attempt(
    sessions: sessionmaker[Session],
    actor: Actor | None,
    action: str,
    fn: Callable[[Session], T],
    *,
    number: str | None = None,
) -> T:
    """Run ``fn`` as one unit of work; a refusal rolls it back and is audited on its own (allowed=False)."""
    try:
        with session_scope(sessions) as session:
            return fn(session)
    except DeskError as refused:
        audit.record_refusal(
            sessions,
            action=action,
            staff_id=actor.staff_id if actor else None,
            login=actor.login if actor else None,
            ticket_id=refused.ticket_id,
            detail={"reason": refused.code, **({"number": number} if number else {})},
        )
        raise


def windows_of(pack: Pack | None, ids: Sequence[str]) -> list[tuple[str, str]]:
    """(id, name) pairs for a staff member's windows, in the pack's order."""
    order = {w.id: i for i, w in enumerate(pack.windows)} if pack else {}
    return sorted(((i, window_name(pack, i)) for i in ids), key=lambda p: (order.get(p[0], 10**6), p[0]))
