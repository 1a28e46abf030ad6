"""The desk in a real headless Chromium against a real uvicorn server: log in, inbox, ticket, reply, transfer.

Screenshots of the inbox and the ticket page are written to ``DESK_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import servers
from deskharness import (
    PASSWORD,
    SECRET,
    FakeKnowledgeHolder,
    FakeLine,
    add_staff,
    ago,
    line_settings,
    make_pack,
    make_ticket,
)
from sqlalchemy import select

from intake.app import Resources, create_app
from intake.db import session_scope
from intake.migrate import upgrade
from intake.settings import Settings
from routing.models import Ticket, Urgency

pytestmark = pytest.mark.browser


@dataclass
class Served:
    base_url: str
    res: Resources


@pytest.fixture
def served(tmp_path: Path, fake_line: FakeLine) -> Iterator[Served]:
    """The whole app under uvicorn on a free loopback port, LINE on the fake LINE API."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade(url)
    settings = line_settings(
        Settings(database_url=url, intake_secret_key=SECRET),  # type: ignore[arg-type]
        fake_line,
    )
    app = create_app(settings)
    with servers.serve_in_thread(app) as base_url:
        res: Resources = app.state.resources
        res.knowledge = FakeKnowledgeHolder(make_pack())
        yield Served(base_url=base_url, res=res)


@pytest.fixture
def browser() -> Iterator[object]:
    with servers.chromium() as b:
        yield b


def _shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_log_in_read_the_inbox_reply_and_transfer(
    served: Served, browser: object, fake_line: FakeLine, tmp_path: Path
) -> None:
    sessions = served.res.sessions
    add_staff(sessions, "yamada", ["kaigo"])
    normal = make_ticket(
        sessions,
        number="261122-AB12",
        created_at=ago(90),
        text="母の介護のことで相談したいです。夜も眠れません。",
    )
    urgent = make_ticket(
        sessions,
        number="261122-ZX99",
        urgency=Urgency.URGENT,
        crisis=True,
        created_at=ago(3),
        text="父が倒れて介護が必要です。もう限界です。",
    )
    make_ticket(sessions, number="261122-KD01", window_id="kodomo", fields=["子ども"])
    shots = _shots(tmp_path)

    page = browser.new_page(locale="ja-JP", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{served.base_url}/staff/inbox")
    assert page.url.endswith("/staff/login?reason=login")
    page.get_by_label("ログインID").fill("yamada")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/staff/inbox")

    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 2  # the other window's ticket is not listed
    assert rows.nth(0).inner_text().startswith(urgent)  # urgent first
    assert rows.nth(1).inner_text().startswith(normal)
    page.screenshot(path=str(shots / "desk-inbox.png"), full_page=True)

    page.get_by_role("link", name=normal).click()
    page.wait_for_url(f"**/staff/tickets/{normal}")
    assert page.locator(".msg.resident mark").first.inner_text() == "介護"
    assert "ボットが振り分けた理由" in page.content()
    page.screenshot(path=str(shots / "desk-ticket.png"), full_page=True)

    page.get_by_role("button", name="受理する").click()
    page.wait_for_url("**done=accepted")
    page.get_by_label("返信の文").fill("地域包括支援センターの山田です。明日の午前中にお電話します。")
    page.get_by_role("button", name="返信する").click()
    page.wait_for_url("**done=replied")
    pushed = fake_line.wait_for("/v2/bot/message/push", timeout=10)
    assert (
        pushed.json["messages"][0]["text"] == "地域包括支援センターの山田です。明日の午前中にお電話します。"
    )
    # LINE has the message; the outbox row is marked sent right after LINE's answer: wait for that, not a sleep
    deadline = time.monotonic() + 10
    while True:
        page.reload()
        status = page.locator(".outbox").first.inner_text()
        if "送信済み" in status or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "送信済み" in status

    page.get_by_text("ほかの窓口に移管する").click()
    page.get_by_label("移管先").select_option("kodomo")
    page.get_by_label("移管の理由").fill("お孫さんの子育ての相談が中心のため")
    page.get_by_role("button", name="移管する").click()
    page.wait_for_url("**/staff/inbox?done=transferred")
    assert "移管しました" in page.content()
    assert page.locator("table.inbox tbody tr").count() == 1
    with session_scope(sessions) as s:
        assert s.scalars(select(Ticket.window_id).where(Ticket.number == normal)).one() == "kodomo"

    page.goto(f"{served.base_url}/staff/tickets/{normal}")
    assert "このご相談を見る権限がありません" in page.content()
    page.close()
