"""Statistical back-up of the triage rules: a naive Bayes model over character and lemma n-grams.

The rules (vocabulary and situation patterns) decide first; this model catches phrasings they do not know. It is
trained at load time, deterministically, on the labelled sentences shipped in the knowledge files: every
``<triage dir>/examples/**/*.jsonl`` (format of ``shared/eval/LABELS.md``: our own training situations, and the
batches written blind once they were scored, ``examples/blind/``) plus the ``examples:`` of the vocabulary.
Nothing is downloaded and nothing random is used, so the same files give the same weights.

Features of a message: character bi- and trigrams of the normalised text, and lemma uni-, bi- and trigrams of the Sudachi
normalised forms the engine already has (the message is never tokenised twice). Heads: ``crisis`` and
``out_of_scope`` (binary) and the five fields (one-vs-rest). Each head scores a message with the naive Bayes
log-count ratios of the features it contains (NBSVM's ``r``, without the SVM), divided by the square root of their
number so that long stories are not scored more extreme than short messages, plus the log prior ratio.
:func:`combine` folds the heads into the rules' outcome (thresholds chosen by cross-validation, see
``benchmarks/triage_cv.py`` and docs/triage.md "Statistical back-up"), and names the n-grams that decided.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from pathlib import Path
from typing import Protocol

from intake.yamlio import Problem
from triage.cache import load_pickled, store_pickled
from triage.lexicon import Vocabulary
from triage.types import FIELD_ORDER

FIELDS: tuple[str, ...] = tuple(f.value for f in FIELD_ORDER)
HEADS: tuple[str, ...] = ("crisis", *FIELDS, "out_of_scope")
_CRISIS, _OOS = 0, len(HEADS) - 1
_HAZAMA = "狭間"
_PLACEHOLDER = "crisis_without_field"  # the engine's rule for a crisis with no field
_LEMMA = "\x1f"  # lemma features start with it; normalised text never contains it (a control character)
EXAMPLES_DIR = "examples"

# Combination thresholds on the heads' probabilities (cross-validated on the training data, docs/triage.md).
# crisis = rules OR model ≥ this. Chosen on blind batches scored by the engine of their day with a model trained only on
# what existed then (docs/triage.md "Statistical back-up"): 0.96 → 0.9 caught 8 more crises of 373 for 4 more false
# alarms; lower thresholds added false alarms faster than crises.
CRISIS_THRESHOLD = 0.9
FIELD_THRESHOLD = 0.9  # a field the model is confident about, when the rules found no field
WEAK_FIELD_THRESHOLD = 0.9  # a field with some rule evidence, below the rules' threshold
SCOPE_THRESHOLD = (
    0.9  # rules' out of scope is lifted only when a field head reaches this and the oos head does not,
)
# or when the crisis head reaches it
ALPHA = 0.25  # additive smoothing of the counts (cross-validated: 0.1–0.5 alike, 1.0 worse)
MIN_DF = 1  # every n-gram seen in training counts (cross-validated: 2 or 3 lose crisis recall)
TOP_EVIDENCE = 3  # n-grams named per label the model decided
# A crisis told in one or two sentences of a longer message (「…申請の締切はいつですか。それと、もう終わりにします。」) is
# scored on those sentences too: the rest of a long question pulls the whole-message score down. Each sentence and
# each pair of adjacent sentences counts when its crisis probability reaches this (short parts score extreme, so a
# surer threshold than the whole message's; chosen on blind batches, docs/triage.md "Statistical back-up").
PART_THRESHOLD = 0.99
_SENTENCE_END = re.compile(r"[。！？!?\n]+")
# A character n-gram whose crisis log-count ratio is at least this is a crisis cue (the gate of :func:`needed`).
# Chosen so that gating changes no field or scope decision on the training files and tests/triage/data/*.jsonl,
# and withholds a model crisis only where no cue exists (checked by tests/triage/test_model.py); lower is safer
# and slower.
CUE_WEIGHT = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled training message (LABELS.md): ``fields`` as Field values."""

    text: str
    fields: frozenset[str]
    crisis: bool
    out_of_scope: bool
    file: str = ""
    line: int = 0

    def labels(self) -> tuple[bool, ...]:
        return (self.crisis, *(f in self.fields for f in FIELDS), self.out_of_scope)


