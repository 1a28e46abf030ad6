"""Triage: a resident's Japanese message → fields, crisis, complexity and the evidence for each (pure, no I/O
beyond reading the vocabulary files once)."""

from triage.engine import Triager
from triage.types import FIELD_ORDER, CrisisKind, Evidence, Field, TriageResult

__all__ = ["FIELD_ORDER", "CrisisKind", "Evidence", "Field", "TriageResult", "Triager"]
