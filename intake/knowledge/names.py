"""Place names as residents type them: 「寺井」「寺井町」「てらい」「テライ」 all find one 圏域."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from intake.knowledge.schema import Area

_KATAKANA = {chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)}
_NOISE = re.compile(r"[\s、。，．,.!?！？「」『』()（）・･~〜-]+")
# Words around a place name that say nothing about which place: 「寺井のあたりに住んでいます」.
_AROUND = re.compile(
    r"(に住んでいます|にすんでいます|に住んでる|にすんでる|に住んでいる|住まい|在住|です|だよ|だ|"
    r"のあたり|あたり|辺り|のほう|の方|ほう|方面|地域|地区|圏域|エリア)$"
)


def normalize(text: str) -> str:
    """NFKC, katakana → hiragana, no spaces or punctuation, lower case."""
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = "".join(_KATAKANA.get(ch, ch) for ch in s)
    return _NOISE.sub("", s)


def _strip_around(s: str) -> str:
    previous = None
    while previous != s:
        previous = s
        s = _AROUND.sub("", s)
    return s


def name_index(areas: Iterable[Area]) -> dict[str, list[str]]:
    """Normalised name → the ids of the areas that use it (more than one id is an error in the pack)."""
    index: dict[str, list[str]] = {}
    for area in areas:
        for name in area.names:
            key = normalize(name)
            if key and area.id not in index.setdefault(key, []):
                index[key].append(area.id)
    return index


def find_area(areas: list[Area], text: str) -> Area | None:
    """The one area ``text`` names, or None (unknown, empty, or naming two areas)."""
    by_id = {a.id: a for a in areas}
    raw = normalize(text)
    if not raw:
        return None
    if raw in by_id:
        return by_id[raw]
    index = name_index(areas)
    for candidate in (raw, _strip_around(raw)):
        ids = index.get(candidate, [])
        if len(ids) == 1:
            return by_id[ids[0]]
    # Names inside a longer text: 「根上町の浜町に住んでます」. Longest names claim their place first, so that
    # 「西仙北」 is not also read as 「仙北」; two different areas named (「寺井か辰口」) is no answer.
    claimed: list[tuple[int, int]] = []
    named: set[str] = set()
    for key in sorted(index, key=len, reverse=True):
        ids = index[key]
        if len(ids) != 1 or len(key) < 2:
            continue
        for match in re.finditer(re.escape(key), raw):
            span = match.span()
            if any(span[0] < end and start_ < span[1] for start_, end in claimed):
                continue
            claimed.append(span)
            named.add(ids[0])
    return by_id[named.pop()] if len(named) == 1 else None
