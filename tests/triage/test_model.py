"""The statistical back-up of the rules (triage/model.py): deterministic training on the knowledge files' examples,
recall on phrasings the rules do not know, evidence with real offsets, any input, and broken training files."""

from __future__ import annotations

import pickle
import shutil
from bisect import bisect_left
from itertools import pairwise
from pathlib import Path

import pytest

from triage import Triager, model
from triage.normalize import normalize
from triage.types import TriageResult

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
# Indirect suicidal wording that is in no vocabulary file and no training example.
UNSEEN_CRISIS = "この先に希望なんてない。いっそ終わらせてしまいたい"


def _valid(r: TriageResult) -> None:
    assert r.complex == (len(r.fields) >= 2)
    if r.out_of_scope:
        assert not r.fields and not r.crisis
    else:
        assert r.fields
    for ev in r.evidence:
        assert 0 <= ev.start <= ev.end <= len(r.text)
        assert r.text[ev.start : ev.end] == ev.surface


def test_training_is_deterministic(triager: Triager) -> None:
    samples, problems = model.training_samples(triager.vocab)
    assert not problems
    assert len(samples) >= 600  # examples/situations.jsonl and the examples: of examples.yaml
    featurize = model.featurizer(triager.analyzer)
    a = model.train_samples(samples, featurize)
    b = model.train_samples(list(reversed(samples)), featurize)
    assert a.ratios == b.ratios and a.bias == b.bias and a.packed == b.packed
    assert list(a.packed) == list(b.packed)  # the same rows in the same order
    feats = featurize(UNSEEN_CRISIS)
    assert a.probabilities(feats)[0] == a.probabilities(set(sorted(feats, reverse=True)))[0]


def test_the_crisis_head_alone_scores_exactly_as_all_heads(triager: Triager) -> None:
    """The fast path for messages where only a crisis could change must give the very probability of the full
    scoring, and the cue gate must find every cue the model has (a regex over the cues, checked independently)."""
    import re

    m = triager.model
    assert m is not None and m.crisis_cues
    featurize = model.featurizer(triager.analyzer)
    samples = model.training_samples(triager.vocab)[0]
    cues = list(m.crisis_cues)
    pattern = re.compile("|".join(map(re.escape, sorted(cues, key=len, reverse=True))))
    texts = [s.text for s in samples[::5]] + [UNSEEN_CRISIS, "", "あ"]
    for text in texts:
        feats = featurize(text)
        assert m.crisis_probability(feats) == m.probabilities(feats)[0][0]
        norm = normalize(text).text
        assert m.has_crisis_cue(norm) == (pattern.search(norm) is not None), text
    assert sum(m.has_crisis_cue(normalize(t).text) for t in texts) > 10


def test_the_model_lifts_a_crisis_the_rules_miss(triager: Triager) -> None:
    for s in model.training_samples(triager.vocab)[0]:
        assert "いっそ終わらせて" not in s.text, "the phrasing must be unseen: pick another for this test"
    kept = triager.model
    try:
        triager.model = None
        without = triager.triage(UNSEEN_CRISIS)
    finally:
        triager.model = kept
    assert not without.crisis, "the rules now know this phrasing: pick another for this test"
    r = triager.triage(UNSEEN_CRISIS)
    assert r.crisis and not r.out_of_scope and r.fields
    assert r.scores["model:crisis"] >= model.CRISIS_THRESHOLD
    named = [ev for ev in r.evidence if ev.kind == "model" and ev.label == "crisis"]
    assert named and all(ev.rule == "model:crisis" and ev.weight > 0 for ev in named)


def test_model_evidence_carries_offsets_into_the_original_text(triager: Triager) -> None:
    # full-width digits, an emoji and repeated marks: the normalised text differs from what the resident wrote
    text = "ｗｗ😢もう、この先に希望なんてない！！！　いっそ終わらせてしまいたい……"
    r = triager.triage(text)
    _valid(r)
    named = [ev for ev in r.evidence if ev.kind == "model"]
    assert named
    for ev in named:
        assert ev.surface and text[ev.start : ev.end] == ev.surface
        assert ev.normalized


# A long question about a form, with nothing alarming in it.
FORM_QUESTION = (
    "児童手当の現況届について質問です。今年から書類の出し方が変わったと聞きました。"
    "郵送でも受け付けてもらえますか。締切はいつでしょうか。"
)


