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
from triage import lexicon
from triage.lexicon import Group, TriageKnowledgeError, Vocabulary
from triage.normalize import Normalized, normalize, normalize_term
from triage.regexes import first_chars, prefixes
from triage.sudachi import Analyzer, DictWord, build_user_dictionary, default_cache_dir, kana_spelling
from triage.types import FIELD_ORDER, CrisisKind, Evidence, Field, TriageResult

# Words that may stand between a term and its negation cue: 「介護は必要ない」「障害もありません」.
_GLUE = frozenset({"は", "が", "も", "を", "に", "で", "の", "って", "とか", "など", "なんか", "特に", "別に", "全然", "今", "まだ", "もう"})
_DIGIT = re.compile(r"\d")
_KANJI = re.compile(r"[\u4e00-\u9fff々]")
_NOUNISH = ("名詞", "接尾辞", "接頭辞")

# Ages: 「80歳の父」「70代男性」「母は87で」「90さなる」「80過ぎ」「生後4か月」 (older / child thresholds in settings).
_AGE = re.compile(
    r"(?<![\d.])(\d{1,3})\s*(?:歳|才|さい|代)"
    r"|(?:母|父|祖母|祖父|親|ばあ|じい|夫|妻|おかん|おとん|かあ|とう|おど|おが|私|わたし|おら|俺|僕|本人)"
    r"[^\d。、]{0,5}?(\d{2,3})(?=\s*(?:で|に|さ|過ぎ|すぎ|、|。|を|\)|です|だ|近|超|前後|になる|歳))"
    r"|\((\d{1,3})\)"
    r"|(?<![\d.])(\d{2,3})\s*(?=(?:さ|に)なる|過ぎ|すぎ|超え|を過ぎ|近い|の(?:義?[父母]|祖[父母]|親|男性|女性|夫婦|ご夫婦|おば|おじ|ばあ|じい))"
)


@dataclass(frozen=True, slots=True)
class _Entry:
    lemmas: tuple[str, ...]
    group: int
    slot: int  # -1: ``terms``; k: the k-th set of ``all_of``
    text: str


@dataclass(slots=True)
class _Hit:
    group: int
    slot: int
    start: int  # offsets in the normalised text
    end: int
    normalized: str
    kind: str  # term / phrase / pattern