class Morpheme(Protocol):
    def begin(self) -> int: ...
    def end(self) -> int: ...


# -- reading the training files ------------------------------------------------------------------------------
def example_files(dirs: Iterable[Path]) -> list[Path]:
    """``examples/**/*.jsonl`` under each triage directory (subfolders too: ``examples/blind/``), in a fixed
    order."""
    out: list[Path] = []
    for d in dirs:
        folder = Path(d) / EXAMPLES_DIR
        if folder.is_dir():
            out.extend(sorted(p for p in folder.rglob("*.jsonl") if p.is_file()))
    return out


def read_samples(path: Path) -> tuple[list[Sample], list[Problem]]:
    """Samples of one JSONL file and a FILE:LINE problem for every line that is not a valid labelled message."""
    samples: list[Sample] = []
    problems: list[Problem] = []
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(name, 0, f"cannot read training examples: {exc}")]
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, no, f"not JSON: {exc.msg}"))
            continue
        why = _invalid(row)
        if why:
            problems.append(Problem(name, no, why))
            continue
        samples.append(
            Sample(
                row["text"],
                frozenset(row["fields"]),
                bool(row["crisis"]),
                bool(row["out_of_scope"]),
                name,
                no,
            )
        )
    return samples, problems


def _invalid(row: object) -> str:
    if not isinstance(row, dict):
        return "expected an object with text, fields, crisis, out_of_scope"
    text, fields = row.get("text"), row.get("fields")
    if not isinstance(text, str) or not text.strip():
        return "text: expected a non-empty string"
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return "fields: expected a list of field names"
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        return f"fields: unknown field {unknown[0]!r}; valid: {', '.join(FIELDS)}"
    for key in ("crisis", "out_of_scope"):
        if not isinstance(row.get(key), bool):
            return f"{key}: expected true or false"
    if row["out_of_scope"] and (fields or row["crisis"]):
        return "out_of_scope: an out-of-scope message has no fields and no crisis"
    if not row["out_of_scope"] and not fields:
        return "fields: a consultation needs at least one field"
    return ""


# -- features -------------------------------------------------------------------------------------------------
def features(
    norm: str,
    lemmas: Sequence[str],
    bigrams: Sequence[str] | None = None,
    trigrams: Sequence[str] | None = None,
) -> set[str]:
    """Character bi- and trigrams of the normalised text and lemma uni/bi/trigrams (prefixed with a separator); built
    with C-level maps (a few µs for a LINE message). ``bigrams``, ``trigrams``: the text's character n-grams when
    the caller has them already.

    Lemma trigrams (「返す 為る 積もり」, 「誕生日 を 迎える」) carry a phrase across the words between: on blind batches,
    each scored by a model trained only on what came before it, they caught 7 more of 128 crises at the 0.9
    threshold for one more false alarm (docs/triage.md "Statistical back-up"); character 4-grams added little more
    for twice the n-grams.

    Single characters are not features: on blind batches they only added false crises (「ぇ」「手」「円」 pushed the
    crisis head) and cost a third of the scoring time; bi- and trigrams carry what they knew."""
    return Grams.of(norm, lemmas, bigrams, trigrams).features()


@dataclass(frozen=True, slots=True)
class Grams:
    """A message's n-grams by position: ``bigrams[i]`` is ``norm[i:i+2]``, ``pairs[k]`` the lemmas k and k+1 (marked).
    A sentence's features are slices of these lists (the same string objects, hashed once), not new strings."""

    bigrams: Sequence[str]
    trigrams: Sequence[str]
    marked: list[str]  # lemma unigrams
    pairs: list[str]
    triples: list[str]

    @classmethod
    def of(
        cls,
        norm: str,
        lemmas: Sequence[str],
        bigrams: Sequence[str] | None = None,
        trigrams: Sequence[str] | None = None,
    ) -> Grams:
        if bigrams is None:
            bigrams = list(map(str.__add__, norm, norm[1:]))
        if trigrams is None:
            trigrams = list(map(str.__add__, bigrams, norm[2:]))
        marked = list(map(_LEMMA.__add__, lemmas))
        pairs = list(map(str.__add__, marked, marked[1:]))
        return cls(bigrams, trigrams, marked, pairs, list(map(str.__add__, pairs, marked[2:])))

    def features(self) -> set[str]:
        feats = set(self.bigrams)
        feats.update(self.trigrams, self.marked, self.pairs, self.triples)
        return feats

    def part(self, a: int, b: int, la: int, lb: int) -> set[str]:
        """The features of ``norm[a:b]`` whose lemmas are ``lemmas[la:lb]``: exactly ``features(norm[a:b],
        lemmas[la:lb])``."""
        feats = set(self.bigrams[a : max(a, b - 1)])
        feats.update(
            self.trigrams[a : max(a, b - 2)],
            self.marked[la:lb],
            self.pairs[la : max(la, lb - 1)],
            self.triples[la : max(la, lb - 2)],
        )
        return feats


