"""The Triager: normalise → tokenise (Sudachi mode C, normalised forms) → match the vocabulary → decide.

Order of decisions: crisis first (recall first, never hidden), then fields, then out-of-scope. Every label keeps the
words, phrases and rules that decided it, with offsets into the resident's original text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from intake.yamlio import Problem
from triage import lexicon, model, prefilter
from triage.cache import prune_cache
from triage.lexicon import Group, TriageKnowledgeError, Vocabulary
from triage.normalize import Normalized, is_kanji, normalize, normalize_term
from triage.sudachi import Analyzer, DictWord, build_user_dictionary, default_cache_dir, kana_spelling
from triage.types import FIELD_ORDER, CrisisKind, Evidence, Field, TriageResult

# Words that may stand between a term and its negation cue: 「介護は必要ない」「障害もありません」.
_GLUE = frozenset(
    {
        "は",
        "が",
        "も",
        "を",
        "に",
        "で",
        "の",
        "って",
        "とか",
        "など",
        "なんか",
        "特に",
        "別に",
        "全然",
        "今",
        "まだ",
        "もう",
    }
)
_DIGIT = re.compile(r"\d")
_NOUNISH = ("名詞", "接尾辞", "接頭辞")

# Ages: 「80歳の父」「70代男性」「母は87で」「90さなる」「80過ぎ」「生後4か月」 (older / child thresholds in settings).
_AGE = re.compile(
    r"(?<![\d.])(\d{1,3})\s*(?:歳|才|さい|代)"
    r"|(?:母|父|祖母|祖父|親|ばあ|じい|夫|妻|おかん|おとん|かあ|とう|おど|おが|私|わたし|おら|俺|僕|本人"
    r"|わし|あたし|あたい|うち|自分|じぶん|おれ|ぼく)"
    r"[^\d。、]{0,5}?(\d{2,3})(?=\s*(?:で|に|さ|過ぎ|すぎ|、|。|を|\)|です|だ|近|超|前後|になる|歳))"
    r"|\((\d{1,3})\)"
    r"|(?<![\d.])(\d{2,3})\s*(?=(?:さ|に)なる|過ぎ|すぎ|超え|を過ぎ|近い"
    r"|の(?:義?[父母]|祖[父母]|親|男性|女性|夫婦|ご夫婦|おば|おじ|ばあ|じい|ばば|じじ|婆|爺|ばっちゃ|じっちゃ"
    r"|お袋|おふくろ|おやじ|おかん|おとん|年寄|としより|老))"
    # 「ひとりで すんでます 85です」: a bare number said of oneself, as a clause of its own
    r"|(?:^|(?<=[\s、。,]))(\d{2})\s*(?=です|でございます|になりました|になります)"
)


_NOT_AGE = re.compile(
    r"点|テスト|てすと|偏差値|成績|体重|身長|血圧|血糖|キロ|kg|cm|円|%|パーセント|番|号|室|階|度|回|件|人"
)


@dataclass(frozen=True, slots=True)
class _Entry:
    lemmas: tuple[str, ...]
    group: int
    slot: int  # -1: ``terms``; k: the k-th set of ``all_of``
    text: str
    normalized: str
    kind: str


@dataclass(slots=True)
class _Hit:
    group: int
    slot: int
    start: int  # offsets in the normalised text
    end: int
    normalized: str
    kind: str  # term / phrase / pattern


_Ev = tuple[str, str, str, str, int, int, float, str]
_Tokens = tuple[Sequence[model.Morpheme], list[str]]  # morphemes and their lemmas
_Staged = tuple[Normalized, _Tokens, list[str]]  # what the statistical back-up needs after the rules
_EV_KEYS = ("label", "kind", "surface", "normalized", "start", "end", "weight", "rule")
_FIELD_VALUES = tuple(f.value for f in FIELD_ORDER)
_KIND_VALUES = tuple(k.value for k in CrisisKind)
_FIELD_BY_VALUE = {f.value: f for f in Field}
_KIND_BY_VALUE = {k.value: k for k in CrisisKind}
_KAIGO, _KODOMO, _HAZAMA = Field.KAIGO.value, Field.KODOMO.value, Field.HAZAMA.value


@dataclass(slots=True)
class _Outcome:
    """What triage decided, in plain values; turned into a TriageResult or straight into the CLI's JSON."""

    text: str
    fields: list[str]
    crisis: bool
    kinds: list[str]
    out_of_scope: bool
    scores: dict[str, float]
    evidence: list[_Ev]

    def result(self) -> TriageResult:
        return TriageResult(
            text=self.text,
            fields=[_FIELD_BY_VALUE[f] for f in self.fields],
            complex=len(self.fields) >= 2,
            crisis=self.crisis,
            crisis_kinds=[_KIND_BY_VALUE[k] for k in self.kinds],
            out_of_scope=self.out_of_scope,
            scores=self.scores,
            evidence=[Evidence(**dict(zip(_EV_KEYS, ev, strict=True))) for ev in self.evidence],
        )

    def contract(self) -> dict[str, object]:
        return {
            "text": self.text,
            "fields": self.fields,
            "complex": len(self.fields) >= 2,
            "crisis": self.crisis,
            "crisis_kinds": self.kinds,
            "out_of_scope": self.out_of_scope,
            "scores": self.scores,
            "evidence": [dict(zip(_EV_KEYS, ev, strict=True)) for ev in self.evidence],
        }