class Triager:
    """Built once per knowledge pack (shared vocabulary + the pack's own terms); thread-safe ``triage``."""

    def __init__(self, vocab: Vocabulary, analyzer: Analyzer) -> None:
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
        self._compile()

    # -- loading ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, knowledge_dir: Path, pack: str | None = None, *, cache_dir: Path | None = None) -> Triager:
        """Read, validate and compile the vocabulary; raise :class:`TriageKnowledgeError` when it is broken."""
        vocab, problems = lexicon.read_vocabulary(Path(knowledge_dir), pack)
        if problems:
            raise TriageKnowledgeError(problems)
        return cls(vocab, _analyzer_for(vocab, cache_dir))

    @staticmethod
    def check(knowledge_dir: Path, pack: str | None = None) -> list[Problem]:
        """Problems in the vocabulary files (schema, duplicates, examples triaged unlike their labels)."""
        vocab, problems = lexicon.read_vocabulary(Path(knowledge_dir), pack)
        if problems:
            return problems
        triager = Triager(vocab, _analyzer_for(vocab, None))
        return triager.example_problems()

    def example_problems(self) -> list[Problem]:
        out: list[Problem] = []
        for ex in self.vocab.examples:
            r = self.triage(ex.text)
            got = (frozenset(r.fields), r.crisis, r.out_of_scope)
            want = (ex.fields, ex.crisis, ex.out_of_scope)
            if got != want:
                out.append(Problem(ex.file, ex.line, f"example triaged as {_describe(*got)}, labelled {_describe(*want)}"))
        return out

    def _compile(self) -> None:
        for gi, g in enumerate(self.groups):
            slots: list[tuple[int, Sequence[str]]] = [(-1, g.terms)]
            slots.extend(enumerate(g.all_of))
            for slot, terms in slots:
                for term in terms:
                    lemmas = tuple(x for x in self.analyzer.lemmas(normalize_term(term)) if x.strip())
                    bucket = self._index.setdefault(lemmas[0], []) if lemmas else []
                    if lemmas and not any(e.lemmas == lemmas and e.group == gi and e.slot == slot for e in bucket):
                        bucket.append(_Entry(lemmas, gi, slot, term))
        for cue, _file, _line in self.vocab.negations:
            lemmas = tuple(x for x in self.analyzer.lemmas(normalize_term(cue)) if x.strip())
            if lemmas:
                self._negation_index.setdefault(lemmas[0], []).append(lemmas)
        # Patterns run only when the message contains one of the characters they can start with: a set lookup
        # per distinct character instead of every regex at every position.
        self._patterns: list[tuple[re.Pattern[str], int]] = []
        self._always: list[int] = []
        self._by_first: dict[str, list[int]] = {}
        self._by_bigram: dict[str, list[int]] = {}
        for gi, g in enumerate(self.groups):
            for pat in g.patterns:
                pid = len(self._patterns)
                self._patterns.append((re.compile(pat), gi))
                starts = prefixes(pat) or first_chars(pat)
                if starts is None:
                    self._always.append(pid)
                    continue
                for start in starts:
                    index = self._by_first if len(start) == 1 else self._by_bigram
                    index.setdefault(start, []).append(pid)
        self._first_keys = frozenset(self._by_first)
        self._bigram_keys = frozenset(self._by_bigram)

    # -- triage ----------------------------------------------------------------------------------------------
    def triage(self, text: str) -> TriageResult:
        """Triage one message; never raises for any string."""
        try:
            return self._triage(text if isinstance(text, str) else str(text))
        except Exception:  # pragma: no cover - last resort: a resident's message must always get a result
            return TriageResult(
                text=text, fields=[Field.HAZAMA], complex=False, crisis=False, crisis_kinds=[],
                out_of_scope=False, scores={}, evidence=[],
            )

    def _match(self, norm: str) -> tuple[list[_Hit], list[_Hit]]:
        hits: list[_Hit] = []
        negated: list[_Hit] = []
        if not norm:
            return hits, negated
        ms = self.analyzer.morphemes(norm)
        lem = [m.normalized_form() for m in ms]
        if " " in norm:
            keep = [k for k, x in enumerate(lem) if x != " "]
            ms = [ms[k] for k in keep]
            lem = [lem[k] for k in keep]
        index = self._index
        n_tok = len(lem)
        groups = self.groups
        for i, x in enumerate(lem):
            cands = index.get(x)
            if cands is None:
                continue
            for e in cands:
                n = len(e.lemmas)
                if n > 1 and tuple(lem[i : i + n]) != e.lemmas:
                    continue
                hit = _Hit(e.group, e.slot, ms[i].begin(), ms[i + n - 1].end(), " ".join(e.lemmas), "term" if n == 1 else "phrase")
                if groups[e.group].negatable and self._negated(lem, i + n, n_tok):
                    negated.append(hit)
                else:
                    hits.append(hit)
        by_first = self._by_first
        todo: set[int] = set(self._always)
        for ch in self._first_keys.intersection(norm):
            todo.update(by_first[ch])
        by_bigram = self._by_bigram
        for bg in self._bigram_keys.intersection([norm[i : i + 2] for i in range(len(norm) - 1)]):
            todo.update(by_bigram[bg])
        patterns = self._patterns
        for pid in sorted(todo):
            regex, gi = patterns[pid]
            for m in regex.finditer(norm):
                hits.append(_Hit(gi, -1, m.start(), m.end(), m.group(0), "pattern"))
        if len(hits) > 1:
            hits = _drop_contained(hits)
        return hits, negated

    def _negated(self, lem: list[str], j: int, n_tok: int) -> bool:
        while j < n_tok and lem[j] in _GLUE:
            j += 1
        if j >= n_tok:
            return False
        for cue in self._negation_index.get(lem[j], ()):
            if tuple(lem[j : j + len(cue)]) == cue:
                return True
        return False

    def _triage(self, text: str) -> TriageResult:
        nz = normalize(text)
        hits, negated = self._match(nz.text)
        groups = self.groups
        by_group: dict[int, list[_Hit]] = {}
        slots: dict[int, set[int]] = {}
        for h in hits:
            by_group.setdefault(h.group, []).append(h)
            slots.setdefault(h.group, set()).add(h.slot)
        matched: set[int] = set()
        for gi, found in slots.items():
            g = groups[gi]
            need = self._slots_needed[gi]
            if (-1 in found and (g.terms or g.patterns)) or (need and all(k in found for k in range(need))):
                matched.add(gi)
        ids = {groups[gi].id for gi in matched}
        age_labels = self._ages(nz)
        ids.update(rule for rule, _label, _ev in age_labels)
        active = [
            gi
            for gi in sorted(matched)
            if all(r in ids for r in groups[gi].requires) and not any(s in ids for s in groups[gi].suppressed_by)
        ]
        evidence: list[Evidence] = []
        scores: dict[str, float] = {f.value: 0.0 for f in FIELD_ORDER}
        crisis_score: dict[CrisisKind, float] = {}
        oos_score = 0.0
        fallback: list[int] = []
        for gi in active:
            g = groups[gi]
            if g.fallback:
                fallback.append(gi)
                continue
            labels: list[str] = []
            if g.crisis is not None:
                crisis_score[g.crisis] = crisis_score.get(g.crisis, 0.0) + g.weight
                labels.append(f"crisis:{g.crisis.value}")
            for f in g.fields:
                scores[f.value] += g.weight
                labels.append(f.value)
            if g.out_of_scope:
                oos_score += g.weight
                labels.append("out_of_scope")
            for label in labels:
                evidence.extend(_evidence(nz, label, by_group[gi], g))
        for _rule_id, label, ev in age_labels:
            scores[label] += self.age_weight
            evidence.append(ev)

        fields = [f for f in FIELD_ORDER if scores[f.value] >= self.field_threshold]
        kinds = [k for k in CrisisKind if crisis_score.get(k, 0.0) > 0]
        crisis = sum(crisis_score.values()) >= self.crisis_threshold
        if not crisis:
            kinds = []
        if not fields and fallback:
            for gi in fallback:
                g = groups[gi]
                for f in g.fields or (Field.HAZAMA,):
                    scores[f.value] += g.weight
                evidence.extend(_evidence(nz, Field.HAZAMA.value, by_group[gi], g))
            fields = [f for f in FIELD_ORDER if scores[f.value] >= self.field_threshold] or [Field.HAZAMA]
        if crisis and not fields:
            fields = [Field.HAZAMA]
            evidence.append(_rule(nz, Field.HAZAMA.value, "crisis_without_field"))
        total = sum(scores[f.value] for f in fields)
        out_of_scope = not crisis and (not fields or (oos_score > 0 and oos_score > total))
        if out_of_scope:
            fields = []
            if oos_score == 0:
                evidence.append(_rule(nz, "out_of_scope", "no_welfare_concern"))
        for h in negated:
            evidence.append(
                Evidence(
                    label="negation", kind="negation", surface=_surface(text, nz, h.start, h.end),
                    normalized=h.normalized, start=nz.original_span(h.start, h.end)[0],
                    end=nz.original_span(h.start, h.end)[1], weight=0.0, rule=groups[h.group].id,
                )
            )
        scores["crisis"] = sum(crisis_score.values())
        scores["out_of_scope"] = oos_score
        return TriageResult(
            text=text,
            fields=fields,
            complex=len(fields) >= 2,
            crisis=crisis,
            crisis_kinds=kinds,
            out_of_scope=out_of_scope,
            scores=scores,
            evidence=evidence,
        )

    def _ages(self, nz: Normalized) -> list[tuple[str, str, Evidence]]:
        """Ages in the text: 65+ points to 介護, under 18 to 子ども (thresholds in settings)."""
        out: list[tuple[str, str, Evidence]] = []
        if _DIGIT.search(nz.text) is None:
            return out
        seen: set[str] = set()
        for m in _AGE.finditer(nz.text):
            idx = next(i for i in (1, 2, 3, 4) if m.group(i) is not None)
            age = int(m.group(idx))
            if age >= self.older_age and age <= 120:
                label = Field.KAIGO.value
            elif age < self.child_age and m.group(1) is not None and not nz.text[m.end() - 1] == "代":
                label = Field.KODOMO.value
            else:
                continue
            if label in seen:
                continue
            seen.add(label)
            rule = "older_age" if label == Field.KAIGO.value else "child_age"
            s, e = nz.original_span(m.start(idx), m.end())
            ev = Evidence(
                label=label, kind="rule", surface=nz.text[m.start(idx) : m.end()],
                normalized=m.group(0), start=s, end=e, weight=self.age_weight, rule=rule,
            )
            out.append((rule, label, ev))
        return out


