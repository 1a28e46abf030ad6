"""Structured (JSON lines) logging that never carries 相談内容 or LINE user ids.

Callers log events with identifiers that are safe to show (ticket numbers, hashed ids, counts, durations)
through ``extra={"ctx": {...}}``. Keys that could carry personal data are dropped by :class:`RedactingFilter`
whatever a caller passes, and LINE user ids (``U`` + 32 hex) are masked in every string.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

# Keys whose values are never written to the log: message text and user identifiers.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "message",
        "body",
        "user_id",
        "userId",
        "line_user_id",
        "reply_token",
        "replyToken",
        "password",
        "phone",
        "name",
        "transcript",
        "content",
    }
)
_LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")


def mask(value: str) -> str:
    """Mask LINE user, group and room ids inside a string."""
    return _LINE_ID.sub("[line-id]", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in SENSITIVE_KEYS else _clean(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": mask(record.getMessage()),
        }
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict):
            entry.update(_clean(ctx))
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened; never its message, which may quote input.
            exc_type = record.exc_info[0]
            entry["exc_type"] = exc_type.__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                entry["exc_at"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """Install the JSON formatter on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_intake", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._intake = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Access logs would carry query strings and paths with ids: keep uvicorn's access log off.
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
