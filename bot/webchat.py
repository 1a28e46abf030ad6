"""The local web chat at ``/``: the same intake dialog without a LINE account (``make run``, then a browser).

A signed, HttpOnly, SameSite cookie names the chat instead of a LINE user id. Pages are rendered on the server
(plain HTML forms work without JavaScript); ``chat.js`` only sends the forms with ``fetch`` and appends bubbles.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from bot import engine, flows
from bot.flows import Inbound
from intake.app import Resources, get_resources
from intake.db import run_db
from routing import transcript

log = logging.getLogger("bot.webchat")

WEB = Path(__file__).resolve().parent / "web"
templates = Jinja2Templates(directory=str(WEB / "templates"))
STATIC = {"chat.css": "text/css", "chat.js": "text/javascript"}
COOKIE = "intake_chat"
MAX_TEXT = 2000
COOKIE_MAX_AGE = 7 * 24 * 3600

router = APIRouter(tags=["web chat"])


def _sign(res: Resources, sid: str) -> str:
    return hmac.new(flows.secret(res), f"webchat:{sid}".encode(), hashlib.sha256).hexdigest()[:32]


def _session_id(request: Request, res: Resources) -> str | None:
    raw = request.cookies.get(COOKIE, "")
    sid, _, sig = raw.partition(".")
    if sid and sig and hmac.compare_digest(_sign(res, sid), sig):
        return sid
    return None


def _set_cookie(response: Response, request: Request, res: Resources, sid: str) -> None:
    response.set_cookie(
        COOKIE,
        f"{sid}.{_sign(res, sid)}",
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def _bubbles(rows: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The conversation as chat bubbles, and the quick replies of the bot's last message."""
    bubbles: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    quick: list[dict[str, str]] = []
    for m in rows:
        if m.direction == "out":
            quick = list((m.payload or {}).get("quick_replies", []))
            labels.update({q["value"]: q["label"] for q in quick})
            bubbles.append({"side": "bot", "text": m.text or ""})
        elif m.kind == "postback":
            value = (m.payload or {}).get("data", "")
            bubbles.append({"side": "me", "text": labels.get(value, value)})
        elif m.text:
            bubbles.append({"side": "me", "text": m.text})
    if rows and rows[-1].direction != "out":
        quick = []
    return bubbles, quick


async def _conversation(res: Resources, state: engine.SessionState | None) -> list[Any]:
    if state is None or state.conversation_id is None:
        return []
    cid = state.conversation_id

    def read(session: Session) -> list[Any]:
        return transcript.conversation_messages(session, conversation_id=cid)

    return await run_db(res.sessions, read)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request) -> Response:
    res = get_resources(request)
    sid = _session_id(request, res)
    new = sid is None
    if sid is None:
        sid = secrets.token_urlsafe(24)
    try:
        state = await flows.web_state(res, sid)
        if state is None:
            await flows.handle_web(res, sid, engine.Follow(_now()), None)
            state = await flows.web_state(res, sid)
        rows = await _conversation(res, state)
    except flows.KnowledgeUnavailable:
        return HTMLResponse("<p>knowledge pack not loaded</p>", status_code=503)
    bubbles, quick = _bubbles(rows)
    response = templates.TemplateResponse(
        request,
        "chat.html",
        {"bubbles": bubbles, "quick": quick, "city": flows.current_knowledge(res).pack.municipality.name},
    )
    response.headers["Cache-Control"] = "no-store"
    if new:
        _set_cookie(response, request, res, sid)
    return response


async def _handle(
    request: Request, text: str | None, choice: str | None
) -> tuple[str, flows.TurnResult | None]:
    res = get_resources(request)
    sid = _session_id(request, res) or secrets.token_urlsafe(24)
    event: engine.Event
    if choice:
        event, inbound = (
            engine.Pick(choice[:300], _now()),
            Inbound("postback", payload={"data": choice[:300]}),
        )
    elif text and text.strip():
        clipped = text.strip()[:MAX_TEXT]
        event, inbound = engine.Text(clipped, _now()), Inbound("text", text=clipped)
    else:
        return sid, None
    try:
        return sid, await flows.handle_web(res, sid, event, inbound)
    except flows.KnowledgeUnavailable:
        raise
    except Exception:
        log.exception("web chat turn failed")
        return sid, flows.TurnResult(replies=[flows.error_reply(res)])


@router.post("/chat", include_in_schema=False)
async def chat_post(request: Request) -> Response:
    form = await request.form()
    text, choice = form.get("text"), form.get("choice")
    sid, _ = await _handle(
        request, text if isinstance(text, str) else None, choice if isinstance(choice, str) else None
    )
    response = RedirectResponse("/#end", status_code=303)
    _set_cookie(response, request, get_resources(request), sid)
    return response


@router.post("/chat/api", include_in_schema=False)
async def chat_api(request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"detail": "JSON body expected"}, status_code=400)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "JSON object expected"}, status_code=400)
    text, choice = body.get("text"), body.get("choice")
    sid, result = await _handle(
        request, text if isinstance(text, str) else None, choice if isinstance(choice, str) else None
    )
    replies = result.replies if result else []
    response = JSONResponse(
        {
            "replies": [
                {
                    "text": r.text,
                    "quick_replies": [{"label": q.label, "value": q.value} for q in r.quick_replies],
                }
                for r in replies
            ],
            "tickets": result.ticket_numbers if result else [],
        }
    )
    _set_cookie(response, request, get_resources(request), sid)
    return response


@router.get("/chat/static/{name}", include_in_schema=False)
async def chat_static(name: str) -> Response:
    if name not in STATIC:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return FileResponse(WEB / "static" / name, media_type=STATIC[name])


def _now() -> float:
    import time

    return time.time()