class Triager:
    """Built once per knowledge pack (shared vocabulary + the pack's own terms); thread-safe ``triage``."""

    def __init__(self, vocab: Vocabulary, analyzer: Analyzer, cache_dir: Path | None = None) -> None:
        self.vocab = vocab
        self.analyzer = analyzer
        self.groups: list[Group] = vocab.groups
        s = vocab.settings
        self.field_threshold = s["field_threshold"]
        self.crisis_threshold = s["crisis_threshold"]
        self.older_age = s["older_age"]
        self.child_age = s["child_age"]
        self.age_weight = s["age_weight"]
        self._gid = {g.id: i for i, g in enumerate(self.groups)}
        self._index: dict[str, list[_Entry]] = {}
        self._negation_index: dict[str, list[tuple[str, ...]]] = {}
        self._slots_needed = [len(g.all_of) for g in self.groups]
        self._has_terms = [bool(g.terms or g.patterns) for g in self.groups]
        self._fields = [tuple(f.value for f in g.fields) for g in self.groups]
        self._crisis = [g.crisis.value if g.crisis is not None else None for g in self.groups]
        self._oos = [g.out_of_scope for g in self.groups]
        self._fallback = [g.fallback for g in self.groups]
        self._weight = [g.weight for g in self.groups]
        self._negatable = [g.negatable for g in self.groups]
        self._guarded = {i for i, g in enumerate(self.groups) if g.requires or g.suppressed_by}
        self._kind_labels = {k.value: f"crisis:{k.value}" for k in CrisisKind}
        self._labels: list[tuple[str, ...]] = []
        for g in self.groups:
            labels = [f.value for f in g.fields]
            if g.crisis is not None:
                labels.append(f"crisis:{g.crisis.value}")
            if g.out_of_scope:
                labels.append("out_of_scope")
            self._labels.append(tuple(labels))
        self._compile(cache_dir)
        self.model = model.for_vocabulary(vocab, analyzer, cache_dir)  # statistical back-up of the rules

    # -- loading ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, knowledge_dir: Path, pack: str | None = None, *, cache_dir: Path | None = None) -> Triager:
        """Read, validate and compile the vocabulary; raise :class:`TriageKnowledgeError` when it is broken."""
        cache = cache_dir or default_cache_dir()
        vocab, problems = lexicon.read_vocabulary_cached(Path(knowledge_dir), pack, cache)
        if problems:
            raise TriageKnowledgeError(problems)
        return cls(vocab, _analyzer_for(vocab, cache), cache)

    @staticmethod
    def check(knowledge_dir: Path, pack: str | None = None) -> list[Problem]:
        """Problems in the vocabulary files (schema, duplicates, examples triaged unlike their labels)."""
        vocab, problems = lexicon.read_vocabulary(Path(knowledge_dir), pack)
        if problems:
            return problems
        problems = model.training_samples(vocab)[1]
        if problems:
            return problems
        # the compiled patterns and the trained model are cached by a hash of what they are built from
        triager = Triager(vocab, _analyzer_for(vocab, None), default_cache_dir())
        return triager.example_problems()

    def example_problems(self) -> list[Problem]:
        out: list[Problem] = []
        for ex in self.vocab.examples:
            r = self.triage(ex.text)
            got = (frozenset(r.fields), r.crisis, r.out_of_scope)
            want = (ex.fields, ex.crisis, ex.out_of_scope)
            if got != want:
                out.append(
                    Problem(
                        ex.file, ex.line, f"example triaged as {_describe(*got)}, labelled {_describe(*want)}"
                    )
                )
        return out

    def _compile(self, cache_dir: Path | None) -> None:
        for gi, g in enumerate(self.groups):
            slots: list[tuple[int, Sequence[str]]] = [(-1, g.terms)]
            slots.extend(enumerate(g.all_of))
            for slot, terms in slots:
                for term in terms:
                    lemmas = tuple(x for x in self.analyzer.lemmas(normalize_term(term)) if x.strip())
                    bucket = self._index.setdefault(lemmas[0], []) if lemmas else []
                    if lemmas and not any(
                        e.lemmas == lemmas and e.group == gi and e.slot == slot for e in bucket
                    ):
                        kind = "term" if len(lemmas) == 1 else "phrase"
                        bucket.append(_Entry(lemmas, gi, slot, term, " ".join(lemmas), kind))
        for cue, _file, _line in self.vocab.negations:
            lemmas = tuple(x for x in self.analyzer.lemmas(normalize_term(cue)) if x.strip())
            if lemmas:
                self._negation_index.setdefault(lemmas[0], []).append(lemmas)
        # Patterns: a prefilter names the few that can match a message; only those run (triage/prefilter.py).
        # Each is compiled with ``re`` the first time the prefilter names it: compiling all 1,900 took 0.25-0.4 s of
        # every start, and 60,000 messages name fewer than 400 of them (the vocabulary check compiles them all).
        self._patterns: list[tuple[str, int]] = [
            (pat, gi) for gi, g in enumerate(self.groups) for pat in g.patterns
        ]
        self._regexes: list[re.Pattern[str] | None] = [None] * len(self._patterns)
        self._prefilter = prefilter.build([pat for pat, _gi in self._patterns], cache_dir)
        # a term's next lemma can start a negation only when it is glue or the first lemma of a negation cue
        self._negation_starts = _GLUE | frozenset(self._negation_index)

    # -- triage ----------------------------------------------------------------------------------------------
    def triage(self, text: str) -> TriageResult:
        """Triage one message; never raises for any string."""
        return self._outcome(text).result()

    def triage_contract(self, text: str) -> dict[str, object]:
        """The same as ``triage(text).contract_dict()`` without building pydantic models (the CLI's fast path)."""
        return self._outcome(text).contract()

    def triage_contracts(self, texts: Sequence[str]) -> list[dict[str, object]]:
        """``[triage_contract(t) for t in texts]``, computed stage by stage over the batch: all tokenising, then all
        matching, then all statistics. Each stage's tables (Sudachi's dictionary, the pattern database, the model's
        weights) then stay in the processor's cache: about a fifth less CPU per message; the answers are the same."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        outcomes: list[_Outcome | None] = [None] * len(texts)
        try:
            normalized = [normalize(t) for t in texts]
            tokens = [self.tokens(nz.text) for nz in normalized]
            staged = [self._rules(t, nz, tk) for t, nz, tk in zip(texts, normalized, tokens, strict=True)]
            for k, (out, stage) in enumerate(staged):
                self._statistics(out, stage)
                outcomes[k] = out
        except Exception:  # pragma: no cover - one message at a time, each with its own last resort
            outcomes = [None] * len(texts)
        return [
            (o if o is not None else self._outcome(t)).contract()
            for o, t in zip(outcomes, texts, strict=True)
        ]

    def _outcome(self, text: str) -> _Outcome:
        if not isinstance(text, str):
            text = str(text)
        try:
            return self._decide(text)
        except Exception:  # pragma: no cover - last resort: a resident's message must always get a result
            scores = dict.fromkeys(_FIELD_VALUES, 0.0)
            return _Outcome(
                text,
                [_HAZAMA],
                False,
                [],
                False,
                scores,
                [(_HAZAMA, "rule", "", "", 0, 0, 0.0, "triage_error")],
            )

    def tokens(self, norm: str) -> _Tokens:
        """Morphemes of the normalised text (blanks left out) and their lemmas (Sudachi normalised forms)."""
        if not norm:
            return [], []
        ms = self.analyzer.morphemes(norm)
        lem = [m.normalized_form() for m in ms]  # the only per-morpheme call, as in plain tokenisation
        if " " in norm:
            keep = [k for k, x in enumerate(lem) if x != " "]
            ms = [ms[k] for k in keep]
            lem = [lem[k] for k in keep]
        return ms, lem

    def _match(self, norm: str, tokens: _Tokens) -> tuple[list[_Hit], list[_Hit], list[str]]:
        """Vocabulary hits, negated hits and the text's character bigrams."""
        hits: list[_Hit] = []
        negated: list[_Hit] = []
        if not norm:
            return hits, negated, []
        ms, lem = tokens
        index = self._index
        n_tok = len(lem)
        negatable = self._negatable
        neg_starts = self._negation_starts
        for i, x in enumerate(lem):
            cands = index.get(x)
            if cands is None:
                continue
            for e in cands:
                n = len(e.lemmas)
                if n > 1 and tuple(lem[i : i + n]) != e.lemmas:
                    continue
                hit = _Hit(e.group, e.slot, ms[i].begin(), ms[i + n - 1].end(), e.normalized, e.kind)
                j = i + n
                if negatable[e.group] and j < n_tok and lem[j] in neg_starts and self._negated(lem, j, n_tok):
                    negated.append(hit)
                else:
                    hits.append(hit)
        regexes = self._regexes
        bigrams = list(map(str.__add__, norm, norm[1:]))
        for pid in self._prefilter.candidates(norm, bigrams):
            regex = regexes[pid] or self._regex(pid)
            gi = self._patterns[pid][1]
            for m in regex.finditer(norm):
                hits.append(_Hit(gi, -1, m.start(), m.end(), m.group(0), "pattern"))
        if " " in norm.strip():  # a blank between words, not only a trailing emoji's
            self._match_squeezed(norm, hits)
        return hits, negated, bigrams

    def _match_squeezed(self, norm: str, hits: list[_Hit]) -> None:
        """Patterns once more over the text without its spaces: 「2にち ごはん たべてない」「かれ ナイフ もってる」
        (spaced hiragana of older or foreign residents, emoji between words) read as one phrase. Offsets map back
        to the spaced text; a span already found is not added twice."""
        pos = [i for i, c in enumerate(norm) if c != " "]
        squeezed = "".join([norm[i] for i in pos])
        if len(squeezed) < 2:
            return
        seen = {(h.group, h.start, h.end) for h in hits if h.kind == "pattern"}
        regexes = self._regexes
        for pid in self._prefilter.candidates(squeezed):
            regex = regexes[pid] or self._regex(pid)
            gi = self._patterns[pid][1]
            for m in regex.finditer(squeezed):
                if m.end() <= m.start():
                    continue
                start, end = pos[m.start()], pos[m.end() - 1] + 1
                if (gi, start, end) not in seen:
                    seen.add((gi, start, end))
                    hits.append(_Hit(gi, -1, start, end, m.group(0), "pattern"))

    def _regex(self, pid: int) -> re.Pattern[str]:
        """Pattern ``pid`` compiled, once (two threads racing both compile it: the same object either way)."""
        regex = self._regexes[pid] = re.compile(self._patterns[pid][0])
        return regex

    def _negated(self, lem: list[str], j: int, n_tok: int) -> bool:
        while j < n_tok and lem[j] in _GLUE:
            j += 1
        if j >= n_tok:
            return False
        return any(tuple(lem[j : j + len(cue)]) == cue for cue in self._negation_index.get(lem[j], ()))

    def _decide(self, text: str) -> _Outcome:
        nz = normalize(text)
        out, staged = self._rules(text, nz, self.tokens(nz.text))
        self._statistics(out, staged)
        return out

    def _statistics(self, out: _Outcome, staged: _Staged) -> None:
        """The statistical back-up folded into the rules' outcome (triage/model.py), when there is one."""
        if self.model is not None:
            nz, (ms, lem), bigrams = staged
            model.combine(
                self.model, out, out.text, nz.text, nz.original_span, ms, lem, self.field_threshold, bigrams
            )

    def _rules(self, text: str, nz: Normalized, tokens: _Tokens) -> tuple[_Outcome, _Staged]:
        """What the vocabulary decides, and what the statistical back-up needs to run after it."""
        hits, negated, bigrams = self._match(nz.text, tokens)
        groups = self.groups
        by_group: dict[int, list[_Hit]] = {}
        for h in hits:
            found = by_group.get(h.group)
            if found is None:
                by_group[h.group] = [h]
            else:
                found.append(h)
        ids: set[str] = set()
        matched: list[int] = []
        slots_needed = self._slots_needed
        for gi, found in by_group.items():
            need = slots_needed[gi]
            if need:
                got = {h.slot for h in found}
                if not all(k in got for k in range(need)) and not (-1 in got and self._has_terms[gi]):
                    continue
            matched.append(gi)
            ids.add(groups[gi].id)
        ages = self._ages(nz) if _DIGIT.search(nz.text) is not None else []
        for rule, _label, _span in ages:
            ids.add(rule)
        scores = dict.fromkeys(_FIELD_VALUES, 0.0)
        crisis_score: dict[str, float] = {}
        oos_score = 0.0
        fallback: list[int] = []
        active: list[int] = []
        guarded = self._guarded
        for gi in matched:
            if gi in guarded:
                g = groups[gi]
                if any(r not in ids for r in g.requires) or any(x in ids for x in g.suppressed_by):
                    continue
            if self._fallback[gi]:
                fallback.append(gi)
                continue
            active.append(gi)
            weight = self._weight[gi]
            kind = self._crisis[gi]
            if kind is not None:
                crisis_score[kind] = crisis_score.get(kind, 0.0) + weight
            for f in self._fields[gi]:
                scores[f] += weight
            if self._oos[gi]:
                oos_score += weight
        for _rule, label, _span in ages:
            scores[label] += self.age_weight

        threshold = self.field_threshold
        fields = [f for f in _FIELD_VALUES if scores[f] >= threshold]
        crisis_total = sum(crisis_score.values())
        crisis = crisis_total >= self.crisis_threshold
        kinds = [k for k in _KIND_VALUES if k in crisis_score] if crisis else []
        rules: list[tuple[str, str]] = []
        if not fields and fallback:
            # a vague message about a parent or a child goes to that field; otherwise it is 狭間
            specific = [gi for gi in fallback if self._fields[gi] and _HAZAMA not in self._fields[gi]]
            fallback = specific or fallback
            for gi in fallback:
                for f in self._fields[gi] or (_HAZAMA,):
                    scores[f] += self._weight[gi]
            fields = [f for f in _FIELD_VALUES if scores[f] >= threshold] or [_HAZAMA]
            active.extend(fallback)
        if crisis and not fields:
            fields = [_HAZAMA]
            rules.append((_HAZAMA, "crisis_without_field"))
        total = sum(scores[f] for f in fields)
        out_of_scope = not crisis and (not fields or (oos_score > 0 and oos_score > total))
        if out_of_scope:
            fields = []
            if oos_score == 0:
                rules.append(("out_of_scope", "no_welfare_concern"))

        # Evidence: the words, phrases and rules behind each label that was decided, with original offsets.
        decided = set(fields)
        if crisis:
            decided.update(self._kind_labels[k] for k in kinds)
        if out_of_scope:
            decided.add("out_of_scope")
        evidence: list[_Ev] = []
        span = nz.original_span
        for gi in active:
            labels = [x for x in self._labels[gi] if x in decided]
            if self._fallback[gi] and _HAZAMA in decided:
                labels = [_HAZAMA]
            if not labels:
                continue
            gid = groups[gi].id
            weight = self._weight[gi]
            group_hits = by_group[gi]
            for h in _drop_contained(group_hits) if len(group_hits) > 1 else group_hits:
                s, e = span(h.start, h.end)
                surface = text[s:e]  # as the resident wrote it
                for label in labels:
                    evidence.append((label, h.kind, surface, h.normalized, s, e, weight, gid))
        for rule, label, (a, b, norm) in ages:
            if label in decided:
                s, e = span(a, b)
                evidence.append((label, "rule", text[s:e], norm, s, e, self.age_weight, rule))
        for label, rule in rules:
            evidence.append((label, "rule", "", "", 0, 0, 0.0, rule))
        for h in negated:
            s, e = span(h.start, h.end)
            evidence.append(
                (
                    "negation",
                    "negation",
                    text[s:e],
                    h.normalized,
                    s,
                    e,
                    0.0,
                    groups[h.group].id,
                )
            )
        scores["crisis"] = crisis_total
        scores["out_of_scope"] = oos_score
        return _Outcome(text, fields, crisis, kinds, out_of_scope, scores, evidence), (nz, tokens, bigrams)

    def _ages(self, nz: Normalized) -> list[tuple[str, str, tuple[int, int, str]]]:
        """Ages in the text: 65+ points to 介護, under 18 to 子ども (thresholds in settings)."""
        out: list[tuple[str, str, tuple[int, int, str]]] = []
        seen: set[str] = set()
        for m in _AGE.finditer(nz.text):
            idx = next(i for i in (1, 2, 3, 4, 5) if m.group(i) is not None)
            if idx == 5 and _NOT_AGE.search(nz.text, max(0, m.start() - 10), m.start()) is not None:
                continue  # 「テストは 85です」「体重は 70です」: a bare number that is not an age
            age = int(m.group(idx))
            if self.older_age <= age <= 120:
                label = _KAIGO
            elif age < self.child_age and m.group(1) is not None and nz.text[m.end() - 1] != "代":
                label = _KODOMO
            else:
                continue
            if label in seen:
                continue
            seen.add(label)
            rule = "older_age" if label == _KAIGO else "child_age"
            out.append((rule, label, (m.start(idx), m.end(), m.group(0))))
        return out