# -- the model ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Model:
    """Per head: the log-count ratio of every kept feature and the log prior ratio."""

    # every kept feature's log-count ratio in every head, one row per feature in training order (for the evidence:
    # 8 bytes a weight, where a dict of tuples of floats took 75 MB more)
    ratios: array[float]
    bias: list[float]
    # feature → each head's weight in fixed point and a count of 1, in one integer; above those fields, the feature's
    # row in ``ratios`` (sums never read it)
    packed: dict[str, int]
    bits: int  # width of one field of ``packed``
    crisis_packed: dict[
        str, int
    ]  # feature → the crisis head's weight in fixed point and a count of 1 (small ints)
    # Character n-grams (bi- and trigrams, like every character feature) that push the crisis head up strongly: a
    # message with none of them cannot reach the crisis threshold in practice, so the model is not run on it when
    # nothing else could change (see :func:`needed`). Two set lookups of the message's n-grams, not a regex.
    crisis_cues: frozenset[str] | None = None

    def __getstate__(self) -> tuple[object, ...]:
        """Pickled as columns (the features, then each dict's values, in training order) so that loading allocates
        each column's objects one after another: the commonest n-grams' keys and weights end up side by side."""
        keys = list(self.packed)
        crisis_packed = self.crisis_packed
        return (
            keys,
            list(self.packed.values()),
            [crisis_packed[k] for k in keys],
            self.ratios,
            self.bias,
            self.bits,
            self.crisis_cues,
        )

    def __setstate__(self, state: tuple[object, ...]) -> None:
        # a cache file written by other code (a half-finished upgrade, a folder shared between versions) is refused,
        # and the model trained again (``load_pickled``)
        if not isinstance(state, tuple) or len(state) != 7:
            raise TypeError("not a model pickled by this version of triage/model.py")
        keys, packed, crisis_packed, ratios, bias, bits, cues = state
        if not (
            isinstance(keys, list)
            and isinstance(packed, list)
            and isinstance(crisis_packed, list)
            and isinstance(ratios, array)
            and isinstance(bias, list)
            and isinstance(bits, int)
            and (cues is None or isinstance(cues, frozenset))
        ):
            raise TypeError("not a model pickled by this version of triage/model.py")
        self.packed = dict(zip(keys, packed, strict=True))
        self.crisis_packed = dict(zip(keys, crisis_packed, strict=True))
        self.ratios, self.bias, self.bits, self.crisis_cues = ratios, bias, bits, cues

    def has_crisis_cue(
        self, norm: str, bigrams: Sequence[str] | None = None, trigrams: Sequence[str] | None = None
    ) -> bool:
        cues = self.crisis_cues
        if cues is None:
            return True
        if bigrams is None:
            bigrams = list(map(str.__add__, norm, norm[1:]))
        if not cues.isdisjoint(bigrams):
            return True
        return not cues.isdisjoint(map(str.__add__, bigrams, norm[2:]) if trigrams is None else trigrams)

    @classmethod
    def train(cls, docs: Sequence[tuple[set[str], tuple[bool, ...]]], alpha: float = ALPHA) -> Model:
        """Count once, deterministically (sorted features; no randomness). Each message's features are counted for
        the heads it is labelled with only (C-level ``Counter.update``); a feature's count in a head's negatives is
        its document frequency minus its count in the positives (exact integers, so the weights are the same)."""
        df: Counter[str] = Counter()
        for feats, _ in docs:
            df.update(feats)
        # most frequent first: the order of the rows is also the order in which a cached model's strings and weights
        # are laid out in memory (:meth:`__getstate__`), so the n-grams of nearly every message share cache lines
        vocab = sorted((f for f, n in df.items() if n >= MIN_DF), key=lambda f: (-df[f], f))
        keep = frozenset(vocab)
        positives: list[Counter[str]] = [Counter() for _ in HEADS]
        n_pos = [0] * len(HEADS)
        for feats, labels in docs:
            kept = feats & keep
            for h, on in enumerate(labels):
                if on:
                    positives[h].update(kept)
                    n_pos[h] += 1
        total = sum(df[f] for f in vocab)
        weights: list[dict[str, float]] = []
        bias: list[float] = []
        n_vocab = len(vocab)
        for h in range(len(HEADS)):
            pos = positives[h]
            n_neg = len(docs) - n_pos[h]
            in_pos = sum(pos.values())
            lp = math.log(in_pos + alpha * n_vocab)
            ln = math.log(total - in_pos + alpha * n_vocab)
            weights.append(
                {f: math.log(pos[f] + alpha) - lp - math.log(df[f] - pos[f] + alpha) + ln for f in vocab}
            )
            bias.append(math.log((n_pos[h] + 1) / (n_neg + 1)))
        rows = [tuple(w[f] for w in weights) for f in vocab]
        # a field never overflows, even when every feature is present
        bits = _BITS + max(1, len(vocab)).bit_length()
        crisis = weights[_CRISIS]
        cues = frozenset(f for f in vocab if not f.startswith(_LEMMA) and crisis[f] >= CUE_WEIGHT) or None
        row_at = bits * (len(HEADS) + 1)  # above every head's field and the count
        packed = {f: _pack(ws, bits) | k << row_at for k, (f, ws) in enumerate(zip(vocab, rows, strict=True))}
        crisis_packed = {f: _pack(ws[_CRISIS : _CRISIS + 1], bits) for f, ws in zip(vocab, rows, strict=True)}
        ratios = array("d", [w for ws in rows for w in ws])
        return cls(ratios, bias, packed, bits, crisis_packed, cues)

    def probabilities(self, feats: set[str]) -> tuple[list[float], int]:
        """Each head's probability and how many features the model knew. One dict lookup per feature and one
        C-level ``sum`` of packed integers score every head at once; integer sums are exact, so no result depends on
        the order of the set."""
        total = sum(map(self.packed.get, feats, repeat(0)))
        bits = self.bits
        mask = (1 << bits) - 1
        n = (total >> (bits * len(self.bias))) & mask
        if not n:
            return [_sigmoid(b) for b in self.bias], 0
        shift = n * _OFFSET
        scale = 1.0 / (math.sqrt(n) * _UNIT)
        return [
            _sigmoid(b + (((total >> (bits * h)) & mask) - shift) * scale) for h, b in enumerate(self.bias)
        ], n

    def crisis_probability(self, feats: set[str], values: Mapping[str, int] | None = None) -> float:
        """The crisis head alone, exactly as :meth:`probabilities` computes it (same fixed-point weights), from a
        sum of small integers instead of wide ones: what a message needs when only a crisis could change.
        ``values``: :meth:`crisis_values` of a message that holds ``feats`` (a small table, in the processor's
        cache, instead of the model's)."""
        return self._crisis_of(
            sum(map((self.crisis_packed if values is None else values).get, feats, repeat(0)))
        )

    def crisis_from(self, values: Mapping[str, int]) -> float:
        """The crisis probability of a whole message from its :meth:`crisis_values`."""
        return self._crisis_of(sum(values.values()))

    def _crisis_of(self, total: int) -> float:
        """The crisis probability from a sum of packed crisis weights."""
        bits = self.bits
        n = total >> bits
        if not n:
            return _sigmoid(self.bias[_CRISIS])
        weight = (total & ((1 << bits) - 1)) - n * _OFFSET
        return _sigmoid(self.bias[_CRISIS] + weight * (1.0 / (math.sqrt(n) * _UNIT)))

    def crisis_values(self, feats: Iterable[str]) -> dict[str, int]:
        """Each feature's packed crisis weight (0 when unknown): the model's table cut down to one message, so that
        its sentences are scored without going back to the 200,000-entry table."""
        feats = list(feats)
        return dict(zip(feats, map(self.crisis_packed.get, feats, repeat(0)), strict=True))

    def has_crisis_cue_in(self, grams: Grams, a: int, b: int) -> bool:
        """:meth:`has_crisis_cue` of ``norm[a:b]``, from the message's n-grams by position."""
        cues = self.crisis_cues
        if cues is None:
            return True
        return not cues.isdisjoint(grams.bigrams[a : max(a, b - 1)]) or not cues.isdisjoint(
            grams.trigrams[a : max(a, b - 2)]
        )

    def known(self, feats: Iterable[str]) -> list[str]:
        """The features the model has weights for."""
        packed = self.packed
        return [f for f in feats if f in packed]

    def top(self, head: int, present: Iterable[str], k: int = TOP_EVIDENCE) -> list[tuple[str, float]]:
        """The ``k`` present n-grams that pushed ``head`` up the most (longest first among equals)."""
        ratio = self.ratio
        ranked = sorted(((w, len(f), f) for f in present if (w := ratio(f, head)) > 0), reverse=True)
        return [(f, wt) for wt, _n, f in _no_overlap(ranked, k)]

    def ratio(self, feature: str, head: int) -> float:
        """The log-count ratio of a known feature in one head."""
        heads = len(self.bias)
        return self.ratios[(self.packed[feature] >> (self.bits * (heads + 1))) * heads + head]


