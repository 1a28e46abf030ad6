"""Text normalisation before tokenising, keeping a map back to the resident's original characters.

Steps, one character at a time so that every normalised character knows where it came from:
control characters and emoji become a space, except the few emoji that stand for a thing (🔪 刃物, 💊 薬,
🍚 ご飯…), which become that word, since residents write 「💊いっぱい飲んだ」 for the word; NFKC unifies widths
(ｶﾞ → ガ, ＡＢＣ → abc), ASCII is lower-cased, and runs of repeated marks (！！！, ーーー, ……) shrink to one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Marks that residents repeat for emphasis; a run of them means the same as one.
_REPEATABLE = frozenset("!?！？。、.,・…ー~〜～wｗ笑")
_DAKUTEN = frozenset("\u3099\u309a")
_DROP = frozenset("\u200b\u200c\u200d\u2060\ufeff")  # zero-width characters (emoji joiners…)
# Emoji that residents put in place of a word, read as that word. Only objects whose meaning does not depend on
# tone: faces and hands stay blank (😭 is grief or laughter, 💀 is slang for "so tired").
EMOJI_WORDS = {
    "🔪": "刃物",
    "🗡": "刃物",
    "🩸": "血",
    "💊": "薬",
    "💉": "注射",
    "🪢": "ロープ",
    "🚑": "救急車",
    "🏥": "病院",
    "🍚": "ご飯",
    "🍙": "おにぎり",
    "🍞": "パン",
    "💰": "お金",
    "💸": "お金",
    "💴": "お金",
    "👶": "赤ちゃん",
    "🍼": "ミルク",
    "👴": "おじいさん",
    "👵": "おばあさん",
    "♿": "車いす",
    "🦽": "車いす",
    "🦼": "車いす",
    "🏫": "学校",
}


@dataclass(frozen=True, slots=True)
class Normalized:
    """``text`` plus, for each of its characters, the span ``[start, end)`` in the original string
    (``starts`` None: the same offsets as the original)."""

    text: str
    starts: tuple[int, ...] | None
    ends: tuple[int, ...] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the normalised text back to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if not self.text or end <= start:
            pos = self.starts[start] if start < len(self.starts) else (self.ends[-1] if self.ends else 0)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def _is_emoji_or_symbol(ch: str, cp: int) -> bool:
    if cp >= 0x1F000 or 0x2600 <= cp <= 0x27BF or 0xFE00 <= cp <= 0xFE0F or 0x2B00 <= cp <= 0x2BFF:
        return True
    return unicodedata.category(ch) == "So"


def _map_char(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x80:
        if ch.isprintable():
            return ch.lower()
        return " "
    if ch in _DROP:
        return ""
    cat = unicodedata.category(ch)
    if cat[0] == "C" or cat in ("Zl", "Zp") or _is_emoji_or_symbol(ch, cp):
        return " "
    if cat == "Zs":
        return " "
    return unicodedata.normalize("NFKC", ch).lower()


_CACHE: dict[str, str] = {}
_DROP_CLASS = (
    "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u200b-\\u200d\\u2060\\ufeff\\u2190-\\u2bff\\ufe00-\\ufe0f"
    "\\U0001f000-\\U0010ffff\\u2028\\u2029\\t\\n"
)
# What the fast path cannot take as it is: emoji and control runs, repeated marks, half-width kana (dakuten).
_SPECIAL = re.compile(
    f"(?P<drop>[{_DROP_CLASS}]+)|(?P<rep>([!?！？。、.,・…ー~〜～wｗ笑 \\u3000])\\3+)|(?P<kana>[\\uff61-\\uff9f…‥]+)"
)


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for matching; never raises on any ``str``."""
    if text and not text[0].isspace() and _SPECIAL.search(text) is None:
        fast = unicodedata.normalize("NFKC", text).lower()
        if len(fast) == len(text):
            return Normalized(katakana_style(fast), None, None)
    out = _normalize_segments(text)
    styled = katakana_style(out.text)
    return out if styled is out.text else Normalized(styled, out.starts, out.ends)


_HIRAGANA = re.compile("[\u3041-\u3096]")
_KATAKANA_RUN = re.compile("[\u30a1-\u30f6\u30fc]+")
# In a loanword, not in okurigana or particles: the long-vowel mark and small vowels (サービス, ヘルパー, デイ…).
_LOANWORD_MARKS = frozenset("ーァィゥェォヮヵヶヴ")


