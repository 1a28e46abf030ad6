"""The new-ticket notice to a window: a LINE push to the staff group, or a POST to a webhook, from the pack.

The notice carries the ticket number, the window and whether it is urgent: never the consultation's text or
fields, never who the resident is (staff open the desk for that). Urgent tickets are notified at once, every one;
ordinary ones at most once per window every :data:`COALESCE_SECONDS` (the inbox lists them all), so a busy morning
does not bury the urgent notices. A failed notice is logged and retried briefly; the desk inbox stays the source of
truth, so a notice never blocks the resident's conversation.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.orm import Session

from intake.db import run_db
from routing.models import Ticket, Urgency

if TYPE_CHECKING:
    from intake.app import Resources

log = logging.getLogger("routing.notify")

COALESCE_SECONDS = 300
ATTEMPTS = 3
WEBHOOK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Notice:
    number: str
    window_id: str
    window_name: str
    urgent: bool

    def text(self) -> str:
        if self.urgent:
            return (
                f"【至急】{self.window_name}に緊急のご相談が届きました（受付番号 {self.number}）。"
                "すぐにスタッフデスクで確認してください。"
            )
        return f"{self.window_name}に新しいご相談が届きました（受付番号 {self.number}）。スタッフデスクで確認してください。"

    def webhook_payload(self) -> dict[str, Any]:
        return {
            "event": "ticket.created",
            "ticket": self.number,
            "window": self.window_id,
            "urgent": self.urgent,
            "text": self.text(),
        }


@dataclass(frozen=True)
class NotifyResult:
    sent: tuple[str, ...]  # "line" and/or "webhook"
    skipped: str | None = None  # why nothing was sent: "unknown_ticket", "not_configured", "coalesced"


def _ticket(session: Session, ticket_id: int) -> tuple[str, str, bool] | None:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    return ticket.number, ticket.window_id, ticket.urgency is Urgency.URGENT


async def _retry(what: str, send: Any, attempts: int) -> bool:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            await send()
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if getattr(exc, "status", None) == 409:
                return True  # LINE already accepted an earlier attempt with this retry key
            log.warning(
                "notice failed",
                extra={"ctx": {"to": what, "attempt": attempt, "status": getattr(exc, "status", None)}},
            )
            if attempt < attempts:
                await asyncio.sleep(delay)
                delay *= 2
    return False


async def notify_new_ticket(res: Resources, ticket_id: int) -> NotifyResult:
    """Tell the ticket's window that a consultation arrived (called by the bot once the ticket exists)."""
    found = await run_db(res.sessions, lambda s: _ticket(s, ticket_id))
    if found is None:
        return NotifyResult(sent=(), skipped="unknown_ticket")
    number, window_id, urgent = found
    pack = res.knowledge.current.pack if res.knowledge is not None else None
    window = None
    if pack is not None:
        try:
            window = pack.window(window_id)
        except KeyError:
            window = None
    target = getattr(window, "notify", None)
    group = getattr(target, "line_group_id", "") or ""
    hook = getattr(target, "webhook_url", "") or ""
    if window is None or not (group or hook):
        return NotifyResult(sent=(), skipped="not_configured")
    if not urgent and not await res.store.claim(f"notify:window:{window_id}", ttl=COALESCE_SECONDS):
        return NotifyResult(sent=(), skipped="coalesced")
    notice = Notice(number=number, window_id=window_id, window_name=window.name, urgent=urgent)
    attempts = ATTEMPTS if urgent else 2
    sent: list[str] = []
    line = res.line
    if group and line is not None:
        retry_key = str(uuid.uuid4())

        async def push() -> None:
            result = line.push(group, [{"type": "text", "text": notice.text()}], retry_key=retry_key)
            if inspect.isawaitable(result):
                await result

        if await _retry("line", push, attempts):
            sent.append("line")
    if hook:

        async def post() -> None:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as client:
                answer = await client.post(hook, json=notice.webhook_payload())
                answer.raise_for_status()

        if await _retry("webhook", post, attempts):
            sent.append("webhook")
    log.info(
        "new-ticket notice",
        extra={"ctx": {"ticket": number, "window": window_id, "urgent": urgent, "sent": sent}},
    )
    return NotifyResult(sent=tuple(sent))
