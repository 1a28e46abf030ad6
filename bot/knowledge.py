"""The knowledge the dialog engine needs, taken from the published pack (``res.knowledge.current``)."""

from __future__ import annotations

from typing import Any

from bot.engine import Knowledge, TriagerLike
from intake.knowledge.schema import Pack
from routing.route import resolve_area, route


def from_current(current: Any) -> Knowledge:
    """``current`` is ``intake.knowledge.Knowledge`` (pack, triager, version)."""
    return build(current.pack, current.triager, current.version)


def build(pack: Pack, triager: TriagerLike, version: str) -> Knowledge:
    return Knowledge(pack, triager, version or pack.version, route, resolve_area)
