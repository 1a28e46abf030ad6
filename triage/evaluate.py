"""Metrics of triage on a labelled JSONL file (format: shared eval/LABELS.md): pure functions, no printing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.types import FIELD_ORDER, Field, TriageResult


@dataclass(frozen=True)
class Labelled:
    id: str
    text: str
    fields: frozenset[Field]
    crisis: bool
    out_of_scope: bool

    @property
    def complex(self) -> bool:
        return len(self.fields) >= 2


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    n: int = 0
    fields: dict[Field, Counts] = field(default_factory=lambda: {f: Counts() for f in FIELD_ORDER})
    complex: Counts = field(default_factory=Counts)
    crisis: Counts = field(default_factory=Counts)
    out_of_scope: Counts = field(default_factory=Counts)
    misses: list[str] = field(default_factory=list)

    @property
    def macro_f1(self) -> float:
        return sum(c.f1 for c in self.fields.values()) / len(self.fields)

    def lines(self) -> list[str]:
        out = [f"messages: {self.n}", f"{'field':<8} {'P':>6} {'R':>6} {'F1':>6}"]
        for f, c in self.fields.items():
            out.append(f"{f.value:<8} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}")
        out.append(f"macro-F1 {self.macro_f1:.3f}")
        out.append(
            f"complex  P {self.complex.precision:.3f} R {self.complex.recall:.3f} F1 {self.complex.f1:.3f}"
        )
        out.append(f"crisis   recall {self.crisis.recall:.3f} precision {self.crisis.precision:.3f}")
        out.append(
            f"out_of_scope P {self.out_of_scope.precision:.3f} R {self.out_of_scope.recall:.3f} "
            f"F1 {self.out_of_scope.f1:.3f}"
        )
        return out


def in_split(message_id: str) -> str:
    """The deterministic part of a labelled message: "tune" (~70%) or "held" (~30%), by sha256 of its id."""
    return "tune" if int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % 10 < 7 else "held"


class LabelError(ValueError):
    pass


def read_labelled(path: Path) -> list[Labelled]:
    names = {f.value: f for f in Field}
    rows: list[Labelled] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rows.append(
                Labelled(
                    id=str(obj.get("id", lineno)),
                    text=str(obj["text"]),
                    fields=frozenset(names[f] for f in obj.get("fields", [])),
                    crisis=bool(obj.get("crisis", False)),
                    out_of_scope=bool(obj.get("out_of_scope", False)),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LabelError(f"{path}:{lineno}: not a labelled message ({exc})") from exc
    return rows


def evaluate(rows: Iterable[Labelled], triage: Callable[[str], TriageResult]) -> Report:
    report = Report()
    for row in rows:
        r = triage(row.text)
        got = frozenset(r.fields)
        report.n += 1
        for f in FIELD_ORDER:
            report.fields[f].add(f in row.fields, f in got)
        report.complex.add(row.complex, r.complex)
        report.crisis.add(row.crisis, r.crisis)
        report.out_of_scope.add(row.out_of_scope, r.out_of_scope)
        if got != row.fields or r.crisis != row.crisis or r.out_of_scope != row.out_of_scope:
            report.misses.append(
                f"MISS {row.id} want={_label(row.fields, row.crisis, row.out_of_scope)} "
                f"got={_label(got, r.crisis, r.out_of_scope)} text={json.dumps(row.text, ensure_ascii=False)}"
            )
    return report


def _label(fields: frozenset[Field], crisis: bool, oos: bool) -> str:
    parts = [f.value for f in FIELD_ORDER if f in fields]
    if crisis:
        parts.append("crisis")
    if oos:
        parts.append("out_of_scope")
    return "+".join(parts) or "-"
