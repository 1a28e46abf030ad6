"""The triage vocabulary as admins write it: YAML files under ``knowledge/_common/triage/`` and
``knowledge/<pack>/triage/``, validated with FILE:LINE for every problem.

Each file may hold these sections (all optional):

``groups``           kinds of situations: terms (matched on Sudachi normalised forms), regex patterns, and the
                     fields / crisis kind / out-of-scope topic they signal, with weights
``negations``        cue phrases that cancel a term right before them (「介護は必要ない」)
``user_dictionary``  words for the Sudachi user dictionary (welfare terms, kana spellings, local centre names)
``examples``         labelled sentences: the regression check and the training data of the small model
``settings``         thresholds
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake import yamlio
from intake.yamlio import Problem
from triage.cache import load_pickled, store_pickled
from triage.types import CrisisKind, Field

SECTIONS = ("groups", "negations", "user_dictionary", "examples", "settings")
GROUP_KEYS = {
    "id",
    "fields",
    "crisis",
    "out_of_scope",
    "fallback",
    "weight",
    "terms",
    "patterns",
    "all_of",
    "negatable",
    "suppressed_by",
    "requires",
    "note",
}
USERDICT_KEYS = {"word", "normalized", "reading", "proper"}
EXAMPLE_KEYS = {"text", "fields", "crisis", "out_of_scope", "note"}
SETTING_DEFAULTS: dict[str, float] = {
    "field_threshold": 1.0,
    "crisis_threshold": 1.0,
    "older_age": 65,
    "child_age": 18,
    "age_weight": 1.0,
    "model_weight": 0.6,
}
# Built-in rules that groups may name in ``suppressed_by`` / ``requires`` (ages found in the text).
BUILTIN_IDS = frozenset({"older_age", "child_age"})
_FIELDS = {f.value: f for f in Field}
_KINDS = {k.value: k for k in CrisisKind}


class TriageKnowledgeError(Exception):
    """The vocabulary files have problems; ``problems`` carry FILE:LINE."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems[:20]))
        self.problems = problems


@dataclass(frozen=True)
class Group:
    """A kind of situation (e.g. signs of dementia, rent arrears) and what it signals."""

    id: str
    file: str
    line: int
    fields: tuple[Field, ...] = ()
    crisis: CrisisKind | None = None
    out_of_scope: bool = False
    fallback: bool = False  # counts only when no other field is found (vague 狭間 messages)
    weight: float = 1.0
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    negatable: bool = True
    suppressed_by: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserWord:
    word: str
    normalized: str
    reading: str | None
    proper: bool
    file: str
    line: int


@dataclass(frozen=True)
class Example:
    text: str
    fields: frozenset[Field]
    crisis: bool
    out_of_scope: bool
    file: str
    line: int


@dataclass
class Vocabulary:
    groups: list[Group] = field(default_factory=list)
    negations: list[tuple[str, str, int]] = field(default_factory=list)  # (cue, file, line)
    user_words: list[UserWord] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    settings: dict[str, float] = field(default_factory=lambda: dict(SETTING_DEFAULTS))
    digest: str = ""
    files: list[Path] = field(default_factory=list)


def vocabulary_dirs(knowledge_dir: Path, pack: str | None) -> list[Path]:
    dirs = [knowledge_dir / "_common" / "triage"]
    if pack:
        dirs.append(knowledge_dir / pack / "triage")
    return dirs


