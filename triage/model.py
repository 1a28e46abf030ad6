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
import re
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
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
    if bigrams is None:
        bigrams = list(map(str.__add__, norm, norm[1:]))
    feats = set(bigrams)
    feats.update(map(str.__add__, bigrams, norm[2:]) if trigrams is None else trigrams)
    marked = list(map(_LEMMA.__add__, lemmas))
    feats.update(marked)
    pairs = list(map(str.__add__, marked, marked[1:]))
    feats.update(pairs)
    feats.update(map(str.__add__, pairs, marked[2:]))
    return feats


# -- the model ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Model:
    """Per head: the log-count ratio of every kept feature and the log prior ratio."""

    table: dict[str, tuple[float, ...]]  # feature → its log-count ratio in every head (for the evidence)
    bias: list[float]
    packed: dict[str, int]  # feature → each head's weight in fixed point and a count of 1, in one integer
    bits: int  # width of one field of ``packed``
    crisis_packed: dict[
        str, int
    ]  # feature → the crisis head's weight in fixed point and a count of 1 (small ints)
    # Character n-grams (bi- and trigrams, like every character feature) that push the crisis head up strongly: a
    # message with none of them cannot reach the crisis threshold in practice, so the model is not run on it when
    # nothing else could change (see :func:`needed`). Two set lookups of the message's n-grams, not a regex.
    crisis_cues: frozenset[str] | None = None

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
        vocab = sorted(f for f, n in df.items() if n >= MIN_DF)
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
        table = {f: tuple(w[f] for w in weights) for f in vocab}
        # a field never overflows, even when every feature is present
        bits = _BITS + max(1, len(vocab)).bit_length()
        cues = (
            frozenset(f for f, ws in table.items() if not f.startswith(_LEMMA) and ws[_CRISIS] >= CUE_WEIGHT)
            or None
        )
        packed = {f: _pack(ws, bits) for f, ws in table.items()}
        crisis_packed = {f: _pack(ws[_CRISIS : _CRISIS + 1], bits) for f, ws in table.items()}
        return cls(table, bias, packed, bits, crisis_packed, cues)

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

    def crisis_probability(self, feats: set[str]) -> float:
        """The crisis head alone, exactly as :meth:`probabilities` computes it (same fixed-point weights), from a
        sum of small integers instead of wide ones: what a message needs when only a crisis could change."""
        total = sum(map(self.crisis_packed.get, feats, repeat(0)))
        bits = self.bits
        n = total >> bits
        if not n:
            return _sigmoid(self.bias[_CRISIS])
        weight = (total & ((1 << bits) - 1)) - n * _OFFSET
        return _sigmoid(self.bias[_CRISIS] + weight * (1.0 / (math.sqrt(n) * _UNIT)))

    def known(self, feats: Iterable[str]) -> list[str]:
        """The features the model has weights for."""
        packed = self.packed
        return [f for f in feats if f in packed]

    def top(self, head: int, present: Iterable[str], k: int = TOP_EVIDENCE) -> list[tuple[str, float]]:
        """The ``k`` present n-grams that pushed ``head`` up the most (longest first among equals)."""
        table = self.table
        ranked = sorted(((table[f][head], len(f), f) for f in present if table[f][head] > 0), reverse=True)
        return [(f, wt) for wt, _n, f in _no_overlap(ranked, k)]


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
    model: Model, norm: str, morphemes: Sequence[Morpheme], lemmas: Sequence[str]
) -> _Part | None:
    """The sentence or pair of adjacent sentences (「この世から消えたほうが早い。今夜そうする」) with the highest crisis
    probability, when it reaches ``PART_THRESHOLD`` and the message has two sentences or more; else None. A part
    without a crisis cue is not scored (the gate of :func:`needed`)."""
    spans = sentences(norm)
    if len(spans) < 2:
        return None
    begins = [m.begin() for m in morphemes]
    best: _Part | None = None
    for a, b in spans + [(x[0], y[1]) for x, y in pairwise(spans)]:
        piece = norm[a:b]
        if not model.has_crisis_cue(piece):
            continue
        feats = features(piece, lemmas[bisect_left(begins, a) : bisect_left(begins, b)])
        p = model.crisis_probability(feats)
        if p >= PART_THRESHOLD and (best is None or p > best.probability):
            best = _Part(a, b, feats, p)
    return best


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
    feats = features(norm, lemmas, bigrams, trigrams)
    part: _Part | None = None  # the sentences that raised a crisis the whole message did not
    if not out.crisis and not _fields_open(out, field_threshold):
        # the rules found fields, none weak, and no crisis: only the crisis head matters, and it rarely fires
        p = model.crisis_probability(feats)
        out.scores["model:crisis"] = round(p, 4)
        if p < _crisis_threshold(out):
            part = crisis_part(model, norm, morphemes, lemmas)
            if part is None:
                return
    probs, _known = model.probabilities(feats)
    out.scores["model:crisis"] = round(probs[_CRISIS], 4)
    added: list[tuple[str, int]] = []  # (label, head)
    crisis = out.crisis
    if not crisis:
        whole = probs[_CRISIS] >= _crisis_threshold(out)
        if not whole and part is None:
            part = crisis_part(model, norm, morphemes, lemmas)
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
    same code and dictionaries, is reused (training is most of a cold start: ≈ 0.8 s)."""
    # INTAKE_TRIAGE_MODEL=0: the rules alone (an A/B switch for benchmarks, a way out for an operator)
    if os.environ.get("INTAKE_TRIAGE_MODEL", "1") == "0":
        return None
    samples, problems = training_samples(vocab)
    if problems or not samples:
        return None
    identity = getattr(analyzer, "identity", None)
    if cache_dir is None or not isinstance(identity, str):
        return train_samples(samples, featurizer(analyzer))
    target = cache_dir / f"model-{_cache_key(samples, identity)}.pickle"
    cached = load_pickled(target, Model)
    if cached is not None:
        return cached
    trained = train_samples(samples, featurizer(analyzer))
    store_pickled(target, trained)
    return trained


def _cache_key(samples: Sequence[Sample], identity: str) -> str:
    """Names a trained model by everything it depends on: this module and the normaliser (features, training,
    thresholds), the Python version, the dictionaries (``identity``) and every sample's text and labels."""
    from triage import normalize

    key = hashlib.sha256(f"{sys.version}\n{identity}\n".encode())
    key.update(Path(__file__).read_bytes())
    key.update(Path(normalize.__file__).read_bytes())
    for s in samples:
        key.update(
            json.dumps([s.text, sorted(s.fields), s.crisis, s.out_of_scope], ensure_ascii=False).encode()
        )
        key.update(b"\0")
    return key.hexdigest()[:24]
