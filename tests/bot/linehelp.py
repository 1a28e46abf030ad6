"""Webhook payloads shaped as LINE sends them, signed with the channel secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

SECRET = "test-channel-secret"
TOKEN = "test-channel-token"
USER = "U" + "1" * 32
DESTINATION = "U" + "f" * 32


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def payload(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": DESTINATION, "events": list(events)}, ensure_ascii=False).encode()


def _base(
    kind: str, user: str, *, mode: str = "active", at: float | None = None, reply: bool = True
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "type": kind,
        "mode": mode,
        "timestamp": int((at if at is not None else time.time()) * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": "01" + uuid.uuid4().hex[:24].upper(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply and mode == "active":
        e["replyToken"] = uuid.uuid4().hex
    return e


def text(t: str, user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("message", user, **kw)
    e["message"] = {
        "type": "text",
        "id": str(uuid.uuid4().int)[:18],
        "quoteToken": uuid.uuid4().hex,
        "text": t,
    }
    return e


def postback(data: str, user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("postback", user, **kw)
    e["postback"] = {"data": data}
    return e


def follow(user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("follow", user, **kw)
    e["follow"] = {"isUnblocked": False}
    return e


def unfollow(user: str = USER, **kw: Any) -> dict[str, Any]:
    return _base("unfollow", user, reply=False, **kw)


def sticker(user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("message", user, **kw)
    e["message"] = {
        "type": "sticker",
        "id": str(uuid.uuid4().int)[:18],
        "quoteToken": uuid.uuid4().hex,
        "packageId": "446",
        "stickerId": "1988",
        "stickerResourceType": "STATIC",
    }
    return e


def media(kind: str, user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("message", user, **kw)
    e["message"] = {"type": kind, "id": str(uuid.uuid4().int)[:18], "contentProvider": {"type": "line"}}
    if kind in ("image", "video"):
        e["message"]["quoteToken"] = uuid.uuid4().hex
    if kind in ("audio", "video"):
        e["message"]["duration"] = 3000
    return e


def location(address: str, user: str = USER, **kw: Any) -> dict[str, Any]:
    e = _base("message", user, **kw)
    e["message"] = {
        "type": "location",
        "id": str(uuid.uuid4().int)[:18],
        "title": "現在地",
        "address": address,
        "latitude": 36.45,
        "longitude": 136.5,
    }
    return e
