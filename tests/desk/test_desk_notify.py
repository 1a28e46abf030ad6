"""The new-ticket notice: to the window's LINE group or webhook, urgent ones every time, never the text."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from deskharness import FakeKnowledgeHolder, FakeLine, line_settings, make_pack, make_ticket
from sqlalchemy import select

from bot.line import LineGateway
from intake.app import Resources
from intake.db import make_engine, make_sessionmaker, session_scope
from intake.settings import Settings
from intake.store import embedded_store
from routing.models import Ticket, Urgency
from routing.notify import notify_new_ticket

GROUP = "C" + "f" * 32
SECRET_TEXT = "夫から毎日どなられていて、こわいです"


class Hook:
    """A loopback webhook receiver that records JSON bodies and can be told to fail."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if hook.fail > 0:
                    hook.fail -= 1
                    self.send_response(503)
                else:
                    hook.bodies.append(json.loads(body))
                    self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


@pytest.fixture
async def res(settings: Settings, fake_line: FakeLine, hook: Hook) -> AsyncIterator[Resources]:
    configured = line_settings(settings, fake_line)
    engine = make_engine(configured.database_url)
    line = LineGateway(configured)
    pack = make_pack(notify={"kaigo": {"line_group_id": GROUP}, "kodomo": {"webhook_url": hook.url}})
    resources = Resources(
        settings=configured,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=embedded_store(),
        knowledge=FakeKnowledgeHolder(pack),
        line=line,
    )
    yield resources
    await line.close()
    await resources.store.close()
    engine.dispose()


def _id(res: Resources, number: str) -> int:
    with session_scope(res.sessions) as s:
        return s.scalars(select(Ticket.id).where(Ticket.number == number)).one()


async def test_urgent_tickets_reach_the_windows_line_group_every_time_without_their_text(
    res: Resources, fake_line: FakeLine
) -> None:
    for _ in range(2):
        number = make_ticket(res.sessions, window_id="kaigo", urgency=Urgency.URGENT, text=SECRET_TEXT)
        result = await notify_new_ticket(res, _id(res, number))
        assert result.sent == ("line",)
    pushes = fake_line.calls("/v2/bot/message/push", ok=True)
    assert [p.json["to"] for p in pushes] == [GROUP, GROUP]
    text = pushes[-1].json["messages"][0]["text"]
    assert "至急" in text and number in text and "地域包括支援センター" in text
    assert SECRET_TEXT not in json.dumps([p.json for p in pushes], ensure_ascii=False)
    assert "介護" not in text  # not even the field


async def test_ordinary_tickets_are_coalesced_per_window(res: Resources, hook: Hook) -> None:
    first = make_ticket(res.sessions, window_id="kodomo")
    second = make_ticket(res.sessions, window_id="kodomo")
    assert (await notify_new_ticket(res, _id(res, first))).sent == ("webhook",)
    assert (await notify_new_ticket(res, _id(res, second))).skipped == "coalesced"
    assert [b["ticket"] for b in hook.bodies] == [first]
    assert hook.bodies[0]["urgent"] is False and hook.bodies[0]["window"] == "kodomo"
    urgent = make_ticket(res.sessions, window_id="kodomo", urgency=Urgency.URGENT)
    assert (await notify_new_ticket(res, _id(res, urgent))).sent == ("webhook",)  # urgent: at once


async def test_a_failing_webhook_is_retried(res: Resources, hook: Hook) -> None:
    hook.fail = 1
    number = make_ticket(res.sessions, window_id="kodomo", urgency=Urgency.URGENT)
    assert (await notify_new_ticket(res, _id(res, number))).sent == ("webhook",)
    assert len(hook.bodies) == 1


async def test_a_window_without_a_notice_setting_gets_none(res: Resources, fake_line: FakeLine) -> None:
    number = make_ticket(res.sessions, window_id="general", urgency=Urgency.URGENT)
    assert (await notify_new_ticket(res, _id(res, number))).skipped == "not_configured"
    assert (await notify_new_ticket(res, 999_999)).skipped == "unknown_ticket"
    assert fake_line.calls() == []