# Fixed point for the packed sums: a weight w (clamped to ±127) becomes round(w·2^8) + 2^15, in [1, 2^16); each
# head gets a field of _BITS + log2(vocabulary) bits, so a sum over every known feature still fits; a last field
# counts the features.
_UNIT = 1 << 8
_OFFSET = 1 << 15
_BITS = 16


def _pack(weights: Sequence[float], bits: int) -> int:
    packed = 0
    for h, w in enumerate(weights):
        packed |= (round(max(-127.0, min(127.0, w)) * _UNIT) + _OFFSET) << (bits * h)
    return packed | 1 << (bits * len(weights))


def _no_overlap(ranked: list[tuple[float, int, str]], k: int) -> list[tuple[float, int, str]]:
    """Skip an n-gram whose text lies inside one already named (「ランダ」 after 「ベランダ」)."""
    out: list[tuple[float, int, str]] = []
    for item in ranked:
        shown = item[2].replace(_LEMMA, "")
        if any(shown in g[2].replace(_LEMMA, "") for g in out):
            continue
        out.append(item)
        if len(out) == k:
            break
    return out


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def train_samples(samples: Sequence[Sample], featurize: _Featurize) -> Model:
    return Model.train([(featurize(s.text), s.labels()) for s in samples])


class _Featurize(Protocol):
    def __call__(self, text: str) -> set[str]: ...


