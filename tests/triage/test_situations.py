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


# Field kinds that two blind batches showed the vocabulary missing (each said here in words of our own): the field
# must follow who is involved and why, not the loudest word.
FIELD_KINDS = [
    # days without food is money hardship only when money is the reason
    ("もう3日なにも食べてない。財布に100円しかない", {"困窮"}),
    ("中2の娘がやせたいと言って、もう4日ほとんど食べていません。体重も落ちてきた", {"子ども"}),
    ("知的障害のある兄が、家で母からもう3日ごはんを出してもらえていないようです", {"障害"}),
    # partner violence told without the usual words, and as a child sees it
    ("夫が酔って包丁を持ち出してきた。娘(4)と寝室にいます", {"子ども", "狭間"}),
    ("パパがママのかみをひっぱってる こわい 小2", {"子ども", "狭間"}),
    # isolation and self-neglect
    ("71歳、妻に先立たれて独りになってから、誰とも話さない日ばかりです", {"介護", "狭間"}),
    ("職場の先輩(30代)がもう何日も同じ服で、お風呂にも入っていないみたい", {"狭間"}),
    # named conditions and a white cane are 障害; child-care 入所 and bathing small children are not 介護
    ("娘(3)がダウン症で、受け入れてくれる保育園を探しています", {"障害", "子ども"}),
    ("白い杖を使っている夫(45)の通院に付き添ってくれる人を頼めますか", {"障害"}),
    ("保育園の入所の申し込みはいつまでですか", {"子ども"}),
    # a pupil shut in the room is 子ども; an adult remembering a hard childhood is 狭間
    ("中学生の息子が一か月ほど部屋から出てきません", {"子ども"}),
    ("子どもの頃に父から殴られていました。35歳の今も大きな声が怖いです", {"狭間"}),
    # money and housing said without money words
    ("給料日まであと8日で、冷蔵庫がほぼ空です。食料の支援はありますか", {"困窮"}),
    # a foreign resident says so
    ("ブラジル人です。こどもの がっこうの しょるい わかりません", {"子ども", "狭間"}),
]


@pytest.mark.parametrize(("text", "fields"), FIELD_KINDS)
def test_field_follows_the_kind_of_situation(triager: Triager, text: str, fields: set[str]) -> None:
    result = triager.triage(text)
    assert {str(f) for f in result.fields} == fields, result.evidence


@pytest.mark.parametrize(
    "text",
    [
        "祖父(88)が公正証書で遺言書を作りたいそうです。公証役場の場所を教えてください",
        "学校の課題で作文を書いてみようと言われたけど何を書けばいいかわからない",
        "部屋の鍵をなくして入れない",
    ],
)
def test_wills_writing_tasks_and_lost_keys_are_out_of_scope(triager: Triager, text: str) -> None:
    result = triager.triage(text)
    assert result.out_of_scope and not result.fields, result.evidence


# Kinds that the blind batches fresh7/fresh8 showed missing, each said here in words of our own (not training lines):
# older people's dialect "no point in being here", a farewell by finality, a fall with the eyes not opening, carers'
# 二人で楽に, and on the other side a wish named only to deny it, a past wish now settled, and hyperbole.
CRISIS_KINDS = [
    "いきてても　しかたない　だれも　こない　もう　はちじゅう",
    "うちなんかおっても何の役にも立たん、生きとってもしょうがない",
    "福祉の担当さん、今まで本当にありがとう。もう次の振込を待つこともありません。鍵は大家さんの郵便受けに入れます",
    "母が脚立から落ちて頭打った。息はしよるけど目を開けん。どうしよう",
    "介護に疲れて、夫と二人で楽になりたいと思ってしまう",
    "あしたはもう　おらんけん　ありがと",
]
NOT_CRISIS_KINDS = [
    "パニック障害で、前は消えたいと思ってたけど、今はだいぶ落ち着いた。作業所を見学したい",
    "死にたいってわけじゃないんです。ただ眠れなくて相談したい",
    "暑くて死ぬ笑　エアコンの補助ってある？",
    "元夫に居場所を知られないようにしたい。子どもと実家に移って今は安心",
    "ケースワーカーさん、長いことお世話になりました。仕事が決まったので次の支給日はもう待たなくていいんです",
]


@pytest.mark.parametrize("text", CRISIS_KINDS)
def test_crisis_kinds_from_the_blind_batches(triager: Triager, text: str) -> None:
    result = triager.triage(text)
    assert result.crisis and result.crisis_kinds, result.evidence


@pytest.mark.parametrize("text", NOT_CRISIS_KINDS)
def test_denied_settled_or_joking_wishes_raise_no_crisis(triager: Triager, text: str) -> None:
    assert not triager.triage(text).crisis


FIELD_KINDS_2 = [
    ("ガソリン代が払えなくて病院に通えない", {"困窮"}),
    ("認知症の前段階のMCIと言われた", {"介護"}),
    ("ひとり親家庭の医療費助成について知りたい", {"子ども"}),
    ("介護保険料が高い。減免できますか", {"介護"}),
    ("隣の独り暮らしのおばあさん、家がゴミでいっぱいで窓も開かない", {"介護", "狭間"}),
    ("親の喧嘩がうるさくて、夜は毎日公園にいる。中1", {"子ども", "狭間"}),
    ("姑と同居で毎日嫌味を言われて限界", {"狭間"}),
    ("隣の家の男性が夜中に壁に向かって叫んでいる。独り言がすごい", {"狭間"}),
    ("双子で夜泣きがひどい。誰かと話したかっただけ", {"子ども"}),
]


@pytest.mark.parametrize(("text", "fields"), FIELD_KINDS_2)
def test_field_follows_the_kind_of_situation_fresh7_fresh8(
    triager: Triager, text: str, fields: set[str]
) -> None:
    result = triager.triage(text)
    assert {str(f) for f in result.fields} == fields, result.evidence


@pytest.mark.parametrize(
    "text",
    ["What documents do I need to register my address at city hall?", "盆踊り大会は何時から？孫と行きたい"],
)
def test_english_address_questions_and_festivals_are_out_of_scope(triager: Triager, text: str) -> None:
    result = triager.triage(text)
    assert result.out_of_scope and not result.fields, result.evidence