def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
    """Keep one hit per span and group: a hit inside a longer one of the same group adds nothing."""
    hits.sort(key=lambda h: (h.group, h.start, -(h.end - h.start)))
    out: list[_Hit] = []
    for h in hits:
        last = out[-1] if out else None
        if last is not None and last.group == h.group and last.start <= h.start and h.end <= last.end:
            continue
        out.append(h)
    return out


def _surface(text: str, nz: Normalized, start: int, end: int) -> str:
    s, e = nz.original_span(start, end)
    return text[s:e]


def _evidence(nz: Normalized, label: str, hits: list[_Hit], g: Group) -> list[Evidence]:
    out = []
    for h in hits:
        s, e = nz.original_span(h.start, h.end)
        out.append(
            Evidence(
                label=label, kind=h.kind, surface=nz.text[h.start : h.end], normalized=h.normalized,
                start=s, end=e, weight=g.weight, rule=g.id,
            )
        )
    return out


def _rule(nz: Normalized, label: str, rule: str) -> Evidence:
    return Evidence(
        label=label, kind="rule", surface="", normalized="", start=0, end=0, weight=0.0, rule=rule
    )


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
            if not _KANJI.search(term_n) or term_n in explicit:
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
    analyzer = Analyzer(build_user_dictionary(csv_text, cache))
    _ANALYZERS[key] = analyzer
    return analyzer