# -- combination with the rules -------------------------------------------------------------------------------
class Outcome(Protocol):
    """The engine's mutable outcome (triage.engine._Outcome)."""

    fields: list[str]
    crisis: bool
    out_of_scope: bool
    scores: dict[str, float]
    evidence: list[tuple[str, str, str, str, int, int, float, str]]


class Span(Protocol):
    def __call__(self, start: int, end: int) -> tuple[int, int]: ...


def needed(
    model: Model,
    out: Outcome,
    norm: str,
    field_threshold: float,
    bigrams: Sequence[str] | None = None,
    trigrams: Sequence[str] | None = None,
) -> bool:
    """Whether the model could change the rules' outcome: out of scope, no field (or only the crisis
    placeholder), a weak field, or no crisis yet and a crisis cue in the text. Most messages need none of it,
    which keeps triage within its speed budget."""
    if _fields_open(out, field_threshold):
        return True
    if out.crisis:
        return False
    return model.has_crisis_cue(norm, bigrams, trigrams)


def _fields_open(out: Outcome, field_threshold: float) -> bool:
    """Whether the model's field and scope heads could change anything: the rules said out of scope, found no
    field (or only the crisis placeholder), or found some evidence for a field below the threshold. When not, and
    the rules found no crisis, only the crisis head matters."""
    if out.out_of_scope or not out.fields:
        return True
    if any(ev[7] == _PLACEHOLDER for ev in out.evidence):
        return True
    scores = out.scores
    return any(0.0 < scores.get(f, 0.0) < field_threshold for f in FIELDS if f not in out.fields)


