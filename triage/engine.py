"""PLACEHOLDER (to be replaced by the triage part): the Triager interface the rest of the product uses."""

from __future__ import annotations

from pathlib import Path

from intake.yamlio import Problem
from triage.types import Field, TriageResult

_STUB_TERMS = {"介護": Field.KAIGO, "障害": Field.SHOGAI, "子": Field.KODOMO, "お金": Field.KONKYU}


class Triager:
    """Built once per knowledge pack (shared vocabulary + the pack's own terms); thread-safe ``triage``."""

    @classmethod
    def load(cls, knowledge_dir: Path, pack: str | None = None) -> Triager:
        return cls()

    @staticmethod
    def check(knowledge_dir: Path, pack: str | None = None) -> list[Problem]:
        """Problems in the vocabulary files (schema, duplicates, examples triaged unlike their labels)."""
        return []

    def triage(self, text: str) -> TriageResult:
        fields = sorted({f for term, f in _STUB_TERMS.items() if term in text}, key=list(Field).index)
        if not fields and text.strip():
            fields = [Field.HAZAMA]
        return TriageResult(text=text, fields=fields, complex=len(fields) >= 2, out_of_scope=not fields)