def vocabulary_files(knowledge_dir: Path, pack: str | None) -> list[Path]:
    files: list[Path] = []
    for d in vocabulary_dirs(knowledge_dir, pack):
        if d.is_dir():
            files.extend(sorted(p for p in d.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
    return files


class _Reader:
    """Collects problems while turning YAML nodes into the dataclasses above."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.vocab = Vocabulary()
        self._group_ids: dict[str, str] = {}
        self._example_texts: dict[str, str] = {}
        self._user_words: dict[str, str] = {}
        self._negations: set[str] = set()

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    # -- helpers ---------------------------------------------------------------------------------------------
    def _strings(self, value: Any, file: str, line: int, what: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(file, line, f"{what}: expected a list of strings")
            return ()
        out: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(value):
            ln = yamlio.line_of(value, i, line)
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                self.problem(file, ln, f"{what}: expected a string, got {type(item).__name__}")
                continue
            text = str(item).strip()
            if not text:
                self.problem(file, ln, f"{what}: empty string")
                continue
            if text in seen:
                self.problem(file, ln, f"{what}: duplicate entry {text!r}")
                continue
            seen.add(text)
            out.append(text)
        return tuple(out)

    def _unknown_keys(self, node: Any, allowed: set[str], file: str, line: int, what: str) -> None:
        for key in node:
            if str(key) not in allowed:
                self.problem(
                    file,
                    yamlio.line_of(node, key, line),
                    f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                )

    # -- sections --------------------------------------------------------------------------------------------
    def read_file(self, path: Path) -> None:
        file = str(path)
        try:
            doc = yamlio.load(path)
        except yamlio.YamlError as exc:
            self.problems.append(exc.problem)
            return
        if doc is None:
            return
        if not isinstance(doc, dict):
            self.problem(file, 1, "expected a mapping with sections: " + ", ".join(SECTIONS))
            return
        self._unknown_keys(doc, set(SECTIONS), file, 1, "file")
        for section in SECTIONS:
            if section not in doc:
                continue
            node = doc[section]
            line = yamlio.line_of(doc, section)
            if section == "settings":
                self._settings(node, file, line)
                continue
            if not isinstance(node, list):
                self.problem(file, line, f"{section}: expected a list")
                continue
            for i, item in enumerate(node):
                ln = yamlio.line_of(node, i, line)
                if section == "groups":
                    self._group(item, file, ln)
                elif section == "negations":
                    self._negation(item, file, ln)
                elif section == "user_dictionary":
                    self._user_word(item, file, ln)
                else:
                    self._example(item, file, ln)

    def _settings(self, node: Any, file: str, line: int) -> None:
        if not isinstance(node, dict):
            self.problem(file, line, "settings: expected a mapping")
            return
        for key, value in node.items():
            ln = yamlio.line_of(node, key, line)
            if key not in SETTING_DEFAULTS:
                self.problem(file, ln, f"settings: unknown key {key!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                self.problem(file, ln, f"settings.{key}: expected a number")
            else:
                self.vocab.settings[str(key)] = float(value)

    def _group(self, node: Any, file: str, line: int) -> None:
        if not isinstance(node, dict):
            self.problem(file, line, "group: expected a mapping with id, terms…")
            return
        self._unknown_keys(node, GROUP_KEYS, file, line, "group")
        gid = node.get("id")
        if not isinstance(gid, str) or not gid.strip():
            self.problem(file, line, "group: 'id' is required (a short name such as dementia_signs)")
            return
        if gid in self._group_ids:
            self.problem(file, line, f"group {gid!r}: duplicate id (first in {self._group_ids[gid]})")
            return
        self._group_ids[gid] = f"{file}:{line}"
        what = f"group {gid!r}"
        fields: list[Field] = []
        raw_fields = node.get("fields", [])
        for name in self._strings(raw_fields, file, yamlio.line_of(node, "fields", line), f"{what}.fields"):
            if name not in _FIELDS:
                self.problem(
                    file,
                    yamlio.line_of(node, "fields", line),
                    f"{what}: unknown field {name!r} (use {', '.join(_FIELDS)})",
                )
            else:
                fields.append(_FIELDS[name])
        crisis = None
        if "crisis" in node:
            kind = node["crisis"]
            if kind not in _KINDS:
                self.problem(
                    file,
                    yamlio.line_of(node, "crisis", line),
                    f"{what}: unknown crisis kind {kind!r} (use {', '.join(_KINDS)})",
                )
            else:
                crisis = _KINDS[str(kind)]
        flags: dict[str, bool] = {}
        for flag, default in (("out_of_scope", False), ("fallback", False), ("negatable", True)):
            value = node.get(flag, default)
            if not isinstance(value, bool):
                self.problem(file, yamlio.line_of(node, flag, line), f"{what}.{flag}: expected true or false")
                value = default
            flags[flag] = value
        weight = node.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            self.problem(file, yamlio.line_of(node, "weight", line), f"{what}.weight: expected a number")
            weight = 1.0
        terms = self._strings(
            node.get("terms", []), file, yamlio.line_of(node, "terms", line), f"{what}.terms"
        )
        patterns = self._strings(
            node.get("patterns", []), file, yamlio.line_of(node, "patterns", line), f"{what}.patterns"
        )
        for i, pat in enumerate(patterns):
            try:
                re.compile(pat)
            except re.error as exc:
                ln = yamlio.line_of(node.get("patterns"), i, yamlio.line_of(node, "patterns", line))
                self.problem(file, ln, f"{what}: bad regular expression {pat!r}: {exc}")
        all_of: list[tuple[str, ...]] = []
        raw_all = node.get("all_of", [])
        if not isinstance(raw_all, list):
            self.problem(
                file, yamlio.line_of(node, "all_of", line), f"{what}.all_of: expected a list of lists"
            )
        else:
            for i, part in enumerate(raw_all):
                ln = yamlio.line_of(raw_all, i, yamlio.line_of(node, "all_of", line))
                all_of.append(self._strings(part, file, ln, f"{what}.all_of[{i}]"))
        if not terms and not patterns and not all_of:
            self.problem(file, line, f"{what}: needs terms, patterns or all_of")
        if flags["out_of_scope"] and (fields or crisis is not None):
            self.problem(
                file, line, f"{what}: an out_of_scope group cannot also have fields or a crisis kind"
            )
        self.vocab.groups.append(
            Group(
                id=gid,
                file=file,
                line=line,
                fields=tuple(fields),
                crisis=crisis,
                out_of_scope=flags["out_of_scope"],
                fallback=flags["fallback"],
                weight=float(weight),
                terms=terms,
                patterns=patterns,
                all_of=tuple(all_of),
                negatable=flags["negatable"],
                suppressed_by=self._strings(
                    node.get("suppressed_by", []), file, line, f"{what}.suppressed_by"
                ),
                requires=self._strings(node.get("requires", []), file, line, f"{what}.requires"),
            )
        )

    def _negation(self, node: Any, file: str, line: int) -> None:
        if not isinstance(node, str) or not node.strip():
            self.problem(file, line, "negations: expected a phrase such as 必要ない")
            return
        if node in self._negations:
            self.problem(file, line, f"negations: duplicate {node!r}")
            return
        self._negations.add(node)
        self.vocab.negations.append((node.strip(), file, line))

    def _user_word(self, node: Any, file: str, line: int) -> None:
        if isinstance(node, str):
            node = {"word": node}
        if not isinstance(node, dict):
            self.problem(file, line, "user_dictionary: expected a word or a mapping with 'word'")
            return
        self._unknown_keys(node, USERDICT_KEYS, file, line, "user_dictionary")
        word = node.get("word")
        if not isinstance(word, str | int) or not str(word).strip():
            self.problem(file, line, "user_dictionary: 'word' is required")
            return
        word = str(word).strip()
        if "," in word or any(ord(c) < 0x20 for c in word):
            self.problem(file, line, f"user_dictionary: {word!r} contains a comma or control character")
            return
        if word in self._user_words:
            self.problem(
                file, line, f"user_dictionary: duplicate word {word!r} (first in {self._user_words[word]})"
            )
            return
        self._user_words[word] = f"{file}:{line}"
        normalized = str(node.get("normalized", word)).strip() or word
        reading = node.get("reading")
        proper = node.get("proper", False)
        if not isinstance(proper, bool):
            self.problem(file, line, "user_dictionary.proper: expected true or false")
            proper = False
        self.vocab.user_words.append(
            UserWord(word, normalized, str(reading) if reading else None, proper, file, line)
        )

    def _example(self, node: Any, file: str, line: int) -> None:
        if not isinstance(node, dict):
            self.problem(file, line, "examples: expected a mapping with text and fields")
            return
        self._unknown_keys(node, EXAMPLE_KEYS, file, line, "example")
        text = node.get("text")
        if not isinstance(text, str) or not text.strip():
            self.problem(file, line, "example: 'text' is required")
            return
        if text in self._example_texts:
            self.problem(file, line, f"example: duplicate text (first in {self._example_texts[text]})")
            return
        self._example_texts[text] = f"{file}:{line}"
        fields: set[Field] = set()
        for name in (
            self._strings(node.get("fields", []), file, line, "example.fields") if node.get("fields") else ()
        ):
            if name not in _FIELDS:
                self.problem(file, line, f"example: unknown field {name!r}")
            else:
                fields.add(_FIELDS[name])
        crisis = node.get("crisis", False)
        oos = node.get("out_of_scope", False)
        if not isinstance(crisis, bool) or not isinstance(oos, bool):
            self.problem(file, line, "example: crisis and out_of_scope must be true or false")
            return
        if oos and (fields or crisis):
            self.problem(file, line, "example: an out_of_scope example has no fields and no crisis")
        if not oos and not fields:
            self.problem(file, line, "example: needs fields (or out_of_scope: true)")
        self.vocab.examples.append(Example(text, frozenset(fields), crisis, oos, file, line))

    def cross_check(self) -> None:
        ids = {g.id for g in self.vocab.groups} | BUILTIN_IDS
        for g in self.vocab.groups:
            for ref in (*g.suppressed_by, *g.requires):
                if ref not in ids:
                    self.problem(g.file, g.line, f"group {g.id!r}: refers to unknown group {ref!r}")


def read_vocabulary(knowledge_dir: Path, pack: str | None) -> tuple[Vocabulary, list[Problem]]:
    """Read every vocabulary file of the shared set and the pack; problems instead of exceptions."""
    reader = _Reader()
    files = vocabulary_files(knowledge_dir, pack)
    common = knowledge_dir / "_common" / "triage"
    if not common.is_dir():
        reader.problem(str(common), 1, "the shared triage vocabulary folder is missing")
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(knowledge_dir)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            reader.problem(str(path), 1, f"cannot read: {exc.strerror}")
            continue
        reader.read_file(path)
    reader.cross_check()
    reader.vocab.digest = digest.hexdigest()
    reader.vocab.files = files
    return reader.vocab, reader.problems


def read_vocabulary_cached(
    knowledge_dir: Path, pack: str | None, cache_dir: Path
) -> tuple[Vocabulary, list[Problem]]:
    """:func:`read_vocabulary`, reusing the result of an earlier read of the very same files (parsing the YAML is
    most of a cold start). The cache file is named by the files' bytes, the folder and this module's own source,
    so any edit reads the YAML again; a vocabulary with problems is never cached."""
    files = vocabulary_files(knowledge_dir, pack)
    key = hashlib.sha256(f"{sys.version}\n{knowledge_dir}\n{pack}\n".encode())
    try:
        key.update(Path(__file__).read_bytes())
        for path in files:
            key.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return read_vocabulary(knowledge_dir, pack)  # read_vocabulary reports the unreadable file
    target = cache_dir / f"vocab-{key.hexdigest()[:24]}.pickle"
    cached = load_pickled(target, Vocabulary)
    if cached is not None:
        return cached, []
    vocab, problems = read_vocabulary(knowledge_dir, pack)
    if not problems:
        store_pickled(target, vocab)
    return vocab, problems