@dataclass(frozen=True, slots=True)
class _Part:
    """One sentence, or two adjacent ones, of a message: offsets in the normalised text, features, crisis probability."""

    start: int
    end: int
    features: set[str]
    probability: float


def sentences(norm: str) -> list[tuple[int, int]]:
    """Offsets of the sentences of a normalised text (split after 。！？ and line breaks; blank ones left out)."""
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(norm))]
    if cuts[-1] < len(norm):
        cuts.append(len(norm))
    return [(a, b) for a, b in pairwise(cuts) if not norm[a:b].isspace()]


def crisis_part(
    model: Model,
    norm: str,
    morphemes: Sequence[Morpheme],
    lemmas: Sequence[str],
    grams: Grams | None = None,
    feats: set[str] | None = None,
    values: dict[str, int] | None = None,
) -> _Part | None:
    """The sentence or pair of adjacent sentences (「この世から消えたほうが早い。今夜そうする」) with the highest crisis
    probability, when it reaches ``PART_THRESHOLD`` and the message has two sentences or more; else None. A part
    without a crisis cue is not scored (the gate of :func:`needed`). ``grams``, ``feats``, ``values``: the message's
    :class:`Grams`, features and :meth:`Model.crisis_values`, when the caller has them (a part's features are
    slices of the message's, scored on the message's own weights)."""
    spans = sentences(norm)
    if len(spans) < 2:
        return None
    if grams is None:
        grams = Grams.of(norm, lemmas)
    # the first morpheme at or after each sentence boundary (a few begin() calls each, not one per morpheme)
    first = {cut: _first_at(morphemes, cut) for cut in {x for span in spans for x in span}}
    best: _Part | None = None
    for a, b in spans + [(x[0], y[1]) for x, y in pairwise(spans)]:
        if not model.has_crisis_cue_in(grams, a, b):
            continue
        if values is None:
            values = model.crisis_values(grams.features() if feats is None else feats)
        piece = grams.part(a, b, first[a], first[b])
        p = model.crisis_probability(piece, values)
        if p >= PART_THRESHOLD and (best is None or p > best.probability):
            best = _Part(a, b, piece, p)
    return best


def _first_at(morphemes: Sequence[Morpheme], offset: int) -> int:
    """Index of the first morpheme beginning at or after ``offset`` (a binary search: Sudachi's MorphemeList is not a
    sequence ``bisect`` accepts)."""
    lo, hi = 0, len(morphemes)
    while lo < hi:
        mid = (lo + hi) // 2
        if morphemes[mid].begin() < offset:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _crisis_threshold(out: Outcome) -> float:
    """A message the rules know as a town question or a greeting needs a surer model to become a crisis."""
    if out.scores.get("out_of_scope", 0.0) > 0:
        return max(CRISIS_THRESHOLD, SCOPE_THRESHOLD)
    return CRISIS_THRESHOLD


