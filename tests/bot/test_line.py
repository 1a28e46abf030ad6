"""The LINE adapter: webhook parsing of every event type LINE sends, and outgoing messages within LINE's limits."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import linehelp as L
import pytest
from fakeline import PUSH, FakeLine, check_messages

from bot.engine import QuickReply, Reply
from bot.line import BadPayload, BadSignature, parse_webhook, to_line_messages, utf16_len

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples" / "line-sdk-webhook.json"


def test_every_sample_event_parses_into_a_plain_event() -> None:
    body = SAMPLES.read_bytes()
    events = parse_webhook(body, L.sign(body), L.SECRET)
    raw = json.loads(body)["events"]
    assert len(events) == len(raw) == 28
    assert [e.type for e in events] == [r["type"] for r in raw]
    kinds = {e.kind for e in events if e.type == "message"}
    assert {"text", "image", "video", "audio", "location", "sticker", "file"} <= kinds
    text = next(e for e in events if e.kind == "text")
    assert text.user_id and text.reply_token and text.text and text.event_id == "testwebhookeventid"
    location = next(e for e in events if e.kind == "location")
    assert location.address and location.latitude is not None
    assert any(e.redelivery for e in events)
    assert (
        next(e for e in events if e.type == "undefined").source_type == "user"
    )  # unknown type: kept, ignored later
    assert {e.source_type for e in events} == {"user", "group", "room"}


def test_signature_is_checked_on_the_raw_bytes() -> None:
    body = L.payload(L.text("テスト"))
    spaced = body.replace(b'": "', b'":  "')  # same JSON, other bytes
    with pytest.raises(BadSignature):
        parse_webhook(spaced, L.sign(body), L.SECRET)
    with pytest.raises(BadSignature):
        parse_webhook(body, None, L.SECRET)
    with pytest.raises(BadPayload):
        parse_webhook(b"[1,2", L.sign(b"[1,2"), L.SECRET)


def test_outgoing_messages_fit_lines_limits() -> None:
    many = [Reply(f"第{i}") for i in range(8)]
    long = Reply(
        "😀" * 3000,
        tuple(QuickReply("とても長いラベルがここに書かれていて二十文字を超える", f"v{i}") for i in range(20)),
    )
    messages = to_line_messages([*many, long])
    assert len(messages) == 5
    assert all(utf16_len(m["text"]) <= 5000 for m in messages)
    items = messages[-1]["quickReply"]["items"]
    assert len(items) == 13 and all(len(i["action"]["label"]) <= 20 for i in items)
    assert "第7" in messages[-1]["text"]  # extra texts joined, not dropped
    assert check_messages(messages) is None  # what LINE itself checks


async def test_gateway_push_errors_are_classified(fake_line: FakeLine) -> None:
    from botharness import bot_settings

    from bot.line import LineGateway, LineSendError

    settings = bot_settings(Path(tempfile.mkdtemp()), fake_line)
    gateway = LineGateway(settings)
    try:
        messages = [{"type": "text", "text": "こんにちは"}]
        await gateway.push(L.USER, messages, retry_key="3f1e1c52-8d7b-4c0e-9d55-1a2b3c4d5e6f")
        await gateway.push(
            L.USER, messages, retry_key="3f1e1c52-8d7b-4c0e-9d55-1a2b3c4d5e6f"
        )  # 409: done already
        assert [r.status for r in fake_line.calls(PUSH)] == [200, 409]
        fake_line.fail_next(429, path=PUSH)
        with pytest.raises(LineSendError) as quota:
            await gateway.push(L.USER, messages, retry_key="4f1e1c52-8d7b-4c0e-9d55-1a2b3c4d5e6f")
        assert quota.value.status == 429 and quota.value.retryable
        fake_line.fail_next(400, path=PUSH)
        with pytest.raises(LineSendError) as bad:
            await gateway.push(L.USER, messages, retry_key="5f1e1c52-8d7b-4c0e-9d55-1a2b3c4d5e6f")
        assert not bad.value.retryable
        assert await gateway.reply("used-once", messages) is True
        assert await gateway.reply("used-once", messages) is False  # expired or used: the caller pushes
        fake_line.fail_next(500)
        await gateway.show_loading(L.USER, 7)  # never raises; rounds to LINE's 5-second steps
        await gateway.show_loading(L.USER, 7)
        loading = fake_line.calls("/v2/bot/chat/loading/start", ok=True)
        assert loading[-1].json == {"chatId": L.USER, "loadingSeconds": 5}
        assert all(r.headers["authorization"] == f"Bearer {L.TOKEN}" for r in fake_line.requests)
    finally:
        await gateway.close()
