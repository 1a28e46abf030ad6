"""Which situation patterns can match a message, found before any of them runs.

A vocabulary has hundreds of patterns (regular expressions) and a message matches two or three. Running each with
Python's ``re`` costs about 3 µs, so the engine first asks a prefilter for the few that can match, then runs only
those with ``re`` (which alone decides matches and offsets: a prefilter may name too many, never too few).

* :class:`HyperscanPrefilter`: every pattern compiled into one Hyperscan database (Intel's multi-pattern matcher,
  ``hyperscan`` on PyPI, x86-64) in prefilter mode, which keeps every true match and may add false ones. One scan
  of the message (≈ 7 µs) names the patterns. Bounded repeats are loosened (``[^。]{0,12}`` → ``[^。]*``), again a
  superset, which makes compiling about three times faster. Compiling takes seconds, so the database is cached by a
  hash of the patterns. The few patterns Hyperscan refuses are left to the bigram index.
* :class:`BigramPrefilter`: pure Python, for machines without Hyperscan (and those few patterns): a pattern runs
  when the message holds one of its possible first characters or required bigrams and a string of each of its
  other required parts (set operations in C).

``INTAKE_TRIAGE_PREFILTER=bigram`` forces the pure-Python one (an A/B switch for benchmarks and tests).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from triage.cache import load_pickled, store_pickled
from triage.regexes import first_chars, prefixes, required_bigrams, required_parts

_hs: Any
try:  # an optional binary wheel (x86-64); without it the bigram index does the same job more slowly
    import hyperscan as _hs
except ImportError:  # pragma: no cover - depends on the machine
    _hs = None


class Prefilter(Protocol):
    kind: str

    def candidates(self, norm: str, bigrams: Sequence[str] | None = None) -> list[int]:
        """Ids (ascending) of the patterns that may match ``norm``; ``bigrams``: its character bigrams, if known."""
        ...


class BigramPrefilter:
    """Patterns indexed by a first character or required bigram, with their other required parts."""

    kind = "bigram"

    def __init__(self, patterns: Sequence[str], ids: Sequence[int] | None = None) -> None:
        always: set[int] = set()
        self._by_key: dict[str, set[int]] = {}  # a first character or a required bigram → pattern ids
        # the pattern's other required parts: it runs only when the message holds a string of each of them too
        self._more_parts: dict[int, tuple[frozenset[str], ...]] = {}
        for pid, pat in zip(range(len(patterns)) if ids is None else ids, patterns, strict=True):
            parts = required_parts(pat)
            starts = required_bigrams(pat) or prefixes(pat) or first_chars(pat)
            self._more_parts[pid] = tuple(p for p in parts if p != starts)
            if starts is None:
                always.add(pid)
                continue
            for start in starts:
                self._by_key.setdefault(start, set()).add(pid)
        self._keys = frozenset(self._by_key)
        self._always = frozenset(always)
        self.empty = not self._more_parts

    def candidates(self, norm: str, bigrams: Sequence[str] | None = None) -> list[int]:
        grams = set(norm)
        grams.update(map(str.__add__, norm, norm[1:]) if bigrams is None else bigrams)
        by_key = self._by_key
        found = self._always.union(*[by_key[k] for k in self._keys.intersection(grams)])
        more_parts = self._more_parts
        out = []
        for pid in sorted(found):
            for part in more_parts[pid]:
                if part.isdisjoint(grams):
                    break
            else:
                out.append(pid)
        return out


class HyperscanPrefilter:
    """One Hyperscan scan names the patterns that may match; the rest (refused by Hyperscan) by bigrams."""

    kind = "hyperscan"

    def __init__(self, database: Any, rest: BigramPrefilter) -> None:
        self._db = database
        self._rest = rest
        self._base = _hs.Scratch(database)
        self._local = threading.local()  # a scratch space per thread: Hyperscan's scans must not share one

    def candidates(self, norm: str, bigrams: Sequence[str] | None = None) -> list[int]:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._base.clone()
        found: list[int] = []
        if norm:
            self._db.scan(norm.encode(), match_event_handler=_collect, context=found, scratch=scratch)
        if not self._rest.empty:
            found.extend(self._rest.candidates(norm, bigrams))
        return sorted(set(found)) if len(found) > 1 else found


def _collect(pid: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
    found.append(pid)


def build(patterns: Sequence[str], cache_dir: Path | None = None) -> Prefilter:
    """The fastest prefilter this machine has for ``patterns`` (ids are their positions)."""
    if _hs is None or os.environ.get("INTAKE_TRIAGE_PREFILTER", "") == "bigram" or not patterns:
        return BigramPrefilter(patterns)
    loose = [loosen(p) for p in patterns]
    target = cache_dir / f"patterns-{_cache_key(loose)}.pickle" if cache_dir is not None else None
    if target is not None:
        cached = _from_cache(target, patterns)
        if cached is not None:
            return cached
    database, refused = _compile(loose)
    if database is None:
        return BigramPrefilter(patterns)
    if target is not None:
        store_pickled(target, (_hs.dumpb(database), refused))
    return HyperscanPrefilter(database, BigramPrefilter([patterns[i] for i in refused], refused))


def _from_cache(target: Path, patterns: Sequence[str]) -> HyperscanPrefilter | None:
    """The database compiled earlier for these very patterns, or None (missing, broken, or for another Hyperscan
    version or CPU: a cache folder shared between machines)."""
    cached = load_pickled(target, tuple)
    if cached is None or len(cached) != 2:
        return None
    blob, refused = cached
    try:
        return HyperscanPrefilter(
            _hs.loadb(blob, _hs.HS_MODE_BLOCK), BigramPrefilter([patterns[i] for i in refused], refused)
        )
    except (_hs.error, TypeError, IndexError):
        return None


def loosen(pattern: str) -> str:
    r"""A pattern for Hyperscan that matches wherever ``pattern`` does (and maybe elsewhere): zero-width anchors
    inside it dropped (Hyperscan refuses a ``^`` inside a group), bounded repeats made open (``{0,12}`` → ``*``,
    much faster to compile), an optional ``X?`` made ``X*`` and lazy quantifiers greedy. Character classes and
    escapes are copied as they are.

    ``X?`` → ``X*``: Hyperscan 5.4 in UTF-8 mode can miss a whole pattern when one branch holds an optional
    element of varying byte length (``[^。]?``, ``\s?`` with UCP, ``.?``): ``(no|don.?t have) (health )?insurance``
    is not reported on 「i am pregnant 5 month. no insurance. hospital very expensive.」 although ``no insurance``
    matches. ``X*`` is not affected (tests/triage/test_prefilter.py)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            if not in_class and pattern[i + 1] in "bBAZz":
                i += 2  # a word boundary or string anchor: zero-width, dropped
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif c == "^" and i > 0:
            i += 1  # an anchor inside the pattern: dropped
            continue
        elif c == "$" and i < n - 1:
            i += 1
            continue
        elif c == "?" and out and out[-1] != "(":
            if not _quantified(out[-1]):
                out.append("*")  # an optional element: any number of it is a superset
            i += 1  # after a quantifier, ``?`` only makes it lazy: the same matches exist
            continue
        elif c == "{":
            m = _REPEAT.match(pattern, i)
            if m is not None:
                low = m.group(1)
                out.append("*" if low in ("", "0") else "{" + low + ",}")
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


