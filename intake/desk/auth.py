"""Desk sessions: an opaque cookie pointing at a session in the store, a CSRF token per session, login throttling.

- The cookie holds 32 random bytes; the store key is their SHA-256 (``desk:sess:<hash>``), so a store dump does not
  hand out live sessions. Cookies are HttpOnly and SameSite=Lax, and Secure when the desk is served over https.
- A session ends after ``INTAKE_STAFF_SESSION_TTL`` seconds without activity and after :data:`MAX_AGE` in any case.
- Every form POST carries the session's CSRF token; the login form, which comes before any session, uses a
  double-submit cookie. Tokens are compared in constant time.
- Login attempts are counted per login (``throttle:login:<login>``) and per client address; past the limit the
  password is not even checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from intake.app import Resources

COOKIE = "intake_staff"
LOGIN_CSRF_COOKIE = "intake_login_csrf"
SESSION_PREFIX = "desk:sess:"
MAX_AGE = 12 * 3600  # absolute lifetime of a desk session
LOGIN_WINDOW = 15 * 60  # seconds the login counters live
LOGIN_LIMIT = 5  # attempts per login per window
ADDRESS_LIMIT = 30  # attempts per client address per window


@dataclass(frozen=True)
class DeskSession:
    key: str
    staff_id: int
    login: str
    csrf: str
    created: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/staff",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/staff", httponly=True, samesite="lax", secure=is_https(request))


async def start_session(
    res: Resources, response: Response, request: Request, *, staff_id: int, login: str
) -> None:
    """A fresh session (never reuse a token from before the login: no session fixation)."""
    old = request.cookies.get(COOKIE)
    if old:
        await res.store.delete(SESSION_PREFIX + _digest(old))
    token = secrets.token_urlsafe(32)
    value: dict[str, Any] = {
        "staff_id": staff_id,
        "login": login,
        "csrf": secrets.token_urlsafe(32),
        "created": time.time(),
    }
    await res.store.put(SESSION_PREFIX + _digest(token), value, ttl=res.settings.intake_staff_session_ttl)
    set_cookie(response, request, COOKIE, token, max_age=MAX_AGE)


async def load_session(res: Resources, request: Request) -> DeskSession | None:
    """The live session behind the request's cookie (its idle timer restarted), or None."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    key = SESSION_PREFIX + _digest(token)
    value = await res.store.get(key)
    if value is None:
        return None
    created = float(value.get("created", 0))
    if time.time() - created > MAX_AGE:
        await res.store.delete(key)
        return None
    await res.store.put(key, value, ttl=res.settings.intake_staff_session_ttl)
    return DeskSession(
        key=key,
        staff_id=int(value["staff_id"]),
        login=str(value["login"]),
        csrf=str(value["csrf"]),
        created=created,
    )


def had_cookie(request: Request) -> bool:
    return bool(request.cookies.get(COOKIE))


async def end_session(
    res: Resources, session: DeskSession | None, response: Response, request: Request
) -> None:
    if session is not None:
        await res.store.delete(session.key)
    clear_cookie(response, request, COOKIE)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_allowed(res: Resources, request: Request, login: str) -> bool:
    """Count this attempt; False when this login or this address has tried too often lately."""
    per_login = await res.store.incr(f"throttle:login:{login.lower()[:64]}", ttl=LOGIN_WINDOW)
    per_address = await res.store.incr(f"throttle:login-ip:{client_address(request)}", ttl=LOGIN_WINDOW)
    return per_login <= LOGIN_LIMIT and per_address <= ADDRESS_LIMIT


async def login_succeeded(res: Resources, login: str) -> None:
    await res.store.delete(f"throttle:login:{login.lower()[:64]}")