def test_a_crisis_told_in_one_sentence_of_a_long_question_is_found(triager: Triager) -> None:
    """Danger mentioned in passing: the rest of the question pulls the whole-message score down, so the model scores
    each sentence (and pair of sentences) too; the evidence points into the sentences that decided."""
    text = FORM_QUESTION + UNSEEN_CRISIS + "。よろしくお願いします。"
    kept = triager.model
    try:
        triager.model = None
        assert not triager.triage(text).crisis, "the rules now know this phrasing: pick another for this test"
    finally:
        triager.model = kept
    r = triager.triage(text)
    _valid(r)
    assert r.crisis and not r.out_of_scope
    assert r.scores["model:crisis"] < model.CRISIS_THRESHOLD, (
        "the whole message alone decides now: lengthen it"
    )
    assert r.scores["model:crisis_part"] >= model.PART_THRESHOLD
    named = [ev for ev in r.evidence if ev.rule == "model:crisis"]
    at = len(FORM_QUESTION)
    assert named and all(at - 1 <= ev.start and ev.end <= at + len(UNSEEN_CRISIS) + 1 for ev in named)
    # the question alone stays what it was
    alone = triager.triage(FORM_QUESTION)
    assert not alone.crisis and "model:crisis_part" not in alone.scores


def test_a_sentence_is_scored_on_slices_of_the_message(triager: Triager) -> None:
    """Sentence scoring reads a sentence's n-grams off the message's, by position, and its weights off the message's
    own small table: both must give exactly what scoring the sentence on its own gives."""
    m = triager.model
    assert m is not None
    samples = model.training_samples(triager.vocab)[0]
    texts = [s.text for s in samples[::7] if "。" in s.text or "\n" in s.text]
    texts += [
        FORM_QUESTION + UNSEEN_CRISIS,
        "あ。い。う",
        "？たすけて。",
        "。。。",
        "🙏 たすけて。 もう むり ",
        "x" * 3 + "！" * 2 + "y",
    ]
    parts = 0
    for text in texts:
        norm = normalize(text).text
        ms, lemmas = triager.tokens(norm)
        grams = model.Grams.of(norm, lemmas)
        feats = grams.features()
        assert feats == model.features(norm, lemmas)
        values = m.crisis_values(feats)
        assert m.crisis_from(values) == m.crisis_probability(feats)
        begins = [x.begin() for x in ms]
        spans = model.sentences(norm)
        for a, b in spans + [(x[0], y[1]) for x, y in pairwise(spans)]:
            la, lb = bisect_left(begins, a), bisect_left(begins, b)
            assert (model._first_at(ms, a), model._first_at(ms, b)) == (la, lb)
            piece = grams.part(a, b, la, lb)
            assert piece == model.features(norm[a:b], lemmas[la:lb]), (text, a, b)
            assert m.crisis_probability(piece, values) == m.crisis_probability(piece)
            parts += 1
    assert parts > 500


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", []),
        ("一文だけ", ["一文だけ"]),
        ("質問です。締切は？\nもう無理！！ ", ["質問です。", "締切は？\n", "もう無理！！", " "]),
        ("a。\n\n。b", ["a。\n\n。", "b"]),
    ],
)
def test_sentences_end_after_marks_and_line_breaks(text: str, want: list[str]) -> None:
    spans = model.sentences(text)
    assert [text[a:b] for a, b in spans] == [w for w in want if not w.isspace()]
    assert all(a < b for a, b in spans)


def test_the_model_keeps_town_questions_out_of_scope(triager: Triager) -> None:
    for text in ("ありがとうございました", "住民票を取りたいです", "燃えるごみの日はいつ？"):
        r = triager.triage(text)
        assert r.out_of_scope and not r.crisis, text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😢😢😢🙏",
        "死" * 10_000,
        ("母の介護で疲れました。" * 1000)[:10_000],
        "\x00\x1f\u200b\ufeff",
    ],
)
def test_any_input_gives_a_valid_result(triager: Triager, text: str) -> None:
    r = triager.triage(text)
    _valid(r)


def test_a_broken_training_file_is_reported_by_file_and_line(tmp_path: Path) -> None:
    shutil.copytree(KNOWLEDGE / "_common" / "triage", tmp_path / "_common" / "triage")
    path = tmp_path / "_common" / "triage" / "examples" / "situations.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = (
        '{"id": "x", "text": "母がボケてきた", "fields": ["介譲"], "crisis": false, "out_of_scope": false}'
    )
    lines[3] = '{"text": "途中で切れた'
    lines[5] = '{"text": "こんにちは", "fields": [], "crisis": true, "out_of_scope": true}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = Triager.check(tmp_path)
    where = {(p.file, p.line) for p in problems}
    assert where == {(str(path), 2), (str(path), 4), (str(path), 6)}
    messages = " ".join(p.message for p in problems)
    assert "介譲" in messages and "not JSON" in messages and "out_of_scope" in messages


