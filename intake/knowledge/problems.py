"""Problems found in knowledge files: errors refuse a pack, notices (warnings) only tell an admin what to fill."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from intake.yamlio import Problem


@dataclass(frozen=True)
class Notice(Problem):
    """A warning: printed by the check, never a reason to refuse a pack (e.g. a phone number still to be filled)."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: warning: {self.message}"


def is_error(problem: Problem) -> bool:
    return not isinstance(problem, Notice)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if is_error(p)]


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """The same problems once each, in their first order (the shared files are checked once per pack)."""
    seen: set[tuple[str, str, int, str]] = set()
    out: list[Problem] = []
    for p in problems:
        key = (type(p).__name__, p.file, p.line, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


class KnowledgeError(Exception):
    """A pack that cannot be used; ``problems`` are every error found, each ``FILE:LINE: message``."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems[:20])
        more = f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge files:\n{lines}{more}")


class UnknownPackError(KnowledgeError):
    """The pack id names no folder with a ``pack.yaml``."""

    def __init__(self, pack_id: str, valid: list[str], problem: Problem) -> None:
        self.pack_id = pack_id
        self.valid = valid
        super().__init__([problem])
