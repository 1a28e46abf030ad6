"""The result of triage: what the message is about, whether it is urgent, and why."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField


class Field(enum.StrEnum):
    """The five fields of 包括的相談支援. 狭間 is what none of the four systems owns (ひきこもり, 孤立, DV…)."""

    KAIGO = "介護"
    SHOGAI = "障害"
    KODOMO = "子ども"
    KONKYU = "困窮"
    HAZAMA = "狭間"


FIELD_ORDER: tuple[Field, ...] = (Field.KAIGO, Field.SHOGAI, Field.KODOMO, Field.KONKYU, Field.HAZAMA)


class CrisisKind(enum.StrEnum):
    SUICIDE = "suicide"  # 希死念慮・自傷
    ABUSE = "abuse"  # 虐待 (child, older person, disabled person)
    VIOLENCE = "violence"  # DV and other violence happening now
    NO_FOOD = "no_food"  # 何日も食べていない
    MEDICAL = "medical"  # a medical emergency
    MISSING = "missing"  # 行方不明: a person with dementia or a child who has not come back


class Evidence(BaseModel):
    """One reason for a label: a word, phrase or rule found at ``start``..``end`` of the ORIGINAL text.

    ``surface`` is the text as the resident wrote it (``text[start:end]``), ``normalized`` the Sudachi normalised
    forms (or the normalised text a pattern matched), ``rule`` the vocabulary group (or built-in rule) that fired.
    """

    model_config = ConfigDict(frozen=True)

    label: str  # a Field value, "crisis:<kind>", "out_of_scope", or "negation"
    kind: str  # "term", "phrase", "rule", "model", "negation"
    surface: str  # the text as written
    normalized: str  # the lemma / normalised form that matched
    start: int
    end: int
    weight: float = 1.0
    rule: str | None = None  # the rule or lexicon entry id that fired

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "kind": self.kind,
            "surface": self.surface,
            "normalized": self.normalized,
            "start": self.start,
            "end": self.end,
            "weight": self.weight,
            "rule": self.rule,
        }


class TriageResult(BaseModel):
    text: str
    fields: list[Field] = PydField(default_factory=list)
    complex: bool = False
    crisis: bool = False
    crisis_kinds: list[CrisisKind] = PydField(default_factory=list)
    out_of_scope: bool = False
    scores: dict[str, float] = PydField(default_factory=dict)
    evidence: list[Evidence] = PydField(default_factory=list)

    def contract_dict(self) -> dict[str, object]:
        """The JSON shape of ``intake triage`` (CONTRACT.md)."""
        return {
            "text": self.text,
            "fields": [f.value for f in self.fields],
            "complex": self.complex,
            "crisis": self.crisis,
            "crisis_kinds": [k.value for k in self.crisis_kinds],
            "out_of_scope": self.out_of_scope,
            "scores": self.scores,
            "evidence": [e.as_dict() for e in self.evidence],
        }