_REPEAT = re.compile(r"\{(\d*),(\d+)\}")


def _quantified(token: str) -> bool:
    """Whether ``token`` (the last piece written by :func:`loosen`) is a quantifier: then a ``?`` after it is lazy."""
    return token in ("*", "+") or (token.endswith("}") and token != "\\}")


_FLAGS = 0
if _hs is not None:
    _FLAGS = (
        _hs.HS_FLAG_UTF8
        | _hs.HS_FLAG_UCP
        | _hs.HS_FLAG_SINGLEMATCH  # which patterns, not where: one report each
        | _hs.HS_FLAG_ALLOWEMPTY
        | _hs.HS_FLAG_PREFILTER  # a superset of the matches; lookarounds are allowed
    )


def _compile(loose: Sequence[str]) -> tuple[Any, tuple[int, ...]]:
    """One database of every pattern Hyperscan accepts, and the ids of those it refuses. All at once first; only
    when that fails is each pattern tried alone (slow: seconds) to find the ones it refuses."""
    everything = list(range(len(loose)))
    try:
        return _database(loose, everything), ()
    except _hs.error:
        pass
    accepted: list[int] = []
    refused: list[int] = []
    for pid in everything:
        try:
            _database(loose, [pid])
        except _hs.error:
            refused.append(pid)
        else:
            accepted.append(pid)
    return (_database(loose, accepted) if accepted else None), tuple(refused)


def _database(loose: Sequence[str], ids: list[int]) -> Any:
    database = _hs.Database()
    database.compile(
        expressions=[loose[i].encode() for i in ids], ids=ids, elements=len(ids), flags=[_FLAGS] * len(ids)
    )
    return database


def _cache_key(loose: Sequence[str]) -> str:
    version = getattr(_hs, "__version__", "")
    key = hashlib.sha256(f"{sys.version}\n{version}\n{_FLAGS}\n".encode())
    for pat in loose:
        key.update(pat.encode())
        key.update(b"\0")
    return key.hexdigest()[:24]
