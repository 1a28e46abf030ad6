"""Staff accounts: argon2 password hashes, the windows each account serves, and API tokens.

Used by the desk's login, its admin page and ``intake staff add`` / ``intake staff token``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.db import utcnow
from routing.models import ApiToken, Role, StaffUser, StaffWindow

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "itk_"

_hasher = PasswordHasher()
# Verified against when the login is unknown, so that a wrong login costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A staff account could not be created: ``message`` says why (shown on the desk and by the CLI)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_account(
    *, login: str, password: str, window_ids: Sequence[str], valid_windows: Sequence[str]
) -> None:
    if not LOGIN_PATTERN.match(login):
        raise AccountError("ログインIDは英数字と . _ @ - で3〜64文字にしてください。")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"パスワードは{MIN_PASSWORD}文字以上にしてください。")
    if not window_ids:
        raise AccountError("窓口を1つ以上選んでください。")
    unknown = [w for w in window_ids if w not in valid_windows]
    if unknown:
        raise AccountError(
            f"窓口 {', '.join(unknown)} はこのパックにありません。使える窓口ID: {', '.join(valid_windows)}"
        )


def create_staff(
    session: Session,
    *,
    login: str,
    password: str,
    window_ids: Sequence[str],
    valid_windows: Sequence[str],
    pack: str,
    role: Role = Role.STAFF,
    display_name: str | None = None,
) -> StaffUser:
    """A new staff account; refuses a bad login, a short password, an unknown window or a taken login."""
    validate_new_account(login=login, password=password, window_ids=window_ids, valid_windows=valid_windows)
    if session.scalars(select(StaffUser.id).where(StaffUser.login == login)).first() is not None:
        raise AccountError(f"ログインID {login} はすでに使われています。")
    staff = StaffUser(
        login=login,
        display_name=(display_name or "").strip() or None,
        password_hash=hash_password(password),
        role=role,
        pack=pack,
        active=True,
    )
    staff.windows = [StaffWindow(window_id=w) for w in dict.fromkeys(window_ids)]
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, login: str, password: str) -> StaffUser | None:
    """The active account whose password matches, or None. Takes the same time for an unknown login."""
    staff = session.scalars(select(StaffUser).where(StaffUser.login == login)).one_or_none()
    if staff is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(staff.password_hash, password) or not staff.active:
        return None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    return staff


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(session: Session, *, staff_id: int, label: str | None = None) -> str:
    """A new API token for ``/api/v1``; only its SHA-256 is stored, so it is shown once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(staff_id=staff_id, token_hash=_token_hash(raw), label=label))
    session.flush()
    return raw


@dataclass(frozen=True)
class TokenOwner:
    staff: StaffUser
    token_id: int


def staff_for_token(session: Session, raw: str) -> TokenOwner | None:
    """The active account behind a bearer token (revoked tokens and inactive accounts give None)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
        return None
    digest = _token_hash(raw)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one_or_none()
    if token is None or token.revoked or not hmac.compare_digest(token.token_hash, digest):
        return None
    staff = session.get(StaffUser, token.staff_id)
    if staff is None or not staff.active:
        return None
    token.last_used_at = utcnow()
    return TokenOwner(staff=staff, token_id=token.id)
