"""Triage on our own labelled situations (knowledge/_common/triage/examples/situations.jsonl, also the training data
of the statistical back-up, triage/model.py), written independently of dev.jsonl.

Each message is a situation as residents write on LINE: every crisis kind in direct, indirect and dialect wording
(秋田, 博多, 金沢, 関西), children's hiragana, emoji and typos, long stories with the crisis in one clause; hard
negatives that must not raise a crisis (violence escaped to 実家 or a シェルター, 疲れた / 限界, 死ぬほど忙しい,
news about suicide, 殺虫剤, a grandmother who died last year); out-of-scope town questions against welfare
procedure questions. Labels follow ../shared/eval/LABELS.md. The vocabulary is tuned for kinds of situations, so
these targets can fail when an edit of the knowledge files loses a kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage import Triager
from triage.evaluate import Labelled, Report, evaluate, read_labelled

SITUATIONS = (
    Path(__file__).resolve().parents[2] / "knowledge" / "_common" / "triage" / "examples" / "situations.jsonl"
)


@pytest.fixture(scope="module")
def rows() -> list[Labelled]:
    return read_labelled(SITUATIONS)


@pytest.fixture(scope="module")
def report(triager: Triager, rows: list[Labelled]) -> Report:
    return evaluate(rows, triager.triage)


def _why(report: Report) -> str:
    return "\n".join([*report.lines(), *report.misses])


def test_the_set_is_large_and_labelled_consistently(rows: list[Labelled]) -> None:
    raw = [json.loads(line) for line in SITUATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 250
    assert [r["id"] for r in raw] == [f"s{i:03d}" for i in range(1, len(raw) + 1)]
    assert len({r.text for r in rows}) == len(rows), "duplicate texts"
    for r in rows:
        if r.out_of_scope:
            assert not r.fields and not r.crisis, r.id
        else:
            assert r.fields, f"{r.id}: a consultation needs at least one field"
    # enough of each kind to measure: crises, hard negatives, out of scope, composite cases
    assert sum(r.crisis for r in rows) >= 100
    assert sum(not r.crisis and not r.out_of_scope for r in rows) >= 100
    assert sum(r.out_of_scope for r in rows) >= 40
    assert sum(r.complex for r in rows) >= 30


def test_crisis_recall_and_precision(report: Report) -> None:
    assert report.crisis.recall >= 0.98, _why(report)
    assert report.crisis.precision >= 0.85, _why(report)


def test_out_of_scope_f1(report: Report) -> None:
    assert report.out_of_scope.f1 >= 0.90, _why(report)


def test_fields_macro_f1(report: Report) -> None:
    assert report.macro_f1 >= 0.90, _why(report)


def test_complex_f1(report: Report) -> None:
    assert report.complex.f1 >= 0.85, _why(report)


def test_no_crisis_on_out_of_scope_messages(triager: Triager, rows: list[Labelled]) -> None:
    """A town question that mentions 自殺予防, 包丁 or 殺虫剤 must not page staff as a crisis."""
    raised = [r.id for r in rows if r.out_of_scope and triager.triage(r.text).crisis]
    assert not raised
