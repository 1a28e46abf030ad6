"""Structured (JSON lines) logging that never carries 相談内容 or LINE user ids.

Log an event name in English and put what helps operators in ``extra={"ctx": {...}}``: ticket numbers, hashed
ids, counts, durations. Whatever a caller passes, the formatter makes sure that:

- LINE user, group and room ids (``U``/``C``/``R`` + 32 hex) and phone numbers are masked in every string;
- the event text keeps only ASCII: Japanese (a resident's words) put into the message by an f-string or ``%s`` is
  replaced by ``[redacted]``;
- ``ctx`` keys that name message text, identities or secrets (``text``, ``body``, ``user_id``, ``phone``,
  ``token``…) are redacted unless the value is a number or a flag (``text_len: 12`` stays), and long non-ASCII
  strings are redacted under any key (field names such as 介護 stay);
- an exception is logged as its type and where it was raised, never its message (which may quote input).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

REDACTED = "[redacted]"

# ctx keys (matched as substrings of the lower-cased key) whose values never reach the log unless they are
# numbers or flags: message text...
_TEXT_STEMS = (
    "text",
    "message",
    "body",
    "content",
    "transcript",
    "summary",
    "note",
    "outcome",
    "reply",
    "query",
    "comment",
    "input",
    "payload",
)
# ...identities and secrets...
_IDENTITY_STEMS = (
    "user_id",
    "userid",
    "line_id",
    "password",
    "secret",
    "token",
    "phone",
    "address",
    "email",
    "cookie",
    "authorization",
)
# ...and these exact keys (LINE puts user ids under `to` and `source`).
_IDENTITY_KEYS = frozenset({"name", "display_name", "displayname", "to", "source"})
# Kept for callers that list the obvious ones; the stems above are what the formatter applies.
SENSITIVE_KEYS = frozenset({"text", "message", "body", "user_id", "userId", "line_user_id", "phone", "name"})

_LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")
# Japanese phone numbers: 0X-XXXX-XXXX, 0120-XXX-XXX, 090XXXXXXXX and the like (not dates or ticket numbers).
_PHONE = re.compile(r"(?<![\w-])(?:\+81[- ]?|0)\d{1,4}[- ]?\d{1,4}[- ]?\d{3,4}(?![\w-])")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+(?:[\s\x21-\x2f\x3a-\x40]*[^\x00-\x7f]+)*")
_MAX_CTX_NON_ASCII = 16
_MAX_CTX_STRING = 200


def mask(value: str) -> str:
    """Mask LINE user, group and room ids and phone numbers inside a string."""
    return _PHONE.sub("[phone]", _LINE_ID.sub("[line-id]", value))


def scrub_event(value: str) -> str:
    """The event text as logged: masked, and any non-ASCII run (a resident's words) redacted."""
    return _NON_ASCII.sub(REDACTED, mask(value))


def _sensitive_key(key: str) -> bool:
    """True for a ctx key that names message text, an identity or a secret."""
    k = key.lower().replace("-", "_")
    return k in _IDENTITY_KEYS or any(stem in k for stem in (*_IDENTITY_STEMS, *_TEXT_STEMS))


def _clean_string(value: str) -> str:
    value = mask(value)
    non_ascii = sum(1 for ch in value if ord(ch) > 0x7F)
    if non_ascii > _MAX_CTX_NON_ASCII or len(value) > _MAX_CTX_STRING:
        return REDACTED
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return _clean_string(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            # Numbers and flags cannot carry words or LINE ids: `text_len: 12`, `tokens: 9` stay.
            if _sensitive_key(key) and not isinstance(v, bool | int | float) and v is not None:
                out[key] = REDACTED
            else:
                out[key] = _clean(v)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    # Anything else (objects, bytes) could render input: keep its type only.
    return f"<{type(value).__name__}>"


def _safe_arg(arg: Any) -> Any:
    if isinstance(arg, bool | int | float) or arg is None:
        return arg
    return scrub_event(str(arg))


def _event(record: logging.LogRecord) -> str:
    template = record.msg if isinstance(record.msg, str) else str(record.msg)
    args = record.args
    if not args:
        return scrub_event(template)
    try:
        if isinstance(args, dict):
            return scrub_event(template % {k: _safe_arg(v) for k, v in args.items()})
        return scrub_event(template % tuple(_safe_arg(a) for a in args))
    except (TypeError, ValueError, KeyError):
        return scrub_event(template)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, then the cleaned ctx."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": _event(record),
        }
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict):
            for key, value in _clean(ctx).items():
                entry.setdefault(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened; never its message, which may quote input.
            entry["exc_type"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                entry["exc_at"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test capture replaces it; uvicorn workers inherit it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure(level: str = "INFO") -> None:
    """Install the JSON formatter on the root logger (idempotent) and silence the access log."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_intake", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler._intake = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Uvicorn's own loggers go through the root handler (no second, plain-text format).
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    # HTTP client libraries log full URLs at INFO (webhook URLs can carry tokens): warnings only.
    for name in ("httpx", "httpcore", "urllib3", "aiohttp.client"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # The access log would carry paths and query strings (ticket numbers, tokens): off.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
