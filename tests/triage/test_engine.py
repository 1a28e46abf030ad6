"""Behaviour staff and residents rely on: fields, crisis first, negation, kana spellings, evidence offsets."""

from __future__ import annotations

import pytest

from triage import CrisisKind, Field, Triager


def fields(t: Triager, text: str) -> set[str]:
    return {f.value for f in t.triage(text).fields}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("父が同じことを何べんも聞いてくるし、夜中に家を出て行こうとします", {"介護"}),
        ("かいごのことで そうだんしたいです", {"介護"}),
        ("しょうがいしゃてちょうを もっています。しごとをさがしています", {"障害"}),
        ("息子がひきこもりになって5年たちます", {"狭間"}),
        ("統合失調症の弟がずっと家にこもっています", {"障害"}),
        ("中1の娘が学校に行けなくなりました", {"子ども"}),
        ("家賃を2か月ためてしまい、大家さんから出ていけと言われています", {"困窮"}),
        ("82歳の父と、20年部屋から出てこない兄のことで相談です", {"介護", "狭間"}),
        ("ダブルケアで、義母の介護と赤ちゃんの世話がしんどい", {"介護", "子ども"}),
        ("保育円に入りたい", {"子ども"}),
    ],
)
def test_fields_by_kind_of_situation(triager: Triager, text: str, expected: set[str]) -> None:
    assert fields(triager, text) == expected


def test_complex_means_two_or_more_fields(triager: Triager) -> None:
    r = triager.triage("認知症の母の介護で仕事を辞め、貯金も底をつきました")
    assert {Field.KAIGO, Field.KONKYU} <= set(r.fields)
    assert r.complex is True
    assert triager.triage("デイサービスを探しています").complex is False


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("もう消えたい", CrisisKind.SUICIDE),
        ("楽になりたい。もう全部いやだ", CrisisKind.SUICIDE),
        ("朝、目が覚めなければいいのに", CrisisKind.SUICIDE),
        ("子どもに手をあげてしまいそうです", CrisisKind.ABUSE),
        ("夫に毎晩殴られています。たすけて", CrisisKind.VIOLENCE),
        ("もう何日も食べてない", CrisisKind.NO_FOOD),
        ("父が倒れて意識がありません", CrisisKind.MEDICAL),
        ("認知症の母が昼から帰って来ません", CrisisKind.MISSING),
    ],
)
def test_crisis_indirect_expressions(triager: Triager, text: str, kind: CrisisKind) -> None:
    r = triager.triage(text)
    assert r.crisis is True
    assert kind in r.crisis_kinds
    assert r.fields, "a crisis still has its fields"
    assert r.out_of_scope is False


def test_crisis_never_hides_fields(triager: Triager) -> None:
    r = triager.triage("母の介護で疲れ果てました。もう死にたい")
    assert r.crisis and Field.KAIGO in r.fields


@pytest.mark.parametrize(
    "text",
    [
        "介護で疲れた",
        "もう限界です。子育てがしんどい",
        "夫の暴力から逃げて、今は実家にいます。これからの仕事が心配です",
    ],
)
def test_not_a_crisis(triager: Triager, text: str) -> None:
    assert triager.triage(text).crisis is False


def test_negation_cancels_the_term(triager: Triager) -> None:
    r = triager.triage("介護は必要ないです。粗大ごみの出し方を教えてください")
    assert r.out_of_scope is True
    assert any(e.label == "negation" and e.surface == "介護" for e in r.evidence)


@pytest.mark.parametrize(
    "text", ["住民票の写しがほしい", "花火大会はいつですか", "おはようございます", "ありがとう！"]
)
def test_out_of_scope(triager: Triager, text: str) -> None:
    r = triager.triage(text)
    assert r.out_of_scope is True
    assert r.fields == [] and r.crisis is False


def test_evidence_offsets_point_into_the_original_text(triager: Triager) -> None:
    text = "ＡＤＨＤの息子のことで😢😢 学校に行けません！！！"
    r = triager.triage(text)
    assert r.evidence
    for e in r.evidence:
        if e.kind in ("term", "phrase", "pattern"):
            assert text[e.start : e.end] == e.surface != "", e
    adhd = next(e for e in r.evidence if e.rule == "developmental")
    assert text[adhd.start : adhd.end] == "ＡＤＨＤ"


@pytest.mark.parametrize(
    ("text", "kind", "emoji"),
    [
        ("💊ぜんぶのんだ", CrisisKind.SUICIDE, "💊"),
        ("🍚もう3日たべてない", CrisisKind.NO_FOOD, "🍚"),
    ],
)
def test_an_emoji_that_stands_for_a_word_is_read_as_it(
    triager: Triager, text: str, kind: CrisisKind, emoji: str
) -> None:
    r = triager.triage(text)
    assert kind in r.crisis_kinds
    assert any(e.surface.startswith(emoji) for e in r.evidence), "staff see the emoji as the evidence"


