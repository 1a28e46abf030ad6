"""Scripted conversations through the real webhook, with signed payloads shaped as LINE sends them, against the
fake LINE Messaging API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import linehelp as L
import pytest
from botharness import Bot, bot_settings, start_bot
from fakeline import PUSH, REPLY, FakeLine
from sqlalchemy import func, select

from intake.db import session_scope
from routing.models import Conversation, Message, Resident, Ticket, Urgency

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "line-sdk-webhook.json"


async def send(bot: Bot, *events: dict[str, Any]) -> None:
    body = L.payload(*events)
    r = await bot.post(body, L.sign(body))
    assert r.status_code == 200, r.text
    await bot.settle()


def last_texts(fake: FakeLine) -> list[str]:
    """Texts of the last reply or push."""
    req = fake.calls(ok=True)
    sent = [r for r in req if r.path in (REPLY, PUSH)]
    assert sent, "nothing reached LINE"
    return [m["text"] for m in sent[-1].json["messages"]]


def last_quick(fake: FakeLine) -> list[tuple[str, str]]:
    sent = [r for r in fake.calls(ok=True) if r.path in (REPLY, PUSH)]
    items = sent[-1].json["messages"][-1].get("quickReply", {}).get("items", [])
    return [(i["action"]["label"], i["action"]["data"]) for i in items]


def count(bot: Bot, model: Any) -> int:
    with session_scope(bot.res.sessions) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def tickets(bot: Bot) -> list[Ticket]:
    with session_scope(bot.res.sessions) as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


async def test_a_whole_intake_over_line_reaches_a_ticket(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.follow())
    greeting = last_texts(fake_line)
    assert "テスト市" in greeting[0]
    assert any("相談記録" in t and "職員" in t for t in greeting), "privacy notice: what is kept, who sees it"
    assert ("これで送る", "send") in last_quick(fake_line)

    await send(bot, L.text("母の介護のことで困っています"))
    assert "ほかにありますか" in last_texts(fake_line)[-1]
    await send(bot, L.text("夜も眠れません"))
    await send(bot, L.text("これで送る"))  # typed label counts as the button
    assert "介護" in last_texts(fake_line)[-1] and "合っていますか" in last_texts(fake_line)[-1]

    await send(bot, L.postback("correct"))
    assert "地区" in last_texts(fake_line)[-1]  # two 地域包括 by area: routing needs the area
    await send(bot, L.text("寺井町に住んでいます"))
    assert "北部" in last_texts(fake_line)[0]
    await send(bot, L.postback("yes"))
    labels = [label for label, _ in last_quick(fake_line)]
    assert {"このLINEで", "電話で", "自分で窓口に行く"} <= set(labels)
    await send(bot, L.postback("contact:phone"))
    await send(bot, L.text("090-1234-5678"))

    done = "\n".join(last_texts(fake_line))
    [ticket] = tickets(bot)
    assert ticket.number in done
    assert "北部地域包括支援センター" in done and "0761-00-0013" in done and "平日 8:30〜17:15" in done
    assert ticket.fields == ["介護"] and ticket.area == "kita" and ticket.consent is True
    assert ticket.contact_phone == "09012345678" and ticket.knowledge_version == "test-1"
    assert ticket.window_id == "houkatsu-kita"
    # Every message, in and out, is in the transcript and attached to the ticket.
    with session_scope(bot.res.sessions) as s:
        msgs = list(s.scalars(select(Message).order_by(Message.id)))
    inbound = [m for m in msgs if m.direction == "in"]
    assert [m.kind for m in inbound][:3] == ["follow", "text", "text"]
    assert all(m.ticket_id == ticket.id for m in msgs)
    assert sum(1 for m in msgs if m.direction == "out") >= 9
    # The text message came with a quoteToken; replies went by reply token while fresh.
    assert all(r.path == REPLY for r in fake_line.calls(ok=True) if r.path in (REPLY, PUSH))
    # The LINE user id is never stored in clear.
    with session_scope(bot.res.sessions) as s:
        resident = s.scalars(select(Resident)).one()
        assert L.USER not in resident.subject_hash and L.USER not in (resident.line_user_id_enc or "")
    assert fake_line.calls("/v2/bot/chat/loading/start"), "loading animation before the ticket is made"


async def test_bad_or_missing_signature_is_400_and_nothing_is_stored_or_sent(
    bot: Bot, fake_line: FakeLine
) -> None:
    body = L.payload(L.text("こんにちは"))
    assert (await bot.post(body, L.sign(body, "another-secret"))).status_code == 400
    assert (await bot.post(body, None)).status_code == 400
    assert (await bot.post(body, "")).status_code == 400
    tampered = body.replace("こんにちは".encode(), "さようなら".encode())
    assert (await bot.post(tampered, L.sign(body))).status_code == 400
    await bot.settle()
    assert fake_line.requests == []
    assert count(bot, Message) == 0 and count(bot, Resident) == 0


async def test_malformed_json_with_valid_signature_is_400(bot: Bot) -> None:
    for body in (b"{not json", b"\xff\xfe", b'{"destination": "x", "events": [{"type": 5}]}'):
        r = await bot.post(body, L.sign(body))
        assert r.status_code == 400, body


async def test_over_one_megabyte_is_413(bot: Bot) -> None:
    body = L.payload(L.text("あ" * 400_000))
    assert len(body) > 1024 * 1024
    r = await bot.post(body, L.sign(body))
    assert r.status_code == 413

    async def chunks() -> Any:  # no Content-Length: the streamed size is checked
        for _ in range(20):
            yield b"x" * 65536

    r = await bot.client.post("/callback", content=chunks(), headers={"x-line-signature": "x"})
    assert r.status_code == 413


async def test_verify_button_and_empty_events_are_200(bot: Bot, fake_line: FakeLine) -> None:
    body = json.dumps({"destination": L.DESTINATION, "events": []}).encode()
    assert (await bot.post(body, L.sign(body))).status_code == 200
    assert fake_line.requests == []


async def test_without_line_settings_callback_is_503(tmp_path: Path) -> None:
    async for b in start_bot(bot_settings(tmp_path, None), None):
        body = L.payload(L.text("x"))
        r = await b.post(body, L.sign(body))
        assert r.status_code == 503
        assert "LINE_CHANNEL_SECRET" in r.json()["detail"]


async def test_redelivered_event_is_processed_once(bot: Bot, fake_line: FakeLine) -> None:
    event = L.text("子どものことで相談です")
    await send(bot, event)
    again = dict(event, deliveryContext={"isRedelivery": True}, replyToken="another")
    await send(bot, again)
    assert len(fake_line.calls(REPLY)) == 1
    with session_scope(bot.res.sessions) as s:
        inbound = s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
    assert inbound == 1


async def test_sticker_image_audio_get_a_kind_answer(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.sticker())
    assert any("スタンプ" in t for t in last_texts(fake_line))
    await send(bot, L.media("image"))
    assert any("言葉で" in t for t in last_texts(fake_line))
    await send(bot, L.media("audio"))
    assert any("音声" in t and "0761-00-0005" in t for t in last_texts(fake_line))
    await send(bot, L.media("file"))
    assert any("受け取りました" in t for t in last_texts(fake_line))


async def test_location_gives_the_area(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("父の介護で困っています"), L.location("石川県テスト市寺井町1-2"))
    assert any("位置情報" in t for t in last_texts(fake_line))
    await send(bot, L.postback("send"))
    await send(bot, L.postback("correct"))
    # The area came from the location: not asked again.
    assert any("北部" in t for t in last_texts(fake_line))
    assert any("共有" in t for t in last_texts(fake_line))


async def test_expired_reply_token_falls_back_to_push_with_retry_key(bot: Bot, fake_line: FakeLine) -> None:
    fake_line.expire_reply_tokens = True
    await send(bot, L.text("生活が苦しいです"))
    push = fake_line.wait_for(PUSH)
    assert push.json["to"] == L.USER
    assert len(push.headers["x-line-retry-key"]) == 36
    assert "ほかにありますか" in push.json["messages"][-1]["text"]


async def test_old_event_is_pushed_without_trying_the_token(bot: Bot, fake_line: FakeLine) -> None:
    import time

    await send(bot, L.text("生活が苦しいです", at=time.time() - 120))
    assert fake_line.calls(REPLY) == []
    assert fake_line.calls(PUSH, ok=True)


async def test_reply_failure_then_push_retries_5xx_with_the_same_key(bot: Bot, fake_line: FakeLine) -> None:
    fake_line.fail_next(500, path=REPLY)
    fake_line.fail_next(500, times=1, path=PUSH)
    await send(bot, L.text("障害のある息子のことで"))
    pushes = fake_line.calls(PUSH)
    assert [p.status for p in pushes] == [500, 200]
    assert pushes[0].headers["x-line-retry-key"] == pushes[1].headers["x-line-retry-key"]


async def test_standby_mode_sends_nothing(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("こんにちは", mode="standby"))
    assert fake_line.requests == []
    assert count(bot, Message) == 0


async def test_crisis_gives_numbers_at_once_and_an_urgent_ticket(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("もう死にたいです"))
    texts = "\n".join(last_texts(fake_line))
    assert "いのちの電話" in texts and "0120-000-000" in texts
    [ticket] = tickets(bot)
    assert ticket.crisis and ticket.urgency == Urgency.URGENT
    assert ticket.number in texts
    # then gently on: the dialog continues (「ちがう」 lets them choose), and completing it updates the same ticket
    assert "合っていますか" in texts
    await send(bot, L.postback("wrong"))
    assert any("選んで" in t for t in last_texts(fake_line))
    await send(bot, L.postback("field:困窮"))
    await send(bot, L.postback("fields_done"))
    await send(bot, L.postback("no"))
    await send(bot, L.postback("contact:line"))
    [ticket] = tickets(bot)
    assert ticket.crisis and ticket.urgency == Urgency.URGENT and ticket.consent is False
    assert ticket.contact_method == "line"


async def test_handoff_creates_an_urgent_ticket(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("人と話したい"))
    [ticket] = tickets(bot)
    assert ticket.handoff and ticket.urgency == Urgency.URGENT
    texts = "\n".join(last_texts(fake_line))
    assert ticket.number in texts and "0761-00-0005" in texts


async def test_unfollow_ends_the_session_and_keeps_the_ticket(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("人と話したい"))
    sent = len(fake_line.requests)
    await send(bot, L.unfollow())
    assert len(fake_line.requests) == sent  # nothing can be sent to someone who blocked the account
    assert len(tickets(bot)) == 1
    with session_scope(bot.res.sessions) as s:
        conv = s.scalars(select(Conversation)).one()
        assert conv.ended_at is not None and conv.end_reason == "unfollow"
        assert s.scalars(select(Resident)).one().following is False
    # Following again starts afresh with a greeting.
    await send(bot, L.follow())
    assert "テスト市" in last_texts(fake_line)[0]


async def test_cancel_and_restart(bot: Bot, fake_line: FakeLine) -> None:
    await send(bot, L.text("お金のことで"))
    await send(bot, L.text("最初から"))
    assert "はじめから" in last_texts(fake_line)[0]
    await send(bot, L.text("やめる"))
    assert "ここまで" in last_texts(fake_line)[0]
    assert tickets(bot) == []


async def test_every_event_of_the_sample_file_is_accepted(bot: Bot, fake_line: FakeLine) -> None:
    """LINE's own sample (28 events of every type). With distinct ids, each one-to-one message gets an answer."""
    raw = json.loads(SAMPLES.read_text(encoding="utf-8"))
    body = SAMPLES.read_bytes()
    r = await bot.post(body, L.sign(body))
    assert r.status_code == 200
    await bot.settle()
    for i, e in enumerate(raw["events"]):
        e["webhookEventId"] = f"sample{i:02d}"
    body = json.dumps(raw).encode()
    r = await bot.post(body, L.sign(body))
    assert r.status_code == 200
    await bot.settle()
    answered = [
        e
        for e in raw["events"]
        if e["source"]["type"] == "user" and e["type"] in ("message", "postback", "follow")
    ]
    sent = fake_line.calls(PUSH, ok=True) + fake_line.calls(REPLY, ok=True)
    # same user, same stale timestamps: every answer was pushed
    assert len(sent) >= len(answered) - 1
    assert all(r.json["messages"] for r in sent)