def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
    """Keep one hit per span (hits of one group): a hit inside a longer one adds nothing."""
    hits = sorted(hits, key=lambda h: (h.start, h.start - h.end))
    out: list[_Hit] = []
    for h in hits:
        last = out[-1] if out else None
        if last is not None and last.start <= h.start and h.end <= last.end:
            continue
        out.append(h)
    return out


def _describe(fields: frozenset[Field], crisis: bool, oos: bool) -> str:
    parts = [f.value for f in FIELD_ORDER if f in fields] or ["(no field)"]
    if crisis:
        parts.append("crisis")
    if oos:
        parts.append("out_of_scope")
    return "+".join(parts)


def _user_words(vocab: Vocabulary, reader: Analyzer) -> list[DictWord]:
    """Explicit user-dictionary words plus hiragana spellings of the vocabulary's kanji nouns (かいご → 介護)."""
    words: list[DictWord] = []
    explicit = {w.word for w in vocab.user_words}
    for w in vocab.user_words:
        reading = w.reading or reader.reading(w.word) or w.word
        words.append(DictWord(normalize_term(w.word), normalize_term(w.normalized), reading, w.proper))
    tok = reader.dictionary.tokenizer()
    for g in vocab.groups:
        for term in (*g.terms, *(t for part in g.all_of for t in part)):
            term_n = normalize_term(term)
            if not any(map(is_kanji, term_n)) or term_n in explicit:
                continue
            ms = list(tok.tokenize(term_n))
            if not ms or not all(m.part_of_speech()[0] in _NOUNISH for m in ms):
                continue
            reading = "".join(m.reading_form() for m in ms)
            kana = kana_spelling(reading)
            if len(kana) < 3 or kana in explicit:
                continue
            lemma = "".join(m.normalized_form() for m in ms)
            if len(ms) > 1:
                # the kanji compound itself becomes one word, so that its kana spelling meets the same lemma
                words.append(DictWord(term_n, lemma, reading, cost=5000))
            words.append(DictWord(kana, lemma, reading, cost=6000))
    return words


_ANALYZERS: dict[tuple[str, str], Analyzer] = {}


def _analyzer_for(vocab: Vocabulary, cache_dir: Path | None) -> Analyzer:
    from triage.sudachi import user_dictionary_csv

    cache = cache_dir or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    key = (vocab.digest, str(cache))
    if key in _ANALYZERS:
        return _ANALYZERS[key]
    marker = cache / f"csv-{vocab.digest[:24]}.txt"
    if marker.exists():
        csv_text = marker.read_text(encoding="utf-8")
    else:
        csv_text = user_dictionary_csv(_user_words(vocab, Analyzer(None)))
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(csv_text, encoding="utf-8")
        tmp.replace(marker)
        prune_cache(cache, "csv-*.txt")
    analyzer = Analyzer(build_user_dictionary(csv_text, cache))
    while len(_ANALYZERS) >= 4:  # hot reloads: keep a few recent dictionaries, not every edit ever made
        _ANALYZERS.pop(next(iter(_ANALYZERS)))
    _ANALYZERS[key] = analyzer
    return analyzer
