"""Replay of the blind batches in the order they were written: how well the statistical back-up's crisis head finds
crises in text it was never trained on.

Each blind batch (``knowledge/_common/triage/examples/blind/freshN.jsonl``, from ``--first`` on) is scored by a
model trained on everything else in the knowledge files except that batch and every later one: the vocabulary's
``examples:``, our own training situations (today's: they were partly written after reading earlier batches, so the
figures are a little optimistic) and the batches written before it. This is how a new, unseen batch meets the
model, so it is the figure to choose thresholds and features by; ``benchmarks/triage_cv.py`` folds over our own
situations, whose hard negatives make every threshold look safe.

For each threshold it prints crises caught and false alarms, pooled, for the whole message alone and with the
sentence scoring of ``model.crisis_part`` (a sentence or pair of adjacent sentences ≥ ``PART_THRESHOLD``), and the
ranking quality (AUC). The rules are left out on purpose: they were tuned on these batches.

Usage: ``.venv/bin/python benchmarks/triage_replay.py [--first 25] [--pack demo] [--part 0.99,0.995]``
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage import Triager, model  # noqa: E402
from triage.normalize import normalize  # noqa: E402

_BATCH = re.compile(r"fresh(\d*)\.jsonl$")
THRESHOLDS = (0.96, 0.9, 0.8, 0.7, 0.5)


def batch_number(sample: model.Sample) -> int | None:
    """N of ``examples/blind/freshN.jsonl`` (``fresh.jsonl`` is 1); None for any other training file."""
    path = Path(sample.file)
    if path.parent.name != "blind":
        return None
    m = _BATCH.search(path.name)
    return (int(m.group(1)) if m.group(1) else 1) if m else None


def auc(positives: list[float], negatives: list[float]) -> float:
    """The chance that a crisis scores above a non-crisis (ties count half)."""
    negs = sorted(negatives)
    won = sum(
        bisect.bisect_left(negs, p) + (bisect.bisect_right(negs, p) - bisect.bisect_left(negs, p)) / 2
        for p in positives
    )
    return won / max(1, len(positives) * len(negatives))


def _caught(decided: list[tuple[bool, bool]]) -> str:
    """Crises caught / false alarms among (is a crisis, raised) pairs."""
    return f"{sum(c and y for c, y in decided)} / {sum(y and not c for c, y in decided)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--first", type=int, default=25, help="first blind batch to score (earlier ones only train)"
    )
    ap.add_argument("--pack", default="demo")
    ap.add_argument(
        "--part",
        default=str(model.PART_THRESHOLD),
        help="sentence-score thresholds to compare, comma-separated (default: the shipped one)",
    )
    args = ap.parse_args()
    parts = sorted(float(x) for x in args.part.split(","))
    model.PART_THRESHOLD = parts[0]  # the best part at or above the lowest; each threshold is applied below

    started = time.perf_counter()
    triager = Triager.load(ROOT / "knowledge", args.pack)
    samples, problems = model.training_samples(triager.vocab)
    if problems:
        sys.exit(f"broken training files: {problems[0]}")
    parsed: dict[str, tuple[str, Sequence[model.Morpheme], list[str], set[str]]] = {}

    def parse(text: str) -> tuple[str, Sequence[model.Morpheme], list[str], set[str]]:
        if text not in parsed:  # exactly as the engine reads a message
            norm = normalize(text).text
            ms, lemmas = triager.tokens(norm)
            parsed[text] = (norm, ms, lemmas, model.features(norm, lemmas))
        return parsed[text]

    numbers = [batch_number(s) for s in samples]
    batches = sorted({n for n in numbers if n is not None and n >= args.first})
    if not batches:
        sys.exit(f"no blind batch numbered {args.first} or later")
    # per scored message: (is a crisis, whole-message probability, best part probability or 0)
    scored: list[tuple[bool, float, float]] = []
    for b in batches:
        train = [
            (parse(s.text)[3], s.labels())
            for s, n in zip(samples, numbers, strict=True)
            if n is None or n < b
        ]
        m = model.Model.train(train)
        for s, n in zip(samples, numbers, strict=True):
            if n != b:
                continue
            norm, ms, lemmas, feats = parse(s.text)
            whole = m.crisis_probability(feats)
            part = model.crisis_part(m, norm, ms, lemmas)
            scored.append((s.crisis, whole, part.probability if part else 0.0))
        print(f"fresh{b}: trained on {len(train)} messages", flush=True)

    crises = sum(c for c, _, _ in scored)
    print(
        f"\n{len(scored)} messages in {len(batches)} batches (fresh{batches[0]}–fresh{batches[-1]}), {crises} crises"
    )
    print(
        f"AUC whole message {auc([w for c, w, _ in scored if c], [w for c, w, _ in scored if not c]):.4f}, "
        f"with sentences {auc([max(w, p) for c, w, p in scored if c], [max(w, p) for c, w, p in scored if not c]):.4f}"
    )
    head = " | ".join(f"+ sentences ≥ {t}: caught / false alarms" for t in parts)
    print(f"| crisis threshold | whole message: caught / false alarms | {head} |")
    print("|---|---|" + "---|" * len(parts))
    for t in THRESHOLDS:
        cells = [_caught([(c, w >= t) for c, w, _ in scored])]
        cells += [_caught([(c, w >= t or p >= pt) for c, w, p in scored]) for pt in parts]
        print(f"| {t} | " + " | ".join(cells) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
