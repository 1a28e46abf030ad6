"""Templates of the desk and the small pure helpers they use (dates in JST, highlighted evidence, labels)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

HERE = Path(__file__).resolve().parent
JST = timezone(timedelta(hours=9), "JST")

EVENT_LABELS = {
    "created": "受付",
    "updated": "追記（ボット）",
    "accepted": "受理",
    "assigned": "担当",
    "transferred": "移管",
    "escalated": "多機関協働へ",
    "noted": "メモ",
    "replied": "返信",
    "closed": "終結",
}
SENDER_LABELS = {"resident": "ご本人", "bot": "ボット", "staff": "職員", "system": "システム"}
MEETING_LABELS = {"with_consent": "本人同意あり", "without_consent": "本人同意なし"}
CONTACT_LABELS = {"line": "LINE", "phone": "電話", "visit": "来所・訪問", "web": "Webチャット"}
OUTBOX_LABELS = {"pending": "送信待ち", "sent": "送信済み", "failed": "送信できませんでした"}
DONE_MESSAGES = {
    "accepted": "受理しました。",
    "assigned": "担当になりました。",
    "transferred": "移管しました。",
    "escalated": "多機関協働に上げました。",
    "noted": "メモを追加しました。",
    "replied": "返信を送信待ちに入れました。LINEに届くと「送信済み」になります。",
    "closed": "終結にしました。",
    "staff_added": "職員を追加しました。",
    "staff_deactivated": "職員のログインを止めました。",
}


def jst(value: datetime | None, with_seconds: bool = False) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    fmt = "%Y/%m/%d %H:%M:%S" if with_seconds else "%Y/%m/%d %H:%M"
    return aware.astimezone(JST).strftime(fmt)


def highlight(text: str | None, words: Iterable[str]) -> Markup:
    """``text`` escaped, with every occurrence of ``words`` (triage evidence) wrapped in ``<mark>``."""
    if not text:
        return Markup("")
    unique = sorted({w for w in words if w and w.strip()}, key=len, reverse=True)
    if not unique:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in unique))
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def evidence_words(evidence: Iterable[dict[str, Any]]) -> list[str]:
    """The words residents wrote that made triage decide (negations are not highlighted)."""
    return [str(e.get("surface") or "") for e in evidence if e.get("label") != "negation"]


def evidence_label(label: str) -> str:
    if label.startswith("crisis:"):
        return "危機: " + label.split(":", 1)[1]
    if label == "out_of_scope":
        return "対象外"
    if label == "negation":
        return "打ち消し（数えない）"
    return label


def consent_label(consent: bool | None) -> str:
    return {True: "同意あり", False: "同意なし", None: "未確認"}[consent]


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["jst"] = jst
    env.filters["highlight"] = highlight
    env.filters["evidence_label"] = evidence_label
    env.globals.update(
        EVENT_LABELS=EVENT_LABELS,
        SENDER_LABELS=SENDER_LABELS,
        MEETING_LABELS=MEETING_LABELS,
        CONTACT_LABELS=CONTACT_LABELS,
        OUTBOX_LABELS=OUTBOX_LABELS,
        consent_label=consent_label,
        evidence_words=evidence_words,
    )
    return templates
