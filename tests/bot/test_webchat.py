"""The local web chat: the same intake dialog with a signed session cookie instead of a LINE id."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
from botharness import Bot, bot_settings, use_test_knowledge
from sqlalchemy import select

from intake.app import Resources, create_app
from intake.db import session_scope
from routing.models import Channel, Message, Resident, Ticket


def bubbles(html: str) -> list[str]:
    return re.findall(r'<div class="bubble">(.*?)</div>', html, flags=re.S)


async def test_without_javascript_forms_carry_the_conversation(bot: Bot) -> None:
    page = await bot.client.get("/")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "テスト市" in bubbles(page.text)[0]
    assert 'value="topic:介護"' in page.text  # quick replies are buttons

    r = await bot.client.post("/chat", data={"text": "母の介護が大変です"})
    assert r.status_code == 303
    r = await bot.client.post("/chat", data={"choice": "send"})
    page = await bot.client.get("/")
    said = bubbles(page.text)
    assert "母の介護が大変です" in said and "これで送る" in said  # a tapped button shows as its label
    assert "合っていますか" in said[-1]
    with session_scope(bot.res.sessions) as s:
        resident = s.scalars(select(Resident)).one()
        assert resident.channel == Channel.WEB and resident.line_user_id_enc is None
        assert len(list(s.scalars(select(Message)))) == len(said)


async def test_a_forged_cookie_gets_a_new_chat(bot: Bot) -> None:
    await bot.client.get("/")
    await bot.client.post("/chat", data={"text": "秘密の相談です"})
    bot.client.cookies.clear()
    bot.client.cookies.set("intake_chat", "someone-else.0000", domain="127.0.0.1")
    page = await bot.client.get("/")
    assert "秘密の相談です" not in page.text
    assert "set-cookie" in page.headers


async def test_json_api_answers_with_replies_and_ticket(bot: Bot) -> None:
    await bot.client.get("/")
    for body in ({"text": "人と話したい"},):
        r = await bot.client.post("/chat/api", json=body)
        assert r.status_code == 200
    data = r.json()
    with session_scope(bot.res.sessions) as s:
        ticket = s.scalars(select(Ticket)).one()
    assert data["tickets"] == [ticket.number] and ticket.handoff
    assert ticket.number in data["replies"][-1]["text"]
    assert (await bot.client.post("/chat/api", content=b"nope")).status_code == 400


# ---------------------------------------------------------------------------------------------------------------
# In a real browser


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Resources]]:
    use_test_knowledge(monkeypatch)
    app = create_app(bot_settings(tmp_path, None))
    with servers.serve_in_thread(app) as base_url:
        yield base_url, app.state.resources


@pytest.fixture
def browser() -> Iterator[object]:
    with servers.chromium() as b:
        yield b


@pytest.mark.browser
def test_web_chat_in_chromium_reaches_a_ticket(
    served: tuple[str, Resources], browser: object, tmp_path: Path
) -> None:
    base_url, res = served
    shots = Path(os.environ.get("WEBCHAT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(locale="ja-JP", viewport={"width": 420, "height": 860})  # type: ignore[attr-defined]
    page.goto(base_url + "/")
    assert "テスト市" in page.locator(".bot .bubble").first.inner_text()

    def bot_count() -> int:
        return int(page.locator(".bot .bubble").count())

    def say(text: str) -> None:
        before = bot_count()
        page.get_by_label("メッセージ").fill(text)
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.querySelectorAll('.bot .bubble').length > {before}")

    def tap(label: str) -> None:
        before = bot_count()
        page.locator("#quick button", has_text=label).first.click()
        page.wait_for_function(f"document.querySelectorAll('.bot .bubble').length > {before}")

    say("父の介護のことで相談したいです")
    say("最近、物忘れがひどくなりました")
    tap("これで送る")
    assert "合っていますか" in page.locator(".bot .bubble").last.inner_text()
    tap("はい、合っています")
    tap("北部")
    tap("はい")
    assert page.locator("#quick button", has_text="このLINEで").count() == 0  # not on the web
    tap("電話で")
    say("090-1111-2222")
    last = page.locator(".bot .bubble").last.inner_text()
    page.screenshot(path=str(shots / "webchat.png"), full_page=False)

    with session_scope(res.sessions) as s:
        ticket = s.scalars(select(Ticket)).one()
    assert ticket.number in last and "北部地域包括支援センター" in last
    assert ticket.contact_method == "phone" and ticket.contact_phone == "09011112222"
    # A reload shows the same conversation from the transcript.
    page.reload()
    assert ticket.number in page.locator(".bot .bubble").last.inner_text()
    assert page.locator(".me .bubble").first.inner_text() == "父の介護のことで相談したいです"
