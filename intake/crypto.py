"""Keys for personal data: LINE user ids are stored as a keyed hash (lookup) and encrypted (to push replies)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from intake.settings import Settings

SECRET_FILE = Path("var/secret.key")


def secret_key(settings: Settings) -> bytes:
    """``INTAKE_SECRET_KEY``, or a random key kept in ``var/secret.key`` (created on first use, mode 600)."""
    if settings.intake_secret_key is not None:
        return settings.intake_secret_key.get_secret_value().encode()
    if SECRET_FILE.exists():
        return SECRET_FILE.read_bytes().strip()
    SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48).encode()
    SECRET_FILE.touch(mode=0o600)
    SECRET_FILE.write_bytes(key)
    return key


def _derive(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, purpose.encode(), hashlib.sha256).digest()


def subject_hash(key: bytes, channel: str, subject: str) -> str:
    """A stable pseudonym for a LINE user id or web-chat session (HMAC-SHA256, hex)."""
    return hmac.new(_derive(key, "subject"), f"{channel}:{subject}".encode(), hashlib.sha256).hexdigest()


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(key, "encrypt")))


def encrypt(key: bytes, value: str) -> str:
    return _fernet(key).encrypt(value.encode()).decode()


def decrypt(key: bytes, token: str) -> str | None:
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
