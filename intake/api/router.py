"""``/api/v1``: the desk's operations for the windows' own systems, with bearer tokens.

The same services and access rules as the web desk (``routing.desk``): a token acts as the staff member it was
issued to, sees only what they may see, and every read, change and refusal is audited. Errors are JSON
``{"detail": {"code": …, "message": …}}`` with 401 (no or bad token), 403, 404, 409 or 422.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from intake.app import Resources, get_resources
from intake.db import session_scope
from intake.desk import accounts
from intake.knowledge.schema import Pack
from routing import audit, desk, metrics
from routing.desk import Actor, DeskError, Scope, TicketDetail, TicketSummary

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["desk"])
bearer = HTTPBearer(auto_error=False, description="A token from `intake staff token --login L`.")


class ErrorDetail(BaseModel):
    code: str
    message: str


class Me(BaseModel):
    login: str
    role: str
    windows: list[str]


class TransferIn(BaseModel):
    to_window: str = Field(description="The id of the receiving window in the pack.")
    reason: str = Field(min_length=1, max_length=desk.MAX_REASON_CHARS)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=desk.MAX_REASON_CHARS)


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=desk.MAX_NOTE_CHARS)


class ReplyIn(BaseModel):
    text: str = Field(
        min_length=1, max_length=desk.MAX_REPLY_CHARS, description="Sent to the resident on LINE."
    )


class CloseIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=desk.MAX_REASON_CHARS)


class Done(BaseModel):
    number: str
    status: str
    detail: dict[str, Any] = {}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or not a valid one"},
    403: {"description": "The ticket belongs to a window the token's staff member does not serve"},
    404: {"description": "No such ticket"},
    409: {"description": "The ticket's state does not allow it (e.g. closed)"},
    422: {"description": "Bad input"},
}


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"code": "unauthorised", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )


def api_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The staff member behind the bearer token (refused tokens are audited)."""
    res = get_resources(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        audit.record_refusal(
            res.sessions,
            action="api_auth",
            staff_id=None,
            login=None,
            detail={"path": request.url.path, "reason": "missing"},
        )
        raise _unauthorised("Authorization: Bearer <token> が必要です。")
    raw = credentials.credentials

    def find(session: Session) -> Actor | None:
        owner = accounts.staff_for_token(session, raw)
        return Actor.of(owner.staff) if owner else None

    with session_scope(res.sessions) as session:
        actor = find(session)
    if actor is None:
        audit.record_refusal(
            res.sessions,
            action="api_auth",
            staff_id=None,
            login=None,
            detail={"path": request.url.path, "reason": "invalid"},
        )
        raise _unauthorised("トークンが無効です。")
    return actor


ActorDep = Annotated[Actor, Depends(api_actor)]
ResDep = Annotated[Resources, Depends(get_resources)]


def _pack(res: Resources) -> Pack | None:
    return res.knowledge.current.pack if res.knowledge is not None else None


def _need_pack(res: Resources) -> Pack:
    pack = _pack(res)
    if pack is None:
        raise HTTPException(503, detail={"code": "no_pack", "message": "知識パックが読み込まれていません。"})
    return pack


def _run(
    res: Resources, actor: Actor, action: str, fn: Callable[[Session], T], number: str | None = None
) -> T:
    try:
        return desk.attempt(res.sessions, actor, action, fn, number=number)
    except DeskError as error:
        raise HTTPException(error.status, detail={"code": error.code, "message": error.message}) from None


@router.get("/me", response_model=Me)
def me(actor: ActorDep) -> Me:
    return Me(login=actor.login, role=actor.role.value, windows=sorted(actor.window_ids))


@router.get("/windows/{window_id}/tickets", response_model=list[TicketSummary], responses=ERRORS)
def window_inbox(
    window_id: str, actor: ActorDep, res: ResDep, include_closed: bool = False
) -> list[TicketSummary]:
    """A window's tickets: urgent first, then oldest."""
    pack = _pack(res)
    return _run(
        res,
        actor,
        "inbox",
        lambda s: desk.inbox(s, actor, pack=pack, window_id=window_id, include_closed=include_closed),
    )


@router.get("/collaboration/tickets", response_model=list[TicketSummary], responses=ERRORS)
def collaboration_inbox(actor: ActorDep, res: ResDep, include_closed: bool = False) -> list[TicketSummary]:
    """Complex and escalated cases across windows (相談支援包括化推進員 only)."""
    pack = _pack(res)
    return _run(
        res,
        actor,
        "inbox",
        lambda s: desk.inbox(s, actor, pack=pack, scope=Scope.COLLABORATION, include_closed=include_closed),
    )


@router.get("/tickets/{number}", response_model=TicketDetail, responses=ERRORS)
def get_ticket(number: str, actor: ActorDep, res: ResDep) -> TicketDetail:
    """The ticket with its transcript, why it was routed, its history, notes and replies (audited)."""
    pack = _pack(res)
    return _run(res, actor, "view", lambda s: desk.open_ticket(s, actor, number, pack=pack), number)


def _done(ticket: Any, **detail: Any) -> Done:
    return Done(number=ticket.number, status=ticket.status.value, detail=detail)


@router.post("/tickets/{number}/accept", response_model=Done, responses=ERRORS)
def accept(number: str, actor: ActorDep, res: ResDep) -> Done:
    """受理 (新規 → 対応中)."""
    return _run(res, actor, "accepted", lambda s: _done(desk.accept(s, actor, number)), number)


@router.post("/tickets/{number}/assign-to-me", response_model=Done, responses=ERRORS)
def assign_to_me(number: str, actor: ActorDep, res: ResDep) -> Done:
    return _run(res, actor, "assigned", lambda s: _done(desk.assign_to_me(s, actor, number)), number)


@router.post("/tickets/{number}/transfer", response_model=Done, responses=ERRORS)
def transfer(number: str, body: TransferIn, actor: ActorDep, res: ResDep) -> Done:
    """移管 to another window of the pack, with a reason."""
    pack = _need_pack(res)
    return _run(
        res,
        actor,
        "transferred",
        lambda s: _done(
            desk.transfer(s, actor, number, pack=pack, to_window=body.to_window, reason=body.reason),
            window=body.to_window,
        ),
        number,
    )


@router.post("/tickets/{number}/escalate", response_model=Done, responses=ERRORS)
def escalate(number: str, body: ReasonIn, actor: ActorDep, res: ResDep) -> Done:
    """多機関協働へ: the consent meeting with the resident's consent, otherwise the no-consent meeting."""
    pack = _need_pack(res)

    def work(s: Session) -> Done:
        esc = desk.escalate(s, actor, number, pack=pack, reason=body.reason)
        return Done(
            number=number,
            status="多機関協働",
            detail={
                "meeting_kind": esc.meeting_kind.value,
                "meeting_name": esc.meeting_name,
                "confidentiality_note": esc.confidentiality_note,
            },
        )

    return _run(res, actor, "escalated", work, number)


@router.post("/tickets/{number}/notes", response_model=Done, responses=ERRORS)
def add_note(number: str, body: NoteIn, actor: ActorDep, res: ResDep) -> Done:
    """An internal note (never shown to the resident)."""

    def work(s: Session) -> Done:
        note = desk.add_note(s, actor, number, body=body.body)
        return Done(number=number, status="noted", detail={"note_id": note.id})

    return _run(res, actor, "noted", work, number)


@router.post("/tickets/{number}/replies", response_model=Done, status_code=202, responses=ERRORS)
def reply(number: str, body: ReplyIn, actor: ActorDep, res: ResDep) -> Done:
    """Reply to the resident on LINE: stored at once, pushed by the outbox (retried while LINE is down)."""

    def work(s: Session) -> Done:
        message = desk.reply(s, actor, number, text=body.text)
        return Done(number=number, status="queued", detail={"message_id": message.id})

    return _run(res, actor, "replied", work, number)


@router.post("/tickets/{number}/close", response_model=Done, responses=ERRORS)
def close(number: str, body: CloseIn, actor: ActorDep, res: ResDep) -> Done:
    """終結, with the outcome."""
    return _run(
        res, actor, "closed", lambda s: _done(desk.close(s, actor, number, outcome=body.outcome)), number
    )


@router.get("/metrics", response_model=metrics.Metrics, responses=ERRORS)
def get_metrics(
    actor: ActorDep,
    res: ResDep,
    since: Annotated[
        datetime | None, Query(description="Start (inclusive), ISO 8601; default 30 days ago")
    ] = None,
    until: Annotated[datetime | None, Query(description="End (exclusive), ISO 8601; default now")] = None,
) -> metrics.Metrics:
    """評価指標 (admins only)."""
    if not actor.is_admin:
        audit.record_refusal(res.sessions, action="metrics", staff_id=actor.staff_id, login=actor.login)
        raise HTTPException(
            403, detail={"code": "forbidden", "message": "評価指標は管理者だけが見られます。"}
        )
    hi = _utc(until) if until else datetime.now(UTC)
    lo = _utc(since) if since else hi - timedelta(days=30)
    pack = _pack(res)

    def work(s: Session) -> metrics.Metrics:
        audit.record(s, action="metrics", staff_id=actor.staff_id, login=actor.login)
        return metrics.compute(s, since=lo, until=hi, pack=pack)

    with session_scope(res.sessions) as session:
        return work(session)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
