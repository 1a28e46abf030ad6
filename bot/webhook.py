"""``POST /callback``: LINE's webhook. Verify, answer 200 at once, and do the work alongside (``bot.flows``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot import flows
from bot.line import BadPayload, BadSignature, parse_webhook
from intake.app import get_resources

log = logging.getLogger("bot.webhook")

MAX_BODY = 1024 * 1024  # 1 MB: LINE's own requests are far smaller

router = APIRouter(tags=["line"])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


@router.post("/callback")
async def callback(request: Request) -> JSONResponse:
    res = get_resources(request)
    secret = res.settings.line_channel_secret
    if secret is None or res.settings.line_channel_access_token is None or res.line is None:
        return _error(
            503, "LINE is not configured: set LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN, then restart"
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY:
                return _error(413, "request body over 1 MB")
        except ValueError:
            return _error(400, "invalid Content-Length")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return _error(413, "request body over 1 MB")
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        events = parse_webhook(body, request.headers.get("x-line-signature"), secret.get_secret_value())
    except BadSignature:
        log.warning("webhook refused: bad signature", extra={"ctx": {"bytes": size}})
        return _error(400, "invalid signature")
    except BadPayload:
        log.warning("webhook refused: not a webhook payload", extra={"ctx": {"bytes": size}})
        return _error(400, "malformed webhook body")
    if events:
        res.spawn(flows.handle_line_events(res, events), name="line-events")
    return JSONResponse({})
