"""Everything that knows LINE: webhook parsing and the Messaging API client (the only module importing the SDK).

Messages travel through the rest of the product as plain dicts in LINE's JSON shape; events as :class:`LineEvent`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhooks import (
    AudioMessageContent,
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    VideoMessageContent,
)

from bot.engine import Reply
from intake.settings import Settings

log = logging.getLogger("bot.line")

MAX_TEXT_UTF16 = 5000
MAX_LABEL = 20
MAX_QUICK_REPLIES = 13
MAX_MESSAGES = 5
MAX_POSTBACK_DATA = 300


class BadSignature(Exception):
    """``X-Line-Signature`` is missing or does not match the body."""


class BadPayload(Exception):
    """The body is signed correctly but is not a webhook payload (not UTF-8 JSON with events)."""


class LineSendError(Exception):
    def __init__(self, status: int, retryable: bool) -> None:
        super().__init__(f"LINE answered {status}")
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class LineEvent:
    """A webhook event reduced to what the bot uses (no SDK types past this module)."""

    event_id: str
    type: str  # message, postback, follow, unfollow, or another LINE type the bot ignores
    timestamp_ms: int
    mode: str  # active | standby
    source_type: str  # user | group | room
    user_id: str | None
    reply_token: str | None
    redelivery: bool
    kind: str | None = None  # for messages: text, sticker, image, video, audio, file, location
    text: str | None = None
    quote_token: str | None = None
    postback_data: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    unblocked: bool = False

    @property
    def at(self) -> float:
        return self.timestamp_ms / 1000.0


def parse_webhook(body: bytes, signature: str | None, channel_secret: str) -> list[LineEvent]:
    """Verify the signature on the raw bytes, then parse; unknown event types become ``type`` only events."""
    if not signature:
        raise BadSignature("missing X-Line-Signature")
    expected = base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        raise BadSignature("signature does not match")
    try:
        text = body.decode("utf-8")
        # The signature is checked above on the raw bytes; the parser only parses.
        events = WebhookParser(channel_secret, skip_signature_verification=lambda: True).parse(
            text, signature
        )
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadPayload(type(exc).__name__) from exc
    if not isinstance(events, list):
        raise BadPayload("no events")
    return [_convert(e) for e in events]


def _convert(e: Any) -> LineEvent:
    source = getattr(e, "source", None)
    delivery = getattr(e, "delivery_context", None)
    mode = getattr(e, "mode", None)
    base: dict[str, Any] = {
        "event_id": str(getattr(e, "webhook_event_id", "") or ""),
        "type": str(getattr(e, "type", "") or "unknown"),
        "timestamp_ms": int(getattr(e, "timestamp", 0) or 0),
        "mode": str(getattr(mode, "value", mode) or "active"),
        "source_type": str(getattr(source, "type", "") or ""),
        "user_id": getattr(source, "user_id", None),
        "reply_token": getattr(e, "reply_token", None),
        "redelivery": bool(getattr(delivery, "is_redelivery", False)),
    }
    if isinstance(e, MessageEvent):
        m = e.message
        if isinstance(m, TextMessageContent):
            return LineEvent(**base, kind="text", text=m.text, quote_token=m.quote_token)
        if isinstance(m, LocationMessageContent):
            return LineEvent(
                **base, kind="location", address=m.address or "", latitude=m.latitude, longitude=m.longitude
            )
        kinds = {
            StickerMessageContent: "sticker",
            ImageMessageContent: "image",
            VideoMessageContent: "video",
            AudioMessageContent: "audio",
            FileMessageContent: "file",
        }
        kind = next((v for t, v in kinds.items() if isinstance(m, t)), str(getattr(m, "type", "other")))
        return LineEvent(**base, kind=kind)
    if isinstance(e, PostbackEvent):
        return LineEvent(**base, postback_data=e.postback.data)
    if isinstance(e, FollowEvent):
        follow = getattr(e, "follow", None)
        return LineEvent(**base, unblocked=bool(getattr(follow, "is_unblocked", False)))
    if isinstance(e, UnfollowEvent):
        return LineEvent(**base)
    return LineEvent(**base)


# ---------------------------------------------------------------------------------------------------------------
# Outgoing messages


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip_utf16(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    out = []
    used = 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    return "".join(out) + "…"


def to_line_messages(replies: Sequence[Reply]) -> list[dict[str, Any]]:
    """LINE message objects within LINE's limits: <= 5 messages (extra texts joined into the last), texts <= 5,000
    UTF-16 units, <= 13 quick replies with labels <= 20 characters (attached to the last message)."""
    texts = [r.text for r in replies if r.text]
    quick = next((r.quick_replies for r in reversed(replies) if r.quick_replies), ())
    if len(texts) > MAX_MESSAGES:
        texts = [*texts[: MAX_MESSAGES - 1], "\n\n".join(texts[MAX_MESSAGES - 1 :])]
    messages: list[dict[str, Any]] = [{"type": "text", "text": clip_utf16(t, MAX_TEXT_UTF16)} for t in texts]
    if messages and quick:
        messages[-1]["quickReply"] = {
            "items": [
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": q.label[:MAX_LABEL],
                        "data": q.value[:MAX_POSTBACK_DATA],
                        "displayText": q.label,
                    },
                }
                for q in quick[:MAX_QUICK_REPLIES]
            ]
        }
    return messages


class LineGateway:
    """The Messaging API, with a timeout on every call. Create inside the running event loop; close on shutdown."""

    def __init__(self, settings: Settings) -> None:
        token = settings.line_channel_access_token
        config = Configuration(
            host=settings.line_api_base_url,
            access_token=token.get_secret_value() if token else None,
        )
        self._client = AsyncApiClient(config)
        self._api = AsyncMessagingApi(self._client)
        self._timeout = settings.line_request_timeout

    async def close(self) -> None:
        await self._client.close()

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> bool:
        """True when LINE took the reply; False when the token had expired or the call failed (then push)."""
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        started = time.monotonic()
        try:
            await self._api.reply_message(request, _request_timeout=self._timeout)
        except ApiException as exc:
            log.warning("reply refused", extra={"ctx": {"status": exc.status}})
            return False
        except (TimeoutError, OSError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            log.warning("reply failed", extra={"ctx": {"error": type(exc).__name__}})
            return False
        except Exception as exc:  # aiohttp client errors
            log.warning("reply failed", extra={"ctx": {"error": type(exc).__name__}})
            return False
        log.info(
            "replied", extra={"ctx": {"n": len(messages), "ms": round((time.monotonic() - started) * 1000)}}
        )
        return True

    async def push(self, to: str, messages: list[dict[str, Any]], *, retry_key: str) -> None:
        """Push with ``X-Line-Retry-Key`` (the same key on every attempt: LINE delivers once). 409 = already sent."""
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        try:
            await self._api.push_message(request, x_line_retry_key=retry_key, _request_timeout=self._timeout)
        except ApiException as exc:
            status = int(exc.status or 0)
            if status == 409:
                return  # accepted earlier with this retry key
            # 429: rate limit or the monthly quota; 5xx: LINE's side. 4xx otherwise: our request is wrong.
            raise LineSendError(status, retryable=status == 429 or status >= 500) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise LineSendError(0, retryable=True) from exc

    async def show_loading(self, chat_id: str, seconds: int = 5) -> None:
        """The loading animation in a one-to-one chat (5-60 s, a multiple of 5). Never raises."""
        seconds = min(60, max(5, 5 * round(seconds / 5)))
        try:
            await self._api.show_loading_animation(
                ShowLoadingAnimationRequest(chatId=chat_id, loadingSeconds=seconds),
                _request_timeout=self._timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("loading animation not shown", extra={"ctx": {"error": type(exc).__name__}})
