"""The fake LINE API behaves like LINE where the bot depends on it (the tests of the bot trust it)."""

from __future__ import annotations

import httpx
import pytest
from fakeline import FakeLine, check_messages


def _post(fake: FakeLine, path: str, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(
        fake.base_url + path, json=body, headers={"Authorization": "Bearer t", **headers}, timeout=5
    )


def test_reply_token_is_single_use(fake_line: FakeLine) -> None:
    body = {"replyToken": "r1", "messages": [{"type": "text", "text": "こんにちは"}]}
    assert _post(fake_line, "/v2/bot/message/reply", body).status_code == 200
    again = _post(fake_line, "/v2/bot/message/reply", body)
    assert again.status_code == 400
    assert again.json()["message"] == "Invalid reply token"
    assert fake_line.texts_sent() == ["こんにちは"]


def test_push_retry_key_repeat_is_409(fake_line: FakeLine) -> None:
    body = {"to": "U" + "0" * 32, "messages": [{"type": "text", "text": "a"}]}
    assert _post(fake_line, "/v2/bot/message/push", body, **{"X-Line-Retry-Key": "k"}).status_code == 200
    assert _post(fake_line, "/v2/bot/message/push", body, **{"X-Line-Retry-Key": "k"}).status_code == 409
    assert len(fake_line.messages_sent()) == 1


def test_fail_next_counts_down_and_filters_by_path(fake_line: FakeLine) -> None:
    fake_line.fail_next(429, times=2, path="/v2/bot/message/push")
    push = {"to": "U1", "messages": [{"type": "text", "text": "a"}]}
    assert (
        _post(fake_line, "/v2/bot/chat/loading/start", {"chatId": "U1", "loadingSeconds": 5}).status_code
        == 202
    )
    assert _post(fake_line, "/v2/bot/message/push", push).status_code == 429
    assert _post(fake_line, "/v2/bot/message/push", push).status_code == 429
    assert _post(fake_line, "/v2/bot/message/push", push).status_code == 200
    assert [r.status for r in fake_line.calls("/v2/bot/message/push")] == [429, 429, 200]


def test_missing_token_is_401(fake_line: FakeLine) -> None:
    r = httpx.post(fake_line.base_url + "/v2/bot/message/push", json={}, timeout=5)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([], "Size"),
        ([{"type": "text", "text": "x"}] * 6, "Size"),
        ([{"type": "text", "text": "あ" * 5001}], "5000"),
        ([{"type": "text", "text": "🙂" * 2501}], "5000"),  # surrogate pairs count twice
        (
            [
                {
                    "type": "text",
                    "text": "x",
                    "quickReply": {
                        "items": [
                            {"type": "action", "action": {"type": "message", "label": "あ" * 21, "text": "a"}}
                        ]
                    },
                }
            ],
            "label",
        ),
    ],
)
def test_limits_are_enforced(messages: list[dict[str, object]], problem: str) -> None:
    found = check_messages(messages)
    assert found is not None and problem in found
    assert check_messages([{"type": "text", "text": "🙂" * 2500}]) is None


def test_wait_for_times_out_with_a_clear_message(fake_line: FakeLine) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        fake_line.wait_for("/v2/bot/message/reply", timeout=0.1)
