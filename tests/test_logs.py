"""The log is JSON lines and never carries a resident's words, a LINE user id or a phone number."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from intake import logs

USER_ID = "U" + "4af4980629" * 3 + "ab"  # the shape of a LINE user id: U + 32 hex
TEXT = "母の物忘れがひどくて、夜も眠れません。どうしたらいいですか"
PHONE = "090-1234-5678"


def _record(msg: str, *args: Any, ctx: dict[str, Any] | None = None, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError(f"bad input {TEXT} from {USER_ID}")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("intake.test", logging.INFO, __file__, 1, msg, args or None, exc_info)
    if ctx is not None:
        record.ctx = ctx
    return record


def _format(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    return line, json.loads(line)


def _assert_clean(line: str) -> None:
    assert USER_ID not in line
    assert "物忘れ" not in line and "眠れません" not in line
    assert "1234-5678" not in line and "09012345678" not in line


def test_a_plain_event_with_ctx_is_one_json_object() -> None:
    _, entry = _format(_record("ticket created", ctx={"ticket": "261122-7KQ3", "fields": ["介護"], "ms": 12}))
    assert entry["event"] == "ticket created"
    assert entry["level"] == "info"
    assert entry["logger"] == "intake.test"
    assert entry["ts"].endswith("Z")
    assert entry["ticket"] == "261122-7KQ3"
    assert entry["fields"] == ["介護"]
    assert entry["ms"] == 12


def test_message_text_and_user_id_in_the_event_are_removed() -> None:
    line, entry = _format(_record(f"got {TEXT} from {USER_ID} tel {PHONE}"))
    _assert_clean(line)
    assert entry["event"].startswith("got [redacted] from [line-id] tel [phone]")


def test_percent_args_with_text_and_user_id_are_removed() -> None:
    line, entry = _format(_record("got %s from %s after %d tries", TEXT, USER_ID, 3))
    _assert_clean(line)
    assert entry["event"] == "got [redacted] from [line-id] after 3 tries"


def test_ascii_text_in_args_keeps_no_line_id() -> None:
    line, _ = _format(_record("event %(src)s", {"src": f"user {USER_ID}"}))
    assert USER_ID not in line


@pytest.mark.parametrize(
    "key",
    [
        "text",
        "message",
        "body",
        "message_text",
        "raw_text",
        "summary",
        "note",
        "reply",
        "transcript",
        "input",
    ],
)
def test_text_keys_in_ctx_are_redacted(key: str) -> None:
    line, entry = _format(_record("received", ctx={key: TEXT}))
    _assert_clean(line)
    assert entry[key] == "[redacted]"


@pytest.mark.parametrize(
    "key",
    ["user_id", "userId", "line_user_id", "to", "source", "phone", "contact_phone", "reply_token", "name"],
)
def test_identity_keys_in_ctx_are_redacted_whatever_the_value(key: str) -> None:
    line, entry = _format(_record("sent", ctx={key: USER_ID, "n": 1}))
    assert USER_ID not in line
    assert entry[key] == "[redacted]"
    assert entry["n"] == 1


def test_counts_about_text_are_kept() -> None:
    _, entry = _format(
        _record("received", ctx={"text_len": 27, "message_count": 3, "has_text": True, "tokens": 9})
    )
    assert entry["tokens"] == 9
    assert entry["text_len"] == 27
    assert entry["message_count"] == 3
    assert entry["has_text"] is True


def test_nested_ctx_is_cleaned() -> None:
    ctx = {
        "event": {"type": "message", "source": {"userId": USER_ID}, "message": {"text": TEXT}},
        "ids": [USER_ID, "ok"],
        "detail": f"from {USER_ID}",
        "free": TEXT,
    }
    line, entry = _format(_record("webhook", ctx=ctx))
    _assert_clean(line)
    assert entry["ids"] == ["[line-id]", "ok"]
    assert entry["detail"] == "from [line-id]"
    assert entry["free"] == "[redacted]"  # long Japanese under an innocent key


def test_ctx_cannot_overwrite_the_event() -> None:
    _, entry = _format(_record("ticket created", ctx={"event": "x", "level": "debug"}))
    assert entry["event"] == "ticket created"
    assert entry["level"] == "info"


def test_objects_in_ctx_show_only_their_type() -> None:
    class Secretive:
        def __repr__(self) -> str:
            return TEXT

    line, entry = _format(_record("x", ctx={"obj": Secretive(), "raw": TEXT.encode()}))
    _assert_clean(line)
    assert entry["obj"] == "<Secretive>"


def test_exception_is_logged_by_type_and_place_never_its_message() -> None:
    line, entry = _format(_record("failed", exc=True))
    _assert_clean(line)
    assert entry["exc_type"] == "ValueError"
    assert entry["exc_at"].endswith(".py:" + entry["exc_at"].rsplit(":", 1)[1])
    assert "bad input" not in line


def test_ticket_numbers_and_dates_are_not_taken_for_phone_numbers() -> None:
    _, entry = _format(_record("closed", ctx={"ticket": "261122-7KQ3", "day": "2026-11-22", "port": "8000"}))
    assert entry["ticket"] == "261122-7KQ3"
    assert entry["day"] == "2026-11-22"
    assert entry["port"] == "8000"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _configured(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restore_logging")
def test_configure_writes_json_to_stderr_and_turns_the_access_log_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure("INFO")
    logging.getLogger("intake.any").info("hello %s", TEXT, extra={"ctx": {"text": TEXT, "user_id": USER_ID}})
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /staff/tickets/261122-7KQ3 HTTP/1.1" 200')
    logging.getLogger("uvicorn.error").info("Uvicorn running on %s:%d", "127.0.0.1", 8000)
    logging.getLogger("intake.any").debug("not at INFO")
    lines = _configured(capsys)
    events = [e["event"] for e in lines]
    assert events == ["hello [redacted]", "Uvicorn running on 127.0.0.1:8000"]
    assert lines[0]["text"] == "[redacted]" and lines[0]["user_id"] == "[redacted]"
    # Configuring again does not add a second handler.
    logs.configure("WARNING")
    logging.getLogger("intake.any").warning("once")
    assert [e["event"] for e in _configured(capsys)] == ["once"]


def test_configure_refuses_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        logs.configure("LOUD")
