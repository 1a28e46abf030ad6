"""Cross-validated figures of the triage rules, the statistical back-up (triage/model.py) and both combined.

The training data of the model (``knowledge/_common/triage/examples/*.jsonl`` and the vocabulary's ``examples:``)
is split into K folds by position (message i goes to fold i % K: deterministic). For each fold the model is trained
on the other folds plus all ``examples:`` sentences and scores the fold. Rules-only figures are fitted (the
vocabulary was tuned on these very messages), so they overstate what the rules do on new phrasings; the model-only
column is honest cross-validation, and the combined column shows what the model costs in precision on top of the
rules. With ``--sweep`` it also prints, for a grid of crisis thresholds, the model's recall and its false-alarm
rate on non-crisis messages (the figure that decides precision at a realistic share of crises: this set is about
half crises, real traffic far fewer), and the combined figures for a grid of field and scope thresholds.

Usage: ``.venv/bin/python benchmarks/triage_cv.py [--k 5] [--pack demo] [--sweep]`` (never give it dev.jsonl).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage import Triager, model  # noqa: E402
from triage.evaluate import Labelled, Report, evaluate  # noqa: E402
from triage.types import Field, TriageResult  # noqa: E402


def _labelled(s: model.Sample, i: int) -> Labelled:
    return Labelled(f"t{i:04d}", s.text, frozenset(Field(f) for f in s.fields), s.crisis, s.out_of_scope)


def model_only(m: model.Model, featurize: model._Featurize, text: str) -> TriageResult:
    probs, _ = m.probabilities(featurize(text))
    crisis = probs[0] >= model.CRISIS_THRESHOLD
    field_probs = dict(zip(model.FIELDS, probs[1:-1], strict=True))
    oos = not crisis and probs[-1] >= 0.5 and max(field_probs.values()) < 0.5  # the model alone: even odds
    fields = [] if oos else [f for f, p in field_probs.items() if p >= 0.5]
    if not oos and not fields:
        fields = [max(field_probs, key=lambda f: field_probs[f])]
    return TriageResult(
        text=text,
        fields=[Field(f) for f in fields],
        complex=len(fields) >= 2,
        crisis=crisis,
        out_of_scope=oos,
    )


def line(name: str, r: Report) -> str:
    return (
        f"| {name} | {r.crisis.recall:.3f} / {r.crisis.precision:.3f} | {r.out_of_scope.f1:.3f} | "
        f"{r.macro_f1:.3f} | {r.complex.f1:.3f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--pack", default="demo")
    ap.add_argument("--sweep", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    triager = Triager.load(ROOT / "knowledge", args.pack)
    featurize = model.featurizer(triager.analyzer)
    samples, problems = model.training_samples(triager.vocab)
    if problems:
        sys.exit("\n".join(f"{p.file}:{p.line}: {p.message}" for p in problems))
    fixed = [
        s for s in samples if not s.file.endswith(".jsonl")
    ]  # the examples: sentences, always trained on
    rows = [s for s in samples if s.file.endswith(".jsonl")]
    feats = [featurize(s.text) for s in rows]
    fixed_docs = [(featurize(s.text), s.labels()) for s in fixed]
    folds = [
        model.Model.train(
            fixed_docs + [(feats[i], s.labels()) for i, s in enumerate(rows) if i % args.k != k]
        )
        for k in range(args.k)
    ]
    labelled = [_labelled(s, i) for i, s in enumerate(rows)]
    fold_of = {lab.text: i % args.k for i, lab in enumerate(labelled)}
    full = triager.model

    def rules(text: str) -> TriageResult:
        triager.model = None
        return triager.triage(text)

    def combined(text: str) -> TriageResult:
        triager.model = folds[fold_of[text]]
        return triager.triage(text)

    def alone(text: str) -> TriageResult:
        return model_only(folds[fold_of[text]], featurize, text)

    print(f"{len(rows)} messages in {args.k} folds (+{len(fixed)} examples: always trained on)")
    print("| system | crisis R / P | out-of-scope F1 | macro-F1 | complex F1 |")
    print("|---|---|---|---|---|")
    print(line("rules only (fitted)", evaluate(labelled, rules)))
    print(line(f"model only ({args.k}-fold CV)", evaluate(labelled, alone)))
    print(line(f"rules + model ({args.k}-fold CV)", evaluate(labelled, combined)))
    if args.sweep:
        base = (
            model.CRISIS_THRESHOLD,
            model.FIELD_THRESHOLD,
            model.WEAK_FIELD_THRESHOLD,
            model.SCOPE_THRESHOLD,
        )
        negatives = sum(not r.crisis for r in labelled)
        print("| crisis threshold | model recall | model false alarms / non-crisis | combined crisis P |")
        print("|---|---|---|---|")
        for ct in (0.5, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99):
            model.CRISIS_THRESHOLD = ct
            a, c = evaluate(labelled, alone).crisis, evaluate(labelled, combined).crisis
            print(f"| {ct} | {a.recall:.3f} | {a.fp / negatives:.3f} | {c.precision:.3f} |")
        model.CRISIS_THRESHOLD = base[0]
        for ft in (0.3, 0.5, 0.7, 0.9, 0.97):
            model.FIELD_THRESHOLD = model.WEAK_FIELD_THRESHOLD = ft
            print(line(f"combined field≥{ft}", evaluate(labelled, combined)))
        model.FIELD_THRESHOLD, model.WEAK_FIELD_THRESHOLD = base[1], base[2]
        for st in (0.3, 0.5, 0.7, 0.9):
            model.SCOPE_THRESHOLD = st
            print(line(f"combined scope≥{st}", evaluate(labelled, combined)))
        model.SCOPE_THRESHOLD = base[3]
    triager.model = full
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