def combine(
    model: Model,
    out: Outcome,
    text: str,
    norm: str,
    span: Span,
    morphemes: Sequence[Morpheme],
    lemmas: Sequence[str],
    field_threshold: float,
    bigrams: Sequence[str] | None = None,
) -> None:
    """Fold the model into the rules' outcome, in place: crisis = rules OR model; a field the model is confident
    about when the rules found none or only weak evidence; out of scope only when the model sees no concern."""
    if not norm.strip():
        return
    if bigrams is None:
        bigrams = list(map(str.__add__, norm, norm[1:]))
    trigrams = list(map(str.__add__, bigrams, norm[2:]))  # for the cue gate and the features alike
    if not needed(model, out, norm, field_threshold, bigrams, trigrams):
        return
    grams = Grams.of(norm, lemmas, bigrams, trigrams)
    feats = grams.features()
    part: _Part | None = None  # the sentences that raised a crisis the whole message did not
    if not out.crisis and not _fields_open(out, field_threshold):
        # the rules found fields, none weak, and no crisis: only the crisis head matters, and it rarely fires
        values = model.crisis_values(feats)  # the message's weights, for its sentences too
        p = model.crisis_from(values)
        out.scores["model:crisis"] = round(p, 4)
        if p < _crisis_threshold(out):
            part = crisis_part(model, norm, morphemes, lemmas, grams, feats, values)
            if part is None:
                return
    probs, _known = model.probabilities(feats)
    out.scores["model:crisis"] = round(probs[_CRISIS], 4)
    added: list[tuple[str, int]] = []  # (label, head)
    crisis = out.crisis
    if not crisis:
        whole = probs[_CRISIS] >= _crisis_threshold(out)
        if not whole and part is None:
            part = crisis_part(model, norm, morphemes, lemmas, grams, feats)
        if whole or part is not None:
            crisis = out.crisis = True
            added.append(("crisis", _CRISIS))
    if part is not None:
        out.scores["model:crisis_part"] = round(part.probability, 4)
    field_probs = probs[1:_OOS]
    concern = crisis or (max(field_probs) >= SCOPE_THRESHOLD and probs[_OOS] < SCOPE_THRESHOLD)
    if out.out_of_scope:
        if not concern:
            return
        out.out_of_scope = False
        out.fields = []
        out.evidence[:] = [ev for ev in out.evidence if ev[0] != "out_of_scope"]
    # 狭間 put there by the rules only because a crisis had no field is a placeholder, not evidence
    placeholder = out.fields == [_HAZAMA] and any(ev[7] == _PLACEHOLDER for ev in out.evidence)
    fields = set() if placeholder else set(out.fields)
    rules_found = bool(fields)
    for k, f in enumerate(FIELDS, 1):
        if f in fields:
            continue
        p = probs[k]
        weak = 0.0 < out.scores.get(f, 0.0) < field_threshold
        if (not rules_found and p >= FIELD_THRESHOLD) or (weak and p >= WEAK_FIELD_THRESHOLD):
            fields.add(f)
            added.append((f, k))
    if not fields:  # a crisis or a concern with no field the model is sure of: 狭間 (what no system owns)
        fields.add(_HAZAMA)
        if not placeholder:
            added.append((_HAZAMA, FIELDS.index(_HAZAMA) + 1))
    elif placeholder:
        out.evidence[:] = [ev for ev in out.evidence if ev[7] != _PLACEHOLDER]
    out.fields = [f for f in FIELDS if f in fields]
    if added:  # every head's probability, so that staff see how sure the model was
        for h, p in zip(HEADS, probs, strict=True):
            out.scores[f"model:{h}"] = round(p, 4)
    present = model.known(feats) if added else []
    for label, head in added:
        if head == _CRISIS and part is not None:  # name the n-grams of the sentences that decided
            named, start, end = model.top(head, model.known(part.features)), part.start, part.end
        else:
            named, start, end = model.top(head, present), 0, len(norm)
        for feat, weight in named:
            s, e, shown = _locate(feat, norm, morphemes, lemmas, start, end)
            if s < 0:
                continue
            a, b = span(s, e)
            out.evidence.append(
                (label, "model", text[a:b], shown, a, b, round(weight, 3), f"model:{HEADS[head]}")
            )


def _locate(
    feat: str,
    norm: str,
    morphemes: Sequence[Morpheme],
    lemmas: Sequence[str],
    start: int,
    end: int,
) -> tuple[int, int, str]:
    """Offsets in the normalised text of the first occurrence of an n-gram within ``norm[start:end]``, and how to
    show it."""
    if not feat.startswith(_LEMMA):
        s = norm.find(feat, start, end)
        return s, s + len(feat), feat
    parts = feat[1:].split(_LEMMA)
    n = len(parts)
    for i in range(len(lemmas) - n + 1):
        if morphemes[i].begin() < start or morphemes[i + n - 1].end() > end:
            continue
        if list(lemmas[i : i + n]) == parts:
            return morphemes[i].begin(), morphemes[i + n - 1].end(), " ".join(parts)
    return -1, -1, ""


