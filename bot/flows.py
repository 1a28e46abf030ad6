"""The one place that sequences the side effects of a resident's message.

For every event, under the resident's lock: store the inbound message (before anything else can fail), run the
pure engine, carry out its effects (tickets, conversation ends) feeding their results back to it, store the
outbound messages, save the session, and only then deliver (LINE reply, push fallback; or the web page).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import engine
from bot.dialogs import Step
from bot.engine import Event, Knowledge, Reply, SessionState
from bot.knowledge import from_current
from bot.line import LineEvent, LineSendError, to_line_messages
from intake import crypto
from intake.db import run_db
from intake.store import LockTimeout
from routing import transcript
from routing.models import Resident

if TYPE_CHECKING:
    from intake.app import Resources

log = logging.getLogger("bot.flows")

EVENT_DEDUP_SECONDS = 24 * 3600
# A reply token lives about a minute: after this long, push instead of trying it.
REPLY_TOKEN_SECONDS = 50.0
LOCK_TIMEOUT = 30.0
LOCK_WAIT = 25.0
PUSH_ATTEMPTS = 3
RETRY_NAMESPACE = uuid.UUID("6f1d6d0e-2b8c-4a53-9d7e-4f1b7f0c5a11")
HANDLED_TYPES = frozenset({"message", "postback", "follow", "unfollow"})


class KnowledgeUnavailable(RuntimeError):
    """No knowledge pack is loaded: the dialog cannot speak."""


def current_knowledge(res: Resources) -> Knowledge:
    holder = res.knowledge
    if holder is None or getattr(holder, "current", None) is None:
        raise KnowledgeUnavailable("no knowledge pack loaded")
    return from_current(holder.current)


def secret(res: Resources) -> bytes:
    cached: bytes | None = getattr(res, "_bot_secret", None)
    if cached is None:
        cached = crypto.secret_key(res.settings)
        res._bot_secret = cached  # type: ignore[attr-defined]
    return cached


def session_key(channel: str, subject_hash: str) -> str:
    return f"sess:{channel}:{subject_hash}"


@dataclass
class Inbound:
    """What goes into the transcript for the resident's side of a turn."""

    kind: str
    text: str | None = None
    payload: dict[str, Any] | None = None
    line_event_id: str | None = None


@dataclass
class TurnResult:
    replies: list[Reply] = field(default_factory=list)
    state: SessionState | None = None
    ticket_numbers: list[str] = field(default_factory=list)
    duplicate: bool = False


Deliver = Callable[[list[Reply]], Awaitable[None]]


# ---------------------------------------------------------------------------------------------------------------
# One turn, whatever the channel


