"""Which characters a regular expression can start with, so that a message only runs the patterns it may match."""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

_MAX_RANGE = 400


def first_chars(pattern: str) -> frozenset[str] | None:
    """The set of possible first characters of a match, or None when it cannot be bounded (then always run)."""
    try:
        parsed = P.parse(pattern)
    except re.error:
        return None
    chars = _seq(list(parsed))
    return frozenset(chars) if chars else None


def _seq(items: list[tuple[Any, Any]]) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue  # zero-width: look at what follows
        if op is C.LITERAL:
            return out | {chr(av)}
        if op is C.IN:
            got = _in(av)
            return None if got is None else out | got
        if op is C.SUBPATTERN:
            got = _seq(list(av[-1]))
            return None if got is None else out | got
        if op is C.BRANCH:
            union: set[str] = set()
            for branch in av[1]:
                got = _seq(list(branch))
                if got is None:
                    return None
                union |= got
            return out | union
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, _hi, sub = av
            got = _seq(list(sub))
            if got is None:
                return None
            out |= got
            if lo >= 1:
                return out
            continue  # optional: the next item may start the match too
        return None
    return None  # the whole pattern may match the empty string


def _in(items: list[tuple[Any, Any]]) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            out.add(chr(av))
        elif op is C.RANGE:
            lo, hi = av
            if hi - lo > _MAX_RANGE:
                return None
            out.update(chr(c) for c in range(lo, hi + 1))
        elif op is C.CATEGORY and av is C.CATEGORY_DIGIT:
            out.update("0123456789")
        else:
            return None
    return out


_MAX_PREFIXES = 400


def prefixes(pattern: str, k: int = 2) -> frozenset[str] | None:
    """Strings (up to ``k`` characters) that every match starts with one of; None when they cannot be bounded.

    A prefix shorter than ``k`` means the match may start with that text followed by anything.
    """
    try:
        parsed = P.parse(pattern)
    except re.error:
        return None
    got = _expand(list(parsed), {""}, k)
    if got is None or "" in got:
        return None
    return frozenset(got)


def _expand(items: list[tuple[Any, Any]], current: set[str], k: int) -> set[str] | None:
    got = _expand_from(items, current, k)
    return None if got is None else got[0]


def _expand_from(items: list[tuple[Any, Any]], current: set[str], k: int) -> tuple[set[str], bool] | None:
    """The strings (up to ``k`` characters) a match of ``items`` can start with, given the prefixes ``current``,
    and whether the expansion stopped early (a repeat, an optional or unknown item): then the strings are complete
    prefixes and nothing after ``items`` may be appended to them. None: anything can follow."""
    done = {s for s in current if len(s) >= k}
    todo = current - done
    for op, av in items:
        if not todo:
            break
        if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
            continue
        stopped = False
        if op is C.LITERAL:
            nxt = {s + chr(av) for s in todo}
        elif op is C.IN:
            chars = _in(av)
            if chars is None:
                return done | todo, True
            nxt = {s + c for s in todo for c in chars}
        elif op is C.SUBPATTERN:
            sub = _expand_from(list(av[-1]), todo, k)
            if sub is None:
                return None
            nxt, stopped = sub
        elif op is C.BRANCH:
            nxt = set()
            for branch in av[1]:
                sub = _expand_from(list(branch), todo, k)
                if sub is None:
                    return None
                nxt |= sub[0]
                stopped = stopped or sub[1]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            sub = _expand_from(list(av[2]), todo, k)
            if sub is None:
                return None
            return done | sub[0], True  # what follows a repeat can vary: stop here
        else:
            return done | todo, True  # optional or unknown: the prefix so far is all we know
        if len(nxt) > _MAX_PREFIXES:
            return done | todo, True
        if stopped:
            # a branch or group stopped early: its strings are complete prefixes; appending what follows would
            # invent strings a match need not contain (「三」+「目」 from ``([0-9二三]+日|みっか)(目|に)``)
            return done | nxt, True
        # strings that stopped growing inside a sub-pattern are complete prefixes of their own
        done |= {s for s in nxt if len(s) >= k}
        todo = {s for s in nxt if len(s) < k}
    return done | todo, False


def required_parts(pattern: str) -> list[frozenset[str]]:
    """For each mandatory top-level part of the pattern, the strings (two characters, or one kanji) of which every
    match must contain one: ``(親|母)[^。]{0,10}(嫌味|暴言)`` gives ``{親, 母}`` and ``{嫌味, 暴言}``. A single kana
    occurs everywhere, so parts that allow one are left out."""
    try:
        parsed = list(P.parse(pattern))
    except re.error:
        return []
    out: list[frozenset[str]] = []
    for i, item in enumerate(parsed):
        op, av = item
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] == 0:
            continue  # optional: cannot be required
        # the item together with what follows it gives its possible starts
        got = _expand(parsed[i:], {""}, 2)
        if not got or "" in got or any(len(s) < 2 and _is_kana(s) for s in got):
            continue  # a single kana occurs everywhere; a single kanji (職, 母) still selects
        if frozenset(got) not in out:
            out.append(frozenset(got))
    return out


def required_bigrams(pattern: str) -> frozenset[str] | None:
    """The most selective of :func:`required_parts` (e.g. ``(嫌味|暴言|怒鳴)`` in
    ``(親|母)[^。]{0,10}(嫌味|暴言|怒鳴)``); None if there is none."""
    best: frozenset[str] | None = None
    for got in required_parts(pattern):
        if best is None or _commonness(got) < _commonness(best):
            best = got
    return best


def _is_kana(s: str) -> bool:
    return all("\u3041" <= c <= "\u309f" for c in s)


def _commonness(strings: frozenset[str]) -> tuple[int, int, int]:
    """Hiragana-only bigrams (ない, して…) and single characters occur in many messages: prefer the others."""
    kana = sum(1 for s in strings if _is_kana(s))
    single = sum(1 for s in strings if len(s) == 1)
    return kana, single, len(strings)