# -- training from the knowledge files ------------------------------------------------------------------------
class Tokenizer(Protocol):
    def morphemes(self, text: str) -> Sequence[_Lemma]: ...


class _Lemma(Morpheme, Protocol):
    def normalized_form(self) -> str: ...


def triage_dirs(files: Iterable[Path]) -> list[Path]:
    """The ``triage`` folders the vocabulary files were read from (shared first, then the pack's)."""
    out: list[Path] = []
    for path in files:
        d = next((p for p in Path(path).parents if p.name == "triage"), Path(path).parent)
        if d not in out:
            out.append(d)
    return out


def training_samples(vocab: Vocabulary) -> tuple[list[Sample], list[Problem]]:
    """The vocabulary's ``examples:`` and every ``examples/*.jsonl`` beside it; FILE:LINE problems."""
    samples = [
        Sample(ex.text, frozenset(str(f) for f in ex.fields), ex.crisis, ex.out_of_scope, ex.file, ex.line)
        for ex in vocab.examples
    ]
    problems: list[Problem] = []
    for path in example_files(triage_dirs(vocab.files)):
        got, bad = read_samples(path)
        samples.extend(got)
        problems.extend(bad)
    return samples, problems


def featurizer(analyzer: Tokenizer) -> _Featurize:
    """Features of a raw text exactly as the engine computes them (normalise, mode-C lemmas without spaces)."""
    from triage.normalize import normalize

    def featurize(text: str) -> set[str]:
        norm = normalize(text).text
        lemmas = (
            [x for x in (m.normalized_form() for m in analyzer.morphemes(norm)) if x != " "] if norm else []
        )
        return features(norm, lemmas)

    return featurize


def for_vocabulary(vocab: Vocabulary, analyzer: Tokenizer, cache_dir: Path | None = None) -> Model | None:
    """The model trained on the knowledge files' examples; None when there are none (or they are broken:
    ``Triager.check`` reports them). With ``cache_dir``, a model trained earlier on the very same examples, by the
    same code and dictionaries, is reused (training is most of a cold start: ≈ 0.8 s); the cache is named by the
    example files' bytes, so a warm start does not even parse them."""
    # INTAKE_TRIAGE_MODEL=0: the rules alone (an A/B switch for benchmarks, a way out for an operator)
    if os.environ.get("INTAKE_TRIAGE_MODEL", "1") == "0":
        return None
    identity = getattr(analyzer, "identity", None)
    target = None
    if cache_dir is not None and isinstance(identity, str):
        target = cache_dir / f"model-{_cache_key(vocab, identity)}.pickle"
        # stored only after the examples parsed without a problem: the same bytes parse the same way
        cached = load_pickled(target, Model)
        if cached is not None:
            return cached
    samples, problems = training_samples(vocab)
    if problems or not samples:
        return None
    trained = train_samples(samples, featurizer(analyzer))
    if target is None:
        return trained
    store_pickled(target, trained)
    # laid out in memory as every later start will load it (:meth:`Model.__getstate__`), not scattered by training
    return _relaid(trained)


def _relaid(trained: Model) -> Model:
    copy = pickle.loads(pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL))
    assert isinstance(copy, Model)
    return copy


def _cache_key(vocab: Vocabulary, identity: str) -> str:
    """Names a trained model by everything it depends on: this module and the normaliser (features, training,
    thresholds, how example files are read), the Python version, the dictionaries (``identity``), the vocabulary's
    own examples and the bytes of every example file (by its name within its triage folder)."""
    from triage import normalize

    key = hashlib.sha256(f"{sys.version}\n{identity}\n".encode())
    key.update(Path(__file__).read_bytes())
    key.update(Path(normalize.__file__).read_bytes())
    for ex in vocab.examples:
        key.update(
            json.dumps(
                [ex.text, sorted(map(str, ex.fields)), ex.crisis, ex.out_of_scope], ensure_ascii=False
            ).encode()
        )
        key.update(b"\0")
    for d in triage_dirs(vocab.files):
        for path in example_files([d]):
            key.update(f"\1{path.relative_to(d).as_posix()}\0".encode())
            try:
                key.update(path.read_bytes())
            except OSError:  # unreadable: training reports it (and stores nothing)
                key.update(b"\2")
    return key.hexdigest()[:24]