def test_the_speed_gate_changes_no_decision(
    triager: Triager, labelled_texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model is skipped where it could not change the outcome (model.needed); on the labelled messages we have
    (training examples and every blind batch) skipping changes nothing but, rarely, a model crisis without a cue."""
    texts = labelled_texts

    def decision(r: TriageResult) -> tuple[object, ...]:
        return (tuple(r.fields), r.crisis, tuple(r.crisis_kinds), r.out_of_scope)

    gated = [decision(triager.triage(t)) for t in texts]
    skipped = 0
    real_needed = model.needed

    def counting(*args: object) -> bool:
        nonlocal skipped
        run = real_needed(*args)  # type: ignore[arg-type]
        skipped += not run
        return run

    monkeypatch.setattr(model, "needed", counting)
    for t in texts:
        triager.triage(t)
    assert skipped > len(texts) // 10, "the gate should spare the model on many messages"
    monkeypatch.setattr(model, "needed", lambda *args: True)
    ungated = [decision(triager.triage(t)) for t in texts]
    differ = [(g, u) for g, u in zip(gated, ungated, strict=True) if g != u]
    # The only difference the gate may make: a crisis the model would raise on weak n-grams alone, in a message with
    # no crisis cue at all (a precision guard, docs/triage.md). Fields and out-of-scope never change, and it is rare.
    assert all(g[1] is False and u[1] is True and (g[0], g[3]) == (u[0], u[3]) for g, u in differ), differ
    assert len(differ) <= len(texts) // 200


def test_training_files_in_a_subfolder_of_examples_count_too(tmp_path: Path) -> None:
    """Batches written blind become training data in examples/blind/ once scored; a broken line there is named."""
    shutil.copytree(KNOWLEDGE / "_common" / "triage", tmp_path / "_common" / "triage")
    path = tmp_path / "_common" / "triage" / "examples" / "blind" / "zz-new.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        '{"id": "zz1", "text": "母の介護で仕事を辞めた", "fields": ["介護", "困窮"], "crisis": false, "out_of_scope": false}\n'
        '{"id": "zz2", "text": "壊れた行", "fields": ["介護x"], "crisis": false, "out_of_scope": false}\n',
        encoding="utf-8",
    )
    problems = Triager.check(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(str(path), 2)]


def test_a_model_cached_by_other_code_is_trained_again(
    tmp_path: Path, sudachi_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file whose model was pickled by another version of the code (the state laid out differently: an
    upgrade half done, a cache folder shared between versions) never stops triage from loading: it is a miss, and
    the model is trained again."""
    shutil.copytree(KNOWLEDGE / "_common" / "triage", tmp_path / "_common" / "triage")
    first = Triager.load(tmp_path, cache_dir=sudachi_cache)
    assert first.model is not None
    path = sudachi_cache / f"model-{model._cache_key(first.vocab, first.analyzer.identity)}.pickle"
    assert path.exists()
    # the layout of an earlier version: the log-count ratios as a list of tuples, not an array
    older: tuple[object, ...] = (
        list(first.model.packed),
        [],
        [],
        [(0.0,)],
        first.model.bias,
        first.model.bits,
        None,
    )
    with monkeypatch.context() as patch:
        patch.setattr(model.Model, "__getstate__", lambda self: older)
        path.write_bytes(pickle.dumps(first.model))
    again = Triager.load(tmp_path, cache_dir=sudachi_cache)
    assert again.model is not None and again.model.ratios == first.model.ratios
    assert again.triage(UNSEEN_CRISIS).contract_dict() == first.triage(UNSEEN_CRISIS).contract_dict()


def test_a_trained_model_is_reused_only_for_the_same_examples(tmp_path: Path, sudachi_cache: Path) -> None:
    """A cold start reuses the model trained on the very same examples (training is most of the start-up); an edit
    of the examples trains a new one, so a reused model never lags behind the knowledge files."""
    shutil.copytree(KNOWLEDGE / "_common" / "triage", tmp_path / "_common" / "triage")
    first = Triager.load(tmp_path, cache_dir=sudachi_cache)
    cached = sorted(sudachi_cache.glob("model-*.pickle"))
    assert first.model is not None and len(cached) >= 1
    again = Triager.load(tmp_path, cache_dir=sudachi_cache)
    assert again.model is not None and again.model is not first.model  # read back, not the same object
    assert again.model.ratios == first.model.ratios and again.model.bias == first.model.bias
    assert list(again.model.packed) == list(first.model.packed)  # the training order, kept by the cache
    assert again.model.packed == first.model.packed and again.model.crisis_packed == first.model.crisis_packed
    assert again.model.crisis_cues == first.model.crisis_cues and again.model.bits == first.model.bits
    assert again.triage(UNSEEN_CRISIS).contract_dict() == first.triage(UNSEEN_CRISIS).contract_dict()

    path = tmp_path / "_common" / "triage" / "examples" / "situations.jsonl"
    extra = '{"text": "つかれた もう朝がこなければいい", "fields": ["狭間"], "crisis": true, "out_of_scope": false}\n'
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    edited = Triager.load(tmp_path, cache_dir=sudachi_cache)
    assert edited.model is not None and edited.model.ratios != first.model.ratios
    assert len(sorted(sudachi_cache.glob("model-*.pickle"))) == len(cached) + 1