async def run_turn(
    res: Resources,
    *,
    channel: str,
    subject: str,
    event: Event,
    inbound: Inbound | None,
    line_user_id: str | None = None,
    on_loading: Callable[[], Awaitable[None]] | None = None,
) -> TurnResult:
    """Process one event for one resident. The caller holds the resident's lock."""
    k = current_knowledge(res)
    key = secret(res)
    subject_hash = crypto.subject_hash(key, channel, subject)
    skey = session_key(channel, subject_hash)
    state = await _load_state(res, skey)
    ttl = res.settings.intake_session_ttl
    pack_id = k.pack.municipality.id

    def record_inbound(session: Session) -> tuple[int, int]:
        resident = transcript.get_or_create_resident(
            session, pack=pack_id, channel=channel, subject=subject, key=key, line_user_id=line_user_id
        )
        if isinstance(event, engine.Unfollow):
            transcript.set_following(session, resident_id=resident.id, following=False)
        conv = transcript.open_conversation(
            session, resident=resident, conversation_id=state.conversation_id if state else None
        )
        if inbound is not None:
            transcript.record_message(
                session,
                conversation_id=conv.id,
                direction="in",
                sender="resident",
                kind=inbound.kind,
                text=inbound.text,
                payload=inbound.payload,
                line_event_id=inbound.line_event_id,
                ticket_id=state.ticket_id if state and state.step is Step.DONE else None,
            )
        return resident.id, conv.id

    try:
        resident_id, conv_id = await run_db(res.sessions, record_inbound)
    except transcript.DuplicateEvent:
        return TurnResult(duplicate=True)
    if state is not None and state.conversation_id != conv_id and state.step is not Step.ENDED:
        state.conversation_id = conv_id

    result = TurnResult()
    outcome = engine.step(state, event, k, channel="web" if channel == "web" else "line")
    queue = list(outcome.effects)
    result.replies.extend(outcome.replies)
    new_state = outcome.state
    loading_task: asyncio.Task[None] | None = None
    ended_conversation: int | None = None
    while queue:
        effect = queue.pop(0)
        if isinstance(effect, engine.ShowLoading):
            if on_loading is not None and loading_task is None:
                loading_task = asyncio.ensure_future(on_loading())
        elif isinstance(effect, engine.EndConversation):
            ended = (state.conversation_id if state else None) or conv_id
            await _end_conversation(res, ended, effect.reason)
            ended_conversation = ended
        elif isinstance(effect, engine.SaveTicket):
            ticket_id, number = await _save_ticket(
                res, k, effect, resident_id=resident_id, conversation_id=conv_id
            )
            result.ticket_numbers.append(number)
            fed = engine.step(new_state, engine.TicketSaved(effect.purpose, ticket_id, number, event.at), k)
            new_state = fed.state
            result.replies.extend(fed.replies)
            queue.extend(fed.effects)
            _notify(res, ticket_id)

    # Outbound messages go into the transcript before anything is sent.
    out_conversation = conv_id
    if new_state is not None and new_state.conversation_id is None and ended_conversation is not None:
        out_conversation = 0  # a new consultation: opened below
    ticket_for_out = new_state.ticket_id if new_state is not None else None
    replies = list(result.replies)

    def record_outbound(session: Session) -> int:
        target = out_conversation
        if target == 0:
            resident = session.get(Resident, resident_id)
            assert resident is not None
            target = transcript.open_conversation(session, resident=resident).id
        for reply in replies:
            transcript.record_message(
                session,
                conversation_id=target,
                direction="out",
                sender="bot",
                kind="text",
                text=reply.text,
                payload={"quick_replies": [{"label": q.label, "value": q.value} for q in reply.quick_replies]}
                if reply.quick_replies
                else None,
                ticket_id=ticket_for_out,
            )
        return target

    final_conversation = await run_db(res.sessions, record_outbound)
    if new_state is None:
        await _store_call(res.store.delete(skey))
    else:
        if new_state.step is not Step.ENDED:
            new_state.conversation_id = final_conversation
        await _store_call(res.store.put(skey, new_state.model_dump(mode="json"), ttl=ttl))
    if loading_task is not None:
        await asyncio.gather(loading_task, return_exceptions=True)
    result.state = new_state
    return result


async def _end_conversation(res: Resources, conversation_id: int, reason: str) -> None:
    def work(session: Session) -> None:
        transcript.end_conversation(session, conversation_id=conversation_id, reason=reason)

    await run_db(res.sessions, work)


async def _load_state(res: Resources, skey: str) -> SessionState | None:
    try:
        raw = await res.store.get(skey)
    except Exception:
        log.warning("session store unavailable: the dialog starts again", exc_info=True)
        return None
    if raw is None:
        return None
    try:
        return SessionState.model_validate(raw)
    except ValidationError:
        log.warning("session state unreadable: the dialog starts again")
        return None


async def _store_call(coro: Awaitable[Any]) -> None:
    try:
        await coro
    except Exception:
        log.warning("session store unavailable: state not saved", exc_info=True)


async def _save_ticket(
    res: Resources, k: Knowledge, effect: engine.SaveTicket, *, resident_id: int, conversation_id: int
) -> tuple[int, str]:
    draft = effect.draft.model_dump()

    def work(session: Session) -> tuple[int, str]:
        if effect.ticket_id is not None:
            ticket = transcript.update_ticket(session, ticket_id=effect.ticket_id, **draft)
        else:
            ticket = transcript.create_ticket(
                session,
                pack=k.pack.municipality.id,
                knowledge_version=k.version,
                resident_id=resident_id,
                conversation_id=conversation_id,
                **draft,
            )
        return ticket.id, ticket.number

    ticket_id, number = await run_db(res.sessions, work)
    log.info(
        "ticket saved",
        extra={"ctx": {"ticket": number, "purpose": effect.purpose, "urgent": effect.draft.urgent}},
    )
    return ticket_id, number