def test_faces_stay_blank() -> None:
    from triage.normalize import normalize

    assert normalize("つらい😭😭").text == "つらい "
    assert normalize("💊😭").text == "薬 "


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("モウ生キテ居ル意味ガ無イ　死ンデシマヒタイ", CrisisKind.SUICIDE),
        ("主人ガ酒ヲ飲ムト暴レマス　今モ包丁ヲ持ツテ怒鳴ツテ居マス", CrisisKind.VIOLENCE),
        ("三日何モ食ベテ居リマセン　金ガ有リマセン", CrisisKind.NO_FOOD),
        ("ムスコニ　タタカレテ　イタイ　タスケテ　78サイ", CrisisKind.ABUSE),  # kana typed as katakana only
    ],
)
def test_katakana_written_text_is_read_like_hiragana(triager: Triager, text: str, kind: CrisisKind) -> None:
    """カタカナ交じり文 of the oldest residents and kana typed as katakana: Sudachi cannot read 生キテ or 食ベテ, so
    okurigana and particles become hiragana first; the evidence still points at the resident's own katakana."""
    r = triager.triage(text)
    assert kind in r.crisis_kinds
    assert all(text[e.start : e.end] == e.surface for e in r.evidence if e.surface)
    assert any(any("\u30a1" <= c <= "\u30f6" for c in e.surface) for e in r.evidence)


def test_katakana_style_keeps_loanwords_and_ordinary_texts() -> None:
    from triage.normalize import katakana_style, normalize

    assert normalize("私ハ八十才デス ヘルパーサンモ来マセン").text.startswith("私は八十才です ヘルパー")
    ordinary = "介護サービス　障害福祉サービス　申請"  # no hiragana, but only loanwords in katakana
    assert katakana_style(ordinary) is ordinary
    assert normalize("テスト").text == "テスト"
    assert normalize("ケアマネ").text == "ケアマネ", "one katakana word is a word, not kana typed as katakana"
    assert normalize("母ハもう年です").text == "母ハもう年です", "a text with hiragana is not old style"


def test_contract_dict_shape(triager: Triager) -> None:
    d = triager.triage("母の物忘れがひどい").contract_dict()
    assert {"text", "fields", "complex", "crisis", "out_of_scope", "evidence"} <= set(d)
    assert d["fields"] == ["介護"]
    assert isinstance(d["evidence"], list) and d["evidence"][0]["rule"] == "dementia_signs"


def test_user_dictionary_words_are_single_tokens(triager: Triager) -> None:
    assert triager.analyzer.lemmas("8050問題") == ["8050問題"]
    assert triager.analyzer.lemmas("地域包括支援センター") == ["地域包括支援センター"]
    assert triager.analyzer.lemmas("かいご") == ["介護"]


def test_thread_safe(triager: Triager) -> None:
    """One Sudachi tokenizer per thread: concurrent calls give the same results as sequential ones."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        f"{i}日前から母の物忘れがひどく、家賃も払えない" if i % 2 else f"息子が{i}年ひきこもり"
        for i in range(200)
    ]
    expected = [triager.triage(t).contract_dict() for t in texts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: triager.triage(t).contract_dict(), texts))
    assert got == expected


def test_triage_contract_equals_result_contract_dict(triager: Triager) -> None:
    for text in ["", "死にたい", "ＡＤＨＤの息子😢", "介護は必要ない", "住民票", "80歳の父と50歳の兄が…"]:
        assert triager.triage_contract(text) == triager.triage(text).contract_dict()


@pytest.mark.parametrize(
    ("text", "older"),
    [
        ("わしは78で、足がいうことを聞かん", True),
        ("ひとりで すんでます 85です あしがわるくて", True),
        ("あたし もう82になりました", True),
        ("テストは 85です。塾代が払えない", False),
        ("体重は 70です。仕事がなくて家賃が払えない", False),
        ("85のばばが 夜中に外さ出ていく", True),  # an age before an older person's familiar name
        ("うちの90のじじ、最近ごはん食べたのも忘れる", True),
        ("85の部屋の前にごみが積まれている", False),
    ],
)
def test_older_age_said_of_oneself(triager: Triager, text: str, older: bool) -> None:
    r = triager.triage(text)
    rules = {ev.rule for ev in r.evidence}
    assert ("older_age" in rules) is older
    assert (Field.KAIGO in r.fields) is older


def test_spaced_words_read_as_one_phrase_with_offsets_into_the_spaced_text(triager: Triager) -> None:
    """Residents who type letter by letter or word by word (a child, an older person, a foreign resident) get the
    same patterns as those who don't; evidence still points at what they wrote."""
    text = "わたし もう し に た い"
    r = triager.triage(text)
    assert r.crisis and CrisisKind.SUICIDE in r.crisis_kinds
    words = [ev for ev in r.evidence if ev.label == "crisis:suicide" and ev.kind == "pattern"]
    assert words and all(text[ev.start : ev.end] == ev.surface for ev in words)
    assert any(" " in ev.surface for ev in words)  # the span covers the spaced letters as written
