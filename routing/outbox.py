"""The outbox: staff replies pushed to residents on LINE with retry and exponential backoff.

A reply is stored (as a transcript message and an :class:`~routing.models.Outbox` row) in the same unit of work as
the staff action; the worker started by ``intake.components.start`` pushes it later. A LINE outage or a rate limit
only delays a reply: the row stays ``pending`` with its next attempt pushed back (2 s, 4 s, 8 s … capped at
15 minutes, with jitter). Every attempt carries the same ``X-Line-Retry-Key`` so LINE delivers it once, even when a
first attempt reached LINE but its answer was lost. Rows are claimed with a compare-and-set on ``attempts``, so
several app processes can run the worker side by side without sending a message twice.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.crypto import decrypt, secret_key
from intake.db import run_db, utcnow
from routing.models import Outbox, OutboxStatus, Resident

if TYPE_CHECKING:
    from intake.app import Resources

log = logging.getLogger("routing.outbox")

BASE_DELAY = 2.0  # seconds before the first retry
MAX_DELAY = 900.0  # never wait more than 15 minutes between attempts
LEASE = timedelta(seconds=120)  # a claimed row is left alone this long by other workers
POLL_INTERVAL = 1.0
BATCH = 50
CONCURRENCY = 8  # pushes in flight at once (LINE allows 2,000 requests/s per channel)


def enqueue_push(
    session: Session,
    *,
    resident_id: int,
    ticket_id: int | None,
    messages: list[dict[str, Any]],
    message_id: int | None = None,
) -> Outbox:
    """Queue 1–5 LINE message objects for the resident; sent by the worker, retried until LINE takes them."""
    if not 1 <= len(messages) <= 5:
        raise ValueError("a LINE push carries 1 to 5 messages")
    row = Outbox(
        resident_id=resident_id,
        ticket_id=ticket_id,
        message_id=message_id,
        messages=messages,
        retry_key=str(uuid.uuid4()),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def backoff(attempts: int, *, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling from 2 s, capped, with ±25 % jitter."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return float(delay * (0.75 + 0.5 * jitter()))


@dataclass(frozen=True)
class Job:
    """One claimed outbox row, ready to push (plain values: no ORM object crosses into async code)."""

    id: int
    attempts: int
    retry_key: str
    messages: list[dict[str, Any]]
    line_user_id_enc: str | None
    following: bool


def claim_due(session: Session, *, now: datetime, limit: int = BATCH) -> list[Job]:
    """Take up to ``limit`` rows whose time has come; each is leased so no other worker takes it meanwhile."""
    rows = session.execute(
        select(Outbox, Resident.line_user_id_enc, Resident.following)
        .join(Resident, Resident.id == Outbox.resident_id)
        .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id)
        .limit(limit)
    ).all()
    jobs: list[Job] = []
    for row, enc, following in rows:
        claimed = session.execute(
            update(Outbox)
            .where(
                Outbox.id == row.id,
                Outbox.status == OutboxStatus.PENDING,
                Outbox.attempts == row.attempts,
            )
            .values(attempts=row.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) == 1:
            jobs.append(
                Job(
                    id=row.id,
                    attempts=row.attempts + 1,
                    retry_key=row.retry_key,
                    messages=list(row.messages),
                    line_user_id_enc=enc,
                    following=bool(following),
                )
            )
    return jobs


def _finish(
    session: Session, job_id: int, *, sent: bool, failed: bool, error: str | None, retry_at: datetime
) -> None:
    row = session.get(Outbox, job_id)
    if row is None:
        return
    if sent:
        row.status = OutboxStatus.SENT
        row.sent_at = utcnow()
        row.last_error = None
    elif failed:
        row.status = OutboxStatus.FAILED
        row.last_error = (error or "failed")[:255]
    else:
        row.next_attempt_at = retry_at
        row.last_error = (error or "error")[:255]


async def _push(line: Any, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
    result = line.push(to, messages, retry_key=retry_key)
    if inspect.isawaitable(result):
        await result


def _classify(exc: BaseException) -> tuple[str, bool, bool]:
    """(error text, delivered already, retryable) for a failed push. Unknown errors are retried."""
    status = getattr(exc, "status", None)
    if status == 409:
        # The retry key was seen: LINE accepted an earlier attempt whose answer we lost.
        return ("409 already accepted", True, False)
    retryable = getattr(exc, "retryable", None)
    if retryable is None:
        retryable = status is None or status == 429 or (isinstance(status, int) and status >= 500)
    label = f"{status}" if status is not None else type(exc).__name__
    return (f"LINE {label}", False, bool(retryable))


@dataclass(frozen=True)
class Outcome:
    job_id: int
    attempt: int
    sent: bool
    failed: bool
    error: str | None
    retry_at: datetime


async def _attempt(line: Any, key: bytes, job: Job) -> Outcome:
    to = decrypt(key, job.line_user_id_enc) if job.line_user_id_enc else None
    sent = failed = False
    error: str | None = None
    if to is None:
        failed, error = True, "no LINE id for this resident"
    elif not job.following:
        failed, error = True, "resident unfollowed"
    else:
        try:
            await _push(line, to, job.messages, job.retry_key)
            sent = True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error, delivered, retryable = _classify(exc)
            sent = delivered
            failed = not delivered and not retryable
    retry_at = utcnow() + timedelta(seconds=backoff(job.attempts))
    return Outcome(job.id, job.attempts, sent, failed, error, retry_at)


def _finish_all(session: Session, outcomes: list[Outcome]) -> None:
    for o in outcomes:
        _finish(session, o.job_id, sent=o.sent, failed=o.failed, error=o.error, retry_at=o.retry_at)


async def deliver_due(res: Resources, *, now: datetime | None = None) -> int:
    """Push every due outbox row once (up to :data:`CONCURRENCY` at a time); returns how many were attempted."""
    line = res.line
    if line is None:
        return 0  # LINE not configured: replies wait, nothing is lost
    when = now or utcnow()
    jobs = await run_db(res.sessions, lambda s: claim_due(s, now=when))
    if not jobs:
        return 0
    key = secret_key(res.settings)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job: Job) -> Outcome:
        async with gate:
            return await _attempt(line, key, job)

    outcomes = list(await asyncio.gather(*(one(job) for job in jobs)))
    await run_db(res.sessions, partial(_finish_all, outcomes=outcomes))
    for o in outcomes:
        log.info(
            "outbox push",
            extra={
                "ctx": {
                    "outbox_id": o.job_id,
                    "attempt": o.attempt,
                    "outcome": "sent" if o.sent else ("failed" if o.failed else "retry"),
                    "error": o.error,
                }
            },
        )
    return len(jobs)


async def run_worker(res: Resources, *, interval: float = POLL_INTERVAL) -> None:
    """Deliver due pushes until cancelled (started in ``intake.components.start``)."""
    warned = False
    while True:
        try:
            if res.line is None and not warned:
                log.warning("outbox waiting: LINE is not configured")
                warned = True
            done = await deliver_due(res)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox worker error")
            done = 0
        if done == 0:
            await asyncio.sleep(interval)


def pending_count(session: Session) -> int:
    return int(
        session.scalar(select(func.count(Outbox.id)).where(Outbox.status == OutboxStatus.PENDING)) or 0
    )