def _notify(res: Resources, ticket_id: int) -> None:
    try:
        from routing.notify import notify_new_ticket  # the staff desk's part, when present
    except ImportError:
        return

    async def run() -> None:
        try:
            await notify_new_ticket(res, ticket_id)
        except Exception:
            log.warning("notify failed", exc_info=True, extra={"ctx": {"ticket_id": ticket_id}})

    res.spawn(run(), name=f"notify-{ticket_id}")


@asynccontextmanager
async def resident_lock(res: Resources, subject_hash: str) -> AsyncIterator[None]:
    """The resident's lock (across processes). If the store itself is down, go on without it (the database
    still refuses a LINE event twice) rather than leave the resident without an answer."""
    cm = res.store.lock(f"lock:user:{subject_hash}", timeout=LOCK_TIMEOUT, wait=LOCK_WAIT)
    try:
        await cm.__aenter__()
    except LockTimeout:
        raise
    except Exception:
        log.warning("session store unavailable: processing without the lock", exc_info=True)
        yield
        return
    try:
        yield
    except BaseException as exc:
        await _quiet_exit(cm, exc)
        raise
    await _quiet_exit(cm, None)


async def _quiet_exit(cm: Any, exc: BaseException | None) -> None:
    try:
        await cm.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
    except Exception:
        log.warning("lock release failed", exc_info=True)


async def record_error_reply(res: Resources, channel: str, subject_hash: str, reply: Reply) -> None:
    """Best effort: the apology goes into the transcript too (the failure may be the database itself)."""

    def work(session: Session) -> None:
        resident = session.scalar(
            select(Resident).where(Resident.channel == channel, Resident.subject_hash == subject_hash)
        )
        if resident is None:
            return
        conv = transcript.open_conversation(session, resident=resident)
        transcript.record_message(
            session, conversation_id=conv.id, direction="out", sender="system", kind="error", text=reply.text
        )

    try:
        await run_db(res.sessions, work)
    except Exception:
        log.warning("apology not recorded", exc_info=True)


def error_reply(res: Resources) -> Reply:
    """What a resident sees when something broke: never silence."""
    try:
        k = current_knowledge(res)
        general = k.pack.window(k.pack.municipality.general_window_id)
        text = k.messages["error_sorry"].format_map(
            engine.Placeholders(window=general.name, phone=general.contact.phone, hours=general.contact.hours)
        )
    except Exception:
        text = "すみません、うまく受け付けられませんでした。少し時間をおいて、もう一度送ってください。"
    return Reply(text)


# ---------------------------------------------------------------------------------------------------------------
# LINE


def to_engine_event(ev: LineEvent) -> tuple[Event, Inbound] | None:
    at = ev.at
    if ev.type == "follow":
        return engine.Follow(at, unblocked=ev.unblocked), Inbound("follow", line_event_id=ev.event_id or None)
    if ev.type == "unfollow":
        return engine.Unfollow(at), Inbound("unfollow", line_event_id=ev.event_id or None)
    if ev.type == "postback" and ev.postback_data is not None:
        return engine.Pick(ev.postback_data, at), Inbound(
            "postback", payload={"data": ev.postback_data}, line_event_id=ev.event_id or None
        )
    if ev.type == "message":
        eid = ev.event_id or None
        if ev.kind == "text" and ev.text is not None:
            return engine.Text(ev.text, at), Inbound("text", text=ev.text, line_event_id=eid)
        if ev.kind == "location":
            payload = {"address": ev.address, "latitude": ev.latitude, "longitude": ev.longitude}
            return engine.Location(ev.address or "", at, ev.latitude, ev.longitude), Inbound(
                "location", payload=payload, line_event_id=eid
            )
        return engine.Media(ev.kind or "other", at), Inbound(ev.kind or "other", line_event_id=eid)
    return None


async def handle_line_events(res: Resources, events: list[LineEvent]) -> None:
    """One webhook's events: per user, in timestamp order, one at a time; users in parallel."""
    by_user: dict[str, list[LineEvent]] = {}
    ignored = 0
    for ev in events:
        if ev.type not in HANDLED_TYPES or ev.source_type != "user" or not ev.user_id:
            ignored += 1
            continue
        if ev.mode == "standby":
            ignored += 1  # another channel is answering: send nothing
            continue
        by_user.setdefault(ev.user_id, []).append(ev)
    if ignored:
        log.info("events ignored", extra={"ctx": {"n": ignored}})
    await asyncio.gather(
        *(_handle_user(res, uid, sorted(evs, key=lambda e: e.timestamp_ms)) for uid, evs in by_user.items())
    )