@pytest.mark.parametrize("data", ["action=buyItem&itemId=123123&color=red", "x" * 300, "cmd:unknown"])
async def test_unknown_postbacks_get_the_current_question(bot: Bot, fake_line: FakeLine, data: str) -> None:
    await send(bot, L.postback(data))
    assert last_texts(fake_line)


async def test_a_failure_inside_still_answers_and_keeps_the_message(
    bot: Bot, fake_line: FakeLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "step", broken)
    await send(bot, L.text("助けてください"))
    assert "すみません" in last_texts(fake_line)[0] and "0761-00-0005" in last_texts(fake_line)[0]
    with session_scope(bot.res.sessions) as s:
        kept = [(m.direction, m.text) for m in s.scalars(select(Message).order_by(Message.id))]
    assert kept[0] == ("in", "助けてください")
    assert kept[1][0] == "out" and "すみません" in (kept[1][1] or "")


async def test_after_a_long_pause_the_resident_is_asked_to_continue(bot: Bot, fake_line: FakeLine) -> None:
    import time

    await send(bot, L.postback("topic:介護", at=time.time() - 3600))
    await send(bot, L.text("はい"))
    texts = last_texts(fake_line)
    assert any("続きから" in t or "おかえりなさい" in t for t in texts)
    assert [label for label, _ in last_quick(fake_line)] == ["続きから", "最初から"]
    await send(bot, L.postback("continue"))
    assert "合っていますか" in last_texts(fake_line)[-1]