def is_kanji(ch: str) -> bool:
    """A kanji (CJK unified ideographs, extension A, 々): what okurigana follow and user-dictionary nouns contain."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or ch == "々"


def katakana_style(text: str) -> str:
    """A text written in katakana instead of hiragana, with its okurigana and particles in hiragana, so that
    Sudachi reads it: カタカナ交じり文 (「妻ニ先立タレ一人デ居リマス」, how some of the oldest residents write) and
    kana typed as katakana only (「ムスコニ　タタカレテ　イタイ」). Loanwords (runs with ー or small vowels: サービス,
    ヘルパー) stay. One character for one, so offsets hold. Only a text with no hiragana and at least two katakana
    runs right after a kanji (or, with no kanji at all, two runs of six letters or more together) is changed;
    any other is returned as it is (the same object)."""
    if _HIRAGANA.search(text) is not None:
        return text
    runs = [m for m in _KATAKANA_RUN.finditer(text) if _LOANWORD_MARKS.isdisjoint(m.group())]
    if len(runs) < 2:
        return text
    if any(map(is_kanji, text)):
        if sum(1 for m in runs if m.start() > 0 and is_kanji(text[m.start() - 1])) < 2:
            return text
    elif sum(m.end() - m.start() for m in runs) < 6:
        return text
    out: list[str] = []
    pos = 0
    for m in runs:
        out += (text[pos : m.start()], kata_to_hira(m.group()))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


class _Builder:
    __slots__ = ("chunks", "ends", "last", "starts")

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.last = " "  # no leading blanks

    def plain(self, text: str, a: int, b: int) -> None:
        if a >= b:
            return
        seg = unicodedata.normalize("NFKC", text[a:b]).lower()
        if len(seg) != b - a or (seg[0] == " " and self.last == " "):
            self.chars(text, a, b)
            return
        self.chunks.append(seg)
        self.starts.extend(range(a, b))
        self.ends.extend(range(a + 1, b + 1))
        self.last = seg[-1]

    def one(self, ch: str, a: int, b: int) -> None:
        if ch == self.last and (ch == " " or ch in _REPEATABLE):
            if self.ends:
                self.ends[-1] = b
            return
        self.chunks.append(ch)
        self.starts.append(a)
        self.ends.append(b)
        self.last = ch

    def emoji(self, run: str, a: int) -> None:
        """A run of emoji and control characters: a blank, or the words of the emoji that stand for one."""
        for i, ch in enumerate(run, a):
            for w in EMOJI_WORDS.get(ch, " "):
                self.one(w, i, i + 1)

    def chars(self, text: str, a: int, b: int) -> None:
        cache = _CACHE
        for i in range(a, b):
            ch = text[i]
            mapped = cache.get(ch)
            if mapped is None:
                mapped = _map_char(ch)
                if len(cache) < 20000:
                    cache[ch] = mapped
            for m in mapped:
                if m in _DAKUTEN and self.chunks:  # ｶ + ﾞ → ガ
                    prev = self.chunks[-1]
                    composed = unicodedata.normalize("NFC", prev[-1] + m)
                    if len(composed) == 1:
                        self.chunks[-1] = prev[:-1] + composed
                        self.last = composed
                    self.ends[-1] = i + 1
                    continue
                if m == " " and self.last == " ":
                    if self.ends:
                        self.ends[-1] = i + 1
                    continue
                self.one(m, i, i + 1)

    def build(self) -> Normalized:
        return Normalized("".join(self.chunks), tuple(self.starts), tuple(self.ends))


def _normalize_segments(text: str) -> Normalized:
    out = _Builder()
    pos = 0
    for m in _SPECIAL.finditer(text):
        out.plain(text, pos, m.start())
        if m.group("drop") is not None:
            out.emoji(m.group("drop"), m.start())
        elif m.group("rep") is not None:
            mapped = _map_char(m.group(3))
            out.one(mapped or " ", m.start(), m.end())
        else:
            out.chars(text, m.start(), m.end())
        pos = m.end()
    out.plain(text, pos, len(text))
    return out.build()


def normalize_term(term: str) -> str:
    """The same normalisation for lexicon entries (no offsets needed)."""
    return normalize(term).text.strip()


def kata_to_hira(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in text)
