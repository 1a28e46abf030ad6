"""The knowledge the dialog engine needs, taken from the published pack (``res.knowledge.current``)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine import Knowledge, TriagerLike
from intake.knowledge.schema import Area, CrisisContact, Pack, Window
from triage.types import Field


def from_current(current: Any) -> Knowledge:
    """``current`` is ``intake.knowledge.Knowledge`` (pack, triager, version)."""
    return build(current.pack, current.triager, current.version)


def build(pack: Pack, triager: TriagerLike, version: str) -> Knowledge:
    try:
        from routing.route import resolve_area, route
    except ImportError:  # routing.route not there yet: the small built-in policy below
        return Knowledge(pack, triager, version or pack.version, simple_route, simple_resolve_area)
    return Knowledge(pack, triager, version or pack.version, route, resolve_area)


# ---------------------------------------------------------------------------------------------------------------
# A minimal routing policy used only while ``routing.route`` is absent (same signature, fewer rules).


@dataclass
class SimpleDecision:
    windows: list[Window]
    needs_area: bool = False
    urgent: bool = False
    reasons: list[str] = field(default_factory=list)
    crisis_contacts: list[CrisisContact] = field(default_factory=list)
    collaboration: Any = None
    meeting: Any = None


def simple_route(
    pack: Pack,
    fields: Sequence[Field],
    *,
    area: Area | None = None,
    ask_area: bool = True,
    consent: bool | None = None,
    crisis: bool = False,
    crisis_kinds: Sequence[str] = (),
    topics: Sequence[str] = (),
) -> SimpleDecision:
    windows: list[Window] = []
    needs_area = False
    for f in fields:
        candidates = [w for w in pack.windows if f in w.fields]
        if area is not None:
            local = [w for w in candidates if not w.areas or area.id in w.areas]
            candidates = local or candidates
        elif ask_area and len({tuple(w.areas) for w in candidates}) > 1:
            needs_area = True
        for w in candidates[:1]:
            if w not in windows:
                windows.append(w)
    if not windows:
        windows = [pack.window(pack.municipality.general_window_id)]
    collab = pack.municipality.collaboration
    complex_case = len([f for f in fields if f is not Field.HAZAMA]) >= 2
    contacts = [
        c
        for c in pack.crisis_contacts
        if crisis and (not c.kinds or not crisis_kinds or set(c.kinds) & set(crisis_kinds))
    ]
    return SimpleDecision(
        windows=windows,
        needs_area=needs_area,
        urgent=crisis,
        reasons=[f"{', '.join(f.value for f in fields)} → {windows[0].name}"],
        crisis_contacts=contacts,
        collaboration=collab if complex_case else None,
        meeting=(collab.with_consent if consent else collab.without_consent) if complex_case else None,
    )


def simple_resolve_area(pack: Pack, text: str) -> Area | None:
    said = unicodedata.normalize("NFKC", text)
    for area in pack.areas:
        for name in (area.name, *area.aliases):
            if name and name in said:
                return area
    return None