async def _handle_user(res: Resources, user_id: str, events: list[LineEvent]) -> None:
    subject_hash = crypto.subject_hash(secret(res), "line", user_id)
    for ev in events:
        if ev.event_id and not await _claim(res, ev.event_id):
            log.info("redelivery skipped", extra={"ctx": {"event": ev.event_id}})
            continue
        started = time.monotonic()
        try:
            async with resident_lock(res, subject_hash):
                await handle_line_event(res, user_id, ev)
        except Exception:
            log.exception("event failed", extra={"ctx": {"event": ev.event_id}})
            reply = error_reply(res)
            await record_error_reply(res, "line", subject_hash, reply)
            await deliver_line(res, ev, user_id, [reply])
        log.info(
            "event handled",
            extra={
                "ctx": {
                    "event": ev.event_id,
                    "type": ev.type,
                    "ms": round((time.monotonic() - started) * 1000),
                }
            },
        )


async def _claim(res: Resources, event_id: str) -> bool:
    try:
        return await res.store.claim(f"line:evt:{event_id}", ttl=EVENT_DEDUP_SECONDS)
    except Exception:
        log.warning("session store unavailable: deduplicating in the database only", exc_info=True)
        return True


async def handle_line_event(res: Resources, user_id: str, ev: LineEvent) -> None:
    converted = to_engine_event(ev)
    if converted is None:
        return
    event, inbound = converted
    line = res.line

    async def loading() -> None:
        if line is not None:
            await line.show_loading(user_id, 5)

    result = await run_turn(
        res,
        channel="line",
        subject=user_id,
        event=event,
        inbound=inbound,
        line_user_id=user_id,
        on_loading=loading,
    )
    if result.duplicate:
        return
    await deliver_line(res, ev, user_id, result.replies)


async def deliver_line(res: Resources, ev: LineEvent, user_id: str, replies: list[Reply]) -> None:
    """Reply with the token while it is fresh; otherwise (or when the reply fails) push with a retry key."""
    line = res.line
    messages = to_line_messages(replies)
    if line is None or not messages:
        return
    fresh = ev.reply_token and time.time() - ev.at < REPLY_TOKEN_SECONDS
    if fresh and ev.reply_token and await line.reply(ev.reply_token, messages):
        return
    retry_key = str(uuid.uuid5(RETRY_NAMESPACE, ev.event_id or uuid.uuid4().hex))
    for attempt in range(PUSH_ATTEMPTS):
        try:
            await line.push(user_id, messages, retry_key=retry_key)
            log.info("pushed", extra={"ctx": {"n": len(messages), "attempt": attempt + 1}})
            return
        except LineSendError as exc:
            if not exc.retryable or attempt == PUSH_ATTEMPTS - 1:
                log.error("push failed", extra={"ctx": {"status": exc.status, "attempts": attempt + 1}})
                await _to_outbox(res, user_id, messages)
                return
            await asyncio.sleep(0.2 * 2**attempt)


async def _to_outbox(res: Resources, user_id: str, messages: list[dict[str, Any]]) -> None:
    """Leave undelivered messages to the staff side's outbox worker, when it exists (a delay, never a loss)."""
    try:
        from routing.outbox import enqueue_push
    except ImportError:
        return
    key = secret(res)
    subject_hash = crypto.subject_hash(key, "line", user_id)

    def work(session: Session) -> None:
        resident = session.scalar(
            select(Resident).where(Resident.channel == "line", Resident.subject_hash == subject_hash)
        )
        if resident is not None:
            enqueue_push(session, resident_id=resident.id, ticket_id=None, messages=messages)

    try:
        await run_db(res.sessions, work)
    except Exception:
        log.warning("outbox enqueue failed", exc_info=True)


# ---------------------------------------------------------------------------------------------------------------
# Web chat


async def handle_web(res: Resources, session_id: str, event: Event, inbound: Inbound | None) -> TurnResult:
    subject_hash = crypto.subject_hash(secret(res), "web", session_id)
    async with resident_lock(res, subject_hash):
        return await run_turn(res, channel="web", subject=session_id, event=event, inbound=inbound)


async def web_state(res: Resources, session_id: str) -> SessionState | None:
    subject_hash = crypto.subject_hash(secret(res), "web", session_id)
    return await _load_state(res, session_key("web", subject_hash))
