"""SudachiPy, built once: the system dictionary plus a welfare user dictionary compiled from the knowledge files.

The user dictionary is compiled with SudachiPy's own builder (what ``sudachipy ubuild`` runs) into a cache file
named by the hash of its CSV, so a fresh machine or a CI runner builds it once and later loads reuse it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sudachipy
from sudachipy import Config, Dictionary, SplitMode

from triage.cache import prune_cache
from triage.normalize import kata_to_hira, normalize_term

# Connection ids of sudachidict-core for 名詞,普通名詞,一般 and 名詞,固有名詞,一般 (Sudachi's user_dict.md).
_COMMON_NOUN = (5146, "名詞,普通名詞,一般,*,*,*")
_PROPER_NOUN = (4786, "名詞,固有名詞,一般,*,*,*")
_HEADER = (
    "Index_Form,Left_Id,Right_Id,Cost,Headword,POS1,POS2,POS3,POS4,POS5,POS6,"
    "Reading_Form,Normalized_Form,Dictionary_Form,Split_A,Split_B,Word_Structure"
)
# Sentence-ish pieces for texts longer than Sudachi accepts at once (49,149 bytes).
MAX_CHUNK = 4000


@dataclass(frozen=True)
class DictWord:
    """One user-dictionary row."""

    word: str
    normalized: str
    reading: str
    proper: bool = False
    cost: int = 3000


def _system_dic() -> Path:
    """sudachidict-core's system.dic (pinned in pyproject); a clear error naming the package when missing."""
    spec = importlib.util.find_spec("sudachidict_core")
    if spec is None or spec.origin is None:
        raise RuntimeError("sudachidict-core is not installed: pip install sudachidict-core==20261015")
    return Path(spec.origin).parent / "resources" / "system.dic"


def default_cache_dir() -> Path:
    """``~/.cache/welfare-intake/sudachi`` when writable, else the temp folder."""
    for base in (Path.home() / ".cache", Path(tempfile.gettempdir())):
        path = base / "welfare-intake" / "sudachi"
        try:
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise OSError("no writable cache folder for the Sudachi user dictionary")


def user_dictionary_csv(words: Iterable[DictWord]) -> str:
    rows = [_HEADER]
    seen: set[str] = set()
    for w in words:
        if w.word in seen or not w.word:
            continue
        seen.add(w.word)
        conn, pos = _PROPER_NOUN if w.proper else _COMMON_NOUN
        rows.append(f"{w.word},{conn},{conn},{w.cost},{w.word},{pos},{w.reading},{w.normalized},,,,")
    return "\n".join(rows) + "\n"


def build_user_dictionary(csv_text: str, cache_dir: Path) -> Path:
    """The compiled dictionary for ``csv_text``; built once per content hash (atomic rename)."""
    key = hashlib.sha256(f"{sudachipy.__version__}\n{csv_text}".encode()).hexdigest()[:24]
    target = cache_dir / f"welfare-{key}.dic"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        src = Path(tmp) / "welfare.csv"
        src.write_text(csv_text, encoding="utf-8")
        out = Path(tmp) / "welfare.dic"
        sudachipy.sudachipy.build_user_dic(
            system=str(_system_dic()), lex=[str(src)], output=str(out), description="welfare intake"
        )
        os.replace(out, target)
    prune_cache(cache_dir, "welfare-*.dic")
    return target


class Analyzer:
    """Tokeniser (mode C) with one Sudachi tokenizer per thread; the Dictionary is shared."""

    def __init__(self, user_dic: Path | None) -> None:
        config = Config(user=[str(user_dic)]) if user_dic else None
        self.dictionary = Dictionary(config=config) if config else Dictionary()
        # what this analyzer's output depends on: SudachiPy, the system dictionary and the user dictionary (its
        # file is named by a hash of its content)
        system = importlib.metadata.version("sudachidict-core")
        self.identity = f"{sudachipy.__version__}|{system}|{user_dic.name if user_dic else '-'}"
        self._local = threading.local()

    def _tokenizer(self) -> sudachipy.Tokenizer:
        tok = getattr(self._local, "tok", None)
        if tok is None:
            tok = self.dictionary.tokenizer(SplitMode.C, fields={"normalized_form"})
            self._local.tok = tok
        return tok

    def morphemes(self, text: str) -> Sequence[sudachipy.Morpheme]:
        """Morphemes of ``text``, chunked when it is too long for Sudachi; offsets stay relative to ``text``."""
        tok = self._tokenizer()
        if len(text) <= MAX_CHUNK:
            return tok.tokenize(text)  # type: ignore[no-any-return]
        out: list[Any] = []
        pos = 0
        while pos < len(text):
            end = min(len(text), pos + MAX_CHUNK)
            if end < len(text):
                cut = max(text.rfind(c, pos, end) for c in "。\n!?！？ ")
                if cut > pos:
                    end = cut + 1
            out.extend(_Shifted(m, pos) for m in tok.tokenize(text[pos:end]))
            pos = end
        return out

    def lemmas(self, text: str) -> list[str]:
        return [m.normalized_form() for m in self._tokenizer().tokenize(text)]

    def reading(self, text: str) -> str:
        tok = self.dictionary.tokenizer(SplitMode.C)
        return "".join(m.reading_form() for m in tok.tokenize(text))


class _Shifted:
    """A morpheme of a chunk, with offsets shifted into the whole text."""

    __slots__ = ("_m", "_shift")

    def __init__(self, m: sudachipy.Morpheme, shift: int) -> None:
        self._m = m
        self._shift = shift

    def normalized_form(self) -> str:
        return str(self._m.normalized_form())

    def begin(self) -> int:
        return int(self._m.begin()) + self._shift

    def end(self) -> int:
        return int(self._m.end()) + self._shift

    def surface(self) -> str:
        return str(self._m.surface())


def kana_spelling(reading: str) -> str:
    """Sudachi's katakana reading → the hiragana a child or a hurried writer would type."""
    return normalize_term(kata_to_hira(reading))
