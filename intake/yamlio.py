"""YAML for files that admins edit: YAML 1.2 (``yes``/``no`` stay strings) and line numbers for every error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError


@dataclass(frozen=True)
class Problem:
    """One problem in a knowledge file, printed as ``FILE:LINE: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class YamlError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def load(path: Path) -> Any:
    """Parse ``path`` keeping line information (``CommentedMap``/``CommentedSeq``); raise :class:`YamlError`."""
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(Problem(str(path), 1, f"not UTF-8 text: {exc.reason}")) from exc
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(Problem(str(path), line, f"YAML syntax: {exc.problem or exc.context}")) from exc


def line_of(node: Any, key: str | int | None = None, default: int = 1) -> int:
    """1-based line of ``node`` (or of its ``key`` / index) in the file it came from."""
    try:
        if key is not None and isinstance(node, CommentedMap) and key in node:
            return int(node.lc.key(key)[0]) + 1
        if key is not None and isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            return int(node.lc.item(key)[0]) + 1
        if isinstance(node, CommentedMap | CommentedSeq):
            return int(node.lc.line) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        pass
    return default


def plain(node: Any) -> Any:
    """The same data as plain dicts, lists and scalars (for pydantic)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if node is not None and type(node).__module__.startswith("ruamel"):
        # ScalarString, ScalarFloat, ScalarBoolean… → built-in types
        for base in (bool, int, float, str):
            if isinstance(node, base):
                return base(node)
    return node
