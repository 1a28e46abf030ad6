"""The outbox: a staff reply reaches LINE; a LINE outage delays it, never loses it; it is delivered once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from deskharness import LINE_USER, Desk, FakeLine, add_staff, csrf_of, line_settings, login, make_ticket
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.line import LineGateway
from intake.app import Resources
from intake.db import make_engine, make_sessionmaker, session_scope, utcnow
from intake.settings import Settings
from intake.store import embedded_store
from routing import outbox
from routing.models import Outbox, OutboxStatus, Ticket

PUSH = "/v2/bot/message/push"


@pytest.fixture
async def res(settings: Settings, fake_line: FakeLine) -> AsyncIterator[Resources]:
    """Resources as the app builds them, with the real LINE gateway on the fake LINE API (no worker running)."""
    configured = line_settings(settings, fake_line)
    engine = make_engine(configured.database_url)
    line = LineGateway(configured)
    resources = Resources(
        settings=configured,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=embedded_store(),
        line=line,
    )
    yield resources
    await line.close()
    await resources.store.close()
    engine.dispose()


def _queue(sessions: sessionmaker[Session], text: str = "お返事します") -> int:
    number = make_ticket(sessions)
    with session_scope(sessions) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.resident_id is not None
        row = outbox.enqueue_push(
            s, resident_id=ticket.resident_id, ticket_id=ticket.id, messages=[{"type": "text", "text": text}]
        )
        return row.id


def _row(sessions: sessionmaker[Session], row_id: int) -> Outbox:
    with session_scope(sessions) as s:
        row = s.get(Outbox, row_id)
        assert row is not None
        return row


async def test_a_queued_reply_is_pushed_to_the_residents_line_id(res: Resources, fake_line: FakeLine) -> None:
    row_id = _queue(res.sessions, "ご相談ありがとうございます")
    assert await outbox.deliver_due(res) == 1
    sent = fake_line.calls(PUSH)
    assert len(sent) == 1
    assert sent[0].json["to"] == LINE_USER
    assert sent[0].json["messages"] == [{"type": "text", "text": "ご相談ありがとうございます"}]
    assert sent[0].headers["x-line-retry-key"] == _row(res.sessions, row_id).retry_key
    row = _row(res.sessions, row_id)
    assert row.status is OutboxStatus.SENT and row.sent_at is not None and row.attempts == 1
    assert await outbox.deliver_due(res) == 0  # sent once, never again


async def test_a_line_500_delays_the_reply_and_a_later_attempt_delivers_it(
    res: Resources, fake_line: FakeLine
) -> None:
    row_id = _queue(res.sessions)
    fake_line.fail_next(500, path=PUSH)
    assert await outbox.deliver_due(res) == 1
    row = _row(res.sessions, row_id)
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and row.last_error == "LINE 500"
    assert fake_line.messages_sent() == []

    assert await outbox.deliver_due(res) == 0  # not due yet: backing off
    later = utcnow() + timedelta(seconds=outbox.MAX_DELAY * 2)
    assert await outbox.deliver_due(res, now=later) == 1
    row = _row(res.sessions, row_id)
    assert row.status is OutboxStatus.SENT and row.attempts == 2
    keys = {r.headers["x-line-retry-key"] for r in fake_line.calls(PUSH)}
    assert keys == {row.retry_key}  # the same key on every attempt: LINE delivers once
    assert fake_line.texts_sent() == ["お返事します"]


async def test_a_long_outage_keeps_the_reply_pending_with_growing_waits(
    res: Resources, fake_line: FakeLine
) -> None:
    row_id = _queue(res.sessions)
    fake_line.fail_next(429, times=6, path=PUSH)
    now = utcnow()
    waits = []
    for _ in range(6):
        now = now + timedelta(seconds=outbox.MAX_DELAY * 2)
        assert await outbox.deliver_due(res, now=now) == 1
        row = _row(res.sessions, row_id)
        assert row.status is OutboxStatus.PENDING
        waits.append(row.next_attempt_at)
    assert _row(res.sessions, row_id).attempts == 6
    now = now + timedelta(seconds=outbox.MAX_DELAY * 2)
    assert await outbox.deliver_due(res, now=now) == 1
    assert _row(res.sessions, row_id).status is OutboxStatus.SENT


async def test_a_rejected_message_is_marked_failed_for_staff_to_see(
    res: Resources, fake_line: FakeLine
) -> None:
    row_id = _queue(res.sessions)
    fake_line.fail_next(400, path=PUSH)
    await outbox.deliver_due(res)
    row = _row(res.sessions, row_id)
    assert row.status is OutboxStatus.FAILED and row.last_error == "LINE 400"


async def test_without_line_configured_replies_wait_and_are_not_lost(res: Resources) -> None:
    row_id = _queue(res.sessions)
    res.line = None
    assert await outbox.deliver_due(res) == 0
    assert _row(res.sessions, row_id).status is OutboxStatus.PENDING


def test_two_workers_never_claim_the_same_row(sessions: sessionmaker[Session]) -> None:
    _queue(sessions)
    now = utcnow()
    with session_scope(sessions) as first:
        a = outbox.claim_due(first, now=now)
    with session_scope(sessions) as second:
        b = outbox.claim_due(second, now=now)
    assert len(a) == 1 and b == []


def test_backoff_doubles_and_is_capped() -> None:
    middle = [outbox.backoff(n, jitter=lambda: 0.5) for n in range(1, 12)]
    assert middle[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(middle) == outbox.MAX_DELAY
    assert outbox.backoff(3, jitter=lambda: 0.0) == 6.0 and outbox.backoff(3, jitter=lambda: 1.0) == 10.0


def test_enqueue_refuses_an_empty_or_oversized_push(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as s, pytest.raises(ValueError):
        outbox.enqueue_push(s, resident_id=1, ticket_id=None, messages=[])


def test_staff_reply_on_the_desk_reaches_the_fake_line_api(line_desk: Desk, fake_line: FakeLine) -> None:
    add_staff(line_desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(line_desk.sessions, window_id="kaigo")
    login(line_desk.client, "kaigo1")
    page = line_desk.client.get(f"/staff/tickets/{number}")
    answer = line_desk.client.post(
        f"/staff/tickets/{number}/reply",
        data={"csrf": csrf_of(page.text), "text": "地域包括支援センターの山田です。明日お電話します。"},
    )
    assert answer.status_code == 200 and "返信を送信待ちに入れました" in answer.text
    request = fake_line.wait_for(PUSH, timeout=10)
    assert request.json["to"] == LINE_USER
    assert request.json["messages"] == [
        {"type": "text", "text": "地域包括支援センターの山田です。明日お電話します。"}
    ]
    assert request.headers["authorization"] == "Bearer test-access-token"


def test_a_line_500_on_the_desk_delays_the_reply_but_it_arrives(line_desk: Desk, fake_line: FakeLine) -> None:
    add_staff(line_desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(line_desk.sessions, window_id="kaigo")
    login(line_desk.client, "kaigo1")
    fake_line.fail_next(500, path=PUSH)
    page = line_desk.client.get(f"/staff/tickets/{number}")
    line_desk.client.post(
        f"/staff/tickets/{number}/reply", data={"csrf": csrf_of(page.text), "text": "お待たせしました"}
    )
    failed = fake_line.wait_for(PUSH, timeout=10)
    assert failed.status == 500
    delivered = fake_line.wait_for(PUSH, count=2, timeout=15)
    assert delivered.status == 200
    assert delivered.headers["x-line-retry-key"] == failed.headers["x-line-retry-key"]
    assert fake_line.texts_sent() == ["お待たせしました"]
    page = line_desk.client.get(f"/staff/tickets/{number}")
    assert "送信済み" in page.text
