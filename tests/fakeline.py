"""A fake LINE Messaging API on loopback, for tests and benchmarks.

It answers the calls the bot makes (reply, push, loading animation, profile) the way LINE does, checks the limits
LINE enforces (1-5 messages, text <= 5,000 UTF-16 units, quick-reply label <= 20 characters, <= 13 items, single-use
reply tokens, ``X-Line-Retry-Key`` answered 409 on a repeat), records every request, and can be told to fail.

Usage (in a test module or conftest)::

    from fakeline import FakeLine, fake_line  # noqa: F401  (``fake_line`` is a pytest fixture)

    def test_reply_reaches_line(fake_line: FakeLine) -> None:
        settings = Settings(line_api_base_url=fake_line.base_url, ...)
        ...
        req = fake_line.wait_for("/v2/bot/message/push")   # blocks until it arrives (default 5 s)
        assert req.json["to"] == "U..."
        assert req.headers["x-line-retry-key"]

    fake_line.fail_next(500)                 # the next call (any path) answers 500
    fake_line.fail_next(429, times=3, path="/v2/bot/message/push")
    fake_line.expire_reply_tokens = True     # every reply token is answered 400 "Invalid reply token"
    fake_line.requests                       # list[Recorded], in arrival order
    fake_line.messages_sent()                # every message object sent by reply or push, in order
    fake_line.clear()

``FakeLine()`` can also be used as a context manager or started with ``.start()`` / stopped with ``.stop()``.
Runs in a background thread, so it serves sync tests, async tests and app subprocesses alike.
Point the app at it with ``LINE_API_BASE_URL=fake.base_url`` (and ``NO_PROXY=127.0.0.1``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
LOADING = "/v2/bot/chat/loading/start"
PROFILE = "/v2/bot/profile/"

MAX_TEXT_UTF16 = 5000
MAX_LABEL = 20
MAX_QUICK_REPLY_ITEMS = 13
MAX_MESSAGES = 5


@dataclass
class Recorded:
    """One request the fake received, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Failure:
    status: int
    times: int
    path: str | None
    body: dict[str, Any]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_messages(messages: Any) -> str | None:
    """LINE's own checks on a list of message objects: the error message, or None when they are fine."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return "Size must be between 1 and 5"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "type" not in m:
            return f"messages[{i}].type: must be specified"
        if m["type"] == "text":
            text = m.get("text")
            if not isinstance(text, str) or not text:
                return f"messages[{i}].text: must be specified"
            if utf16_len(text) > MAX_TEXT_UTF16:
                return f"messages[{i}].text: Length must be between 0 and 5000"
        qr = m.get("quickReply")
        if qr is not None:
            items = qr.get("items", [])
            if not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
                return f"messages[{i}].quickReply.items: Size must be between 1 and 13"
            for j, item in enumerate(items):
                label = item.get("action", {}).get("label")
                if label is not None and len(label) > MAX_LABEL:
                    return f"messages[{i}].quickReply.items[{j}].action.label: Length must be at most 20"
                data = item.get("action", {}).get("data")
                if data is not None and len(data) > 300:
                    return f"messages[{i}].quickReply.items[{j}].action.data: Length must be at most 300"
    return None


class FakeLine:
    """The fake server. Thread-safe: the app talks to it from its own loop or process, tests read it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.expire_reply_tokens = False
        # Seconds the fake waits before answering (to simulate a slow LINE).
        self.delay = 0.0
        self._failures: list[_Failure] = []
        self._used_reply_tokens: set[str] = set()
        self._retry_keys: set[str] = set()
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeLine:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakeline", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ---------------------------------------------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, *, path: str | None = None) -> None:
        """Answer the next ``times`` requests (to ``path`` only, when given) with ``status``."""
        if status == 429:
            body = {"message": "You have reached your monthly limit."}
        elif status >= 500:
            body = {"message": "Internal server error"}
        else:
            body = {"message": "Error"}
        with self._cond:
            self._failures.append(_Failure(status, times, path, body))

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()
            self._failures.clear()

    # -- reading ---------------------------------------------------------------------------------------------
    def calls(self, path: str | None = None, *, ok: bool | None = None) -> list[Recorded]:
        """Requests (to ``path``, when given; only 2xx ones when ``ok``), in arrival order."""
        with self._cond:
            found = [r for r in self.requests if path is None or r.path.startswith(path)]
        if ok is not None:
            found = [r for r in found if (200 <= r.status < 300) == ok]
        return found

    def messages_sent(self, to: str | None = None) -> list[dict[str, Any]]:
        """Message objects LINE accepted (reply or push), in order. ``to`` filters pushes by user id."""
        out: list[dict[str, Any]] = []
        for r in self.calls(ok=True):
            if r.path == REPLY or (r.path == PUSH and (to is None or r.json.get("to") == to)):
                out.extend(r.json["messages"])
        return out

    def texts_sent(self) -> list[str]:
        return [m["text"] for m in self.messages_sent() if m.get("type") == "text"]

    def wait_for(
        self,
        path: str | None = None,
        count: int = 1,
        *,
        timeout: float = 5.0,
        where: Callable[[Recorded], bool] | None = None,
    ) -> Recorded:
        """Wait until ``count`` answered requests (to ``path``, matching ``where``) exist; return the last one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    r
                    for r in self.requests
                    if r.status and (path is None or r.path.startswith(path)) and (where is None or where(r))
                ]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"fake LINE: {len(found)} of {count} request(s) to {path or 'any path'} within {timeout} s"
                    )
                self._cond.wait(left)

    # -- serving ---------------------------------------------------------------------------------------------
    def _answer(self, rec: Recorded) -> tuple[int, dict[str, Any]]:
        with self._cond:
            for failure in self._failures:
                if failure.path is None or rec.path.startswith(failure.path):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure.status, failure.body
        if not rec.headers.get("authorization", "").startswith("Bearer "):
            return 401, {
                "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
            }
        if rec.method == "GET" and rec.path.startswith(PROFILE):
            user_id = rec.path[len(PROFILE) :]
            return 200, {"userId": user_id, "displayName": "テスト", "language": "ja"}
        if rec.method != "POST":
            return 404, {"message": "Not found"}
        try:
            body = rec.json
        except ValueError:
            return 400, {"message": "The request body has 1 error(s)"}
        if rec.path == LOADING:
            seconds = body.get("loadingSeconds", 20)
            if not isinstance(seconds, int) or seconds % 5 or not 5 <= seconds <= 60:
                return 400, {"message": "loadingSeconds: must be a multiple of 5 between 5 and 60"}
            return 202, {}
        if rec.path in (REPLY, PUSH):
            problem = check_messages(body.get("messages"))
            if problem:
                return 400, {"message": "The request body has 1 error(s)", "details": [{"message": problem}]}
            if rec.path == REPLY:
                token = body.get("replyToken", "")
                with self._cond:
                    if self.expire_reply_tokens or not token or token in self._used_reply_tokens:
                        return 400, {"message": "Invalid reply token"}
                    self._used_reply_tokens.add(token)
            else:
                key = rec.headers.get("x-line-retry-key")
                if key:
                    with self._cond:
                        if key in self._retry_keys:
                            return 409, {"message": "The retry key is already accepted"}
                        self._retry_keys.add(key)
            sent = [
                {"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in body["messages"]
            ]
            return 200, {"sentMessages": sent}
        return 404, {"message": "Not found"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(
                    method=self.command,
                    path=self.path.split("?", 1)[0],
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                if fake.delay:
                    time.sleep(fake.delay)
                status, answer = fake._answer(rec)
                # Recorded before answering: once the client has its answer, the test can see the request.
                with fake._cond:
                    rec.status = status
                    fake.requests.append(rec)
                    fake._cond.notify_all()
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("x-line-request-id", uuid.uuid4().hex)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

        return Handler


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    """A running fake LINE Messaging API; ``fake_line.base_url`` is what ``LINE_API_BASE_URL`` should be."""
    with FakeLine() as fake:
        yield fake
