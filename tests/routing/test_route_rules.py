"""The routing rules every pack follows, area names as residents type them, and ``intake route``."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from typer.testing import CliRunner

from intake.cli import app
from intake.knowledge.schema import MeetingKind, Pack, WindowKind
from routing.route import RoutingError, resolve_area, route, topics_in
from triage.types import FIELD_ORDER, CrisisKind

PACK_IDS = ("nomi", "chuo", "iizuka", "daisen", "yuzawa", "demo")


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_one_field_goes_to_a_consultation_window_serving_it(packs: dict[str, Pack], pack_id: str) -> None:
    pack = packs[pack_id]
    for area in [None, *(a.id for a in pack.areas)]:
        for f in FIELD_ORDER:
            d = route(pack, [f], area=area, ask_area=False)
            assert not d.complex and d.collaboration is None and d.meeting is None
            assert d.primary.kind == WindowKind.CONSULTATION
            assert f in d.primary.fields or d.primary.id == pack.municipality.general_window_id
            if area is not None and d.primary.areas:
                assert area in d.primary.areas
            assert d.reasons


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_pair_of_fields_is_complex_and_goes_to_the_collaboration_entry(
    packs: dict[str, Pack], pack_id: str
) -> None:
    pack = packs[pack_id]
    c = pack.collaboration
    for pair in combinations(FIELD_ORDER, 2):
        for consent, kind in ((True, MeetingKind.WITH_CONSENT), (False, MeetingKind.WITHOUT_CONSENT)):
            d = route(pack, list(pair), consent=consent, ask_area=False)
            assert d.complex and d.primary.id == c.window_id
            assert d.meeting is not None and d.meeting.kind == kind
            assert d.meeting.name == (c.with_consent.name if consent else c.without_consent.name)
            for f in pair:  # each field's window follows the entry (the general window where none is known)
                assert any(f in w.fields or w.id == pack.municipality.general_window_id for w in d.windows)


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_without_consent_the_meeting_is_the_confidential_one(packs: dict[str, Pack], pack_id: str) -> None:
    d = route(packs[pack_id], ["介護", "困窮"], ask_area=False)
    assert d.needs_consent
    assert d.meeting is not None and d.meeting.confidential and d.meeting.kind == MeetingKind.WITHOUT_CONSENT
    assert any("守秘義務" in r for r in d.reasons)


@pytest.mark.parametrize("pack_id", PACK_IDS)
@pytest.mark.parametrize("kind", list(CrisisKind))
def test_a_crisis_is_urgent_with_numbers_to_call(
    packs: dict[str, Pack], pack_id: str, kind: CrisisKind
) -> None:
    d = route(packs[pack_id], ["狭間"], crisis=True, crisis_kinds=[kind], ask_area=False)
    assert d.urgent
    assert d.crisis_contacts and all(not c.kinds or kind in c.kinds for c in d.crisis_contacts)
    assert all(c.phone for c in d.crisis_contacts)
    assert "命や安全" in d.reasons[0]


def test_a_crisis_without_a_known_kind_lists_every_line(packs: dict[str, Pack]) -> None:
    d = route(packs["nomi"], ["介護"], crisis=True, area="寺井")
    assert len(d.crisis_contacts) == len(packs["nomi"].crisis_contacts)


def test_no_crisis_no_numbers(packs: dict[str, Pack]) -> None:
    d = route(packs["nomi"], ["介護"], area="寺井")
    assert not d.urgent and d.crisis_contacts == []


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_window_is_reachable_by_some_routing(packs: dict[str, Pack], pack_id: str) -> None:
    pack = packs[pack_id]
    reached: set[str] = set()
    for area in [None, *(a.id for a in pack.areas)]:
        for f in FIELD_ORDER:
            reached.update(w.id for w in route(pack, [f], area=area).windows)
        reached.update(w.id for w in route(pack, ["介護", "障害"], area=area).windows)
        reached.update(w.id for w in route(pack, ["介護", "障害"], area=area).resources)
        for t in pack.topics:
            d = route(pack, [], area=area, topics=[t.id])
            reached.update(w.id for w in [*d.windows, *d.resources])
    assert {w.id for w in pack.windows} == reached


# --- areas and topics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("寺井", "terai"),
        ("寺井町", "terai"),
        ("てらい", "terai"),
        ("テライ", "terai"),
        (" 寺井 ", "terai"),
        ("寺井のあたりに住んでいます", "terai"),
        ("寺井町です", "terai"),
        ("terai", "terai"),
        ("辰口地区", "tatsunokuchi"),
        ("根上町の浜のほう", "neagari"),
    ],
)
def test_resolve_area_finds_the_one_ken_iki(packs: dict[str, Pack], text: str, area: str) -> None:
    found = resolve_area(packs["nomi"], text)
    assert found is not None and found.id == area


@pytest.mark.parametrize("text", ["", "金沢", "寺井か辰口", "わからない", "市"])
def test_resolve_area_gives_none_when_no_single_area_is_named(packs: dict[str, Pack], text: str) -> None:
    assert resolve_area(packs["nomi"], text) is None


def test_the_longest_name_wins(packs: dict[str, Pack]) -> None:
    found = resolve_area(packs["daisen"], "西仙北に住んでます")
    assert found is not None and found.id == "nishisenboku"
    found = resolve_area(packs["daisen"], "仙北")
    assert found is not None and found.id == "senboku"


def test_topics_are_found_in_a_residents_words(packs: dict[str, Pack]) -> None:
    assert topics_in(packs["iizuka"], "夫に殴られて、子どもと逃げたい") == ["dv"]
    assert topics_in(packs["iizuka"], "ＤＶの相談をしたいです") == ["dv"]
    assert "youth" in topics_in(packs["iizuka"], "息子が万引きで補導されました")
    assert topics_in(packs["iizuka"], "母の介護がつらい") == []


def test_violence_brings_the_dv_window_even_without_the_topic(packs: dict[str, Pack]) -> None:
    d = route(packs["iizuka"], ["狭間"], crisis=True, crisis_kinds=["violence"])
    assert d.primary.id == "thanks" and d.topics == ["dv"]


def test_bad_input_names_the_valid_choices(packs: dict[str, Pack]) -> None:
    with pytest.raises(
        RoutingError, match=r"unknown field '高齢'; valid fields: 介護, 障害, 子ども, 困窮, 狭間"
    ):
        route(packs["nomi"], ["高齢"])
    with pytest.raises(RoutingError, match=r"unknown area '金沢'; valid areas: neagari \(根上"):
        route(packs["nomi"], ["介護"], area="金沢")
    with pytest.raises(RoutingError, match=r"pack 'iizuka' defines no areas"):
        route(packs["iizuka"], ["介護"], area="穂波")
    with pytest.raises(RoutingError, match=r"unknown topic 'dvv'; valid topics: dv, "):
        route(packs["nomi"], ["狭間"], topics=["dvv"])
    with pytest.raises(RoutingError, match=r"unknown crisis kind 'fire'"):
        route(packs["nomi"], ["狭間"], crisis_kinds=["fire"])


# --- intake route ----------------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_intake_route_prints_a_complex_case_as_json() -> None:
    code, out, _ = run("route", "--pack", "daisen", "--fields", "介護,困窮", "--consent", "no")
    assert code == 0
    data = json.loads(out)
    assert data["complex"] is True and data["fields"] == ["介護", "困窮"]
    assert data["windows"][0]["id"] == "shakyo-takikan"
    assert {"name", "phone", "hours"} <= set(data["windows"][0])
    assert data["collaboration"]["window"]["name"] == "大仙市社会福祉協議会（多機関協働事業）"
    meetings = data["collaboration"]["meetings"]
    assert meetings["with_consent"]["name"] == "「つながる・ささえる」支援会議"
    assert meetings["without_consent"]["name"] == "「つながる・ささえる」ネットワーク会議"
    assert data["meeting"]["name"] == "「つながる・ささえる」ネットワーク会議"
    assert data["meeting"]["confidential"] is True


def test_intake_route_one_field_with_an_area_name() -> None:
    code, out, _ = run("route", "--pack", "nomi", "--fields", "介護", "--area", "寺井町")
    assert code == 0
    data = json.loads(out)
    assert [w["name"] for w in data["windows"]] == ["寺井あんしん相談センター"]
    assert data["windows"][0]["todo"] == ["phone", "hours", "address", "operated_by"]
    assert data["collaboration"] is None and data["meeting"] is None
    assert data["area"] == {"id": "terai", "name": "寺井"}


def test_intake_route_with_consent_yes_and_a_crisis() -> None:
    code, out, _ = run(
        "route", "--pack", "demo", "--fields", "子ども,困窮", "--consent", "yes", "--crisis", "abuse"
    )
    assert code == 0
    data = json.loads(out)
    assert data["meeting"]["name"] == "重層的支援会議" and data["urgent"] is True
    assert "189" in [c["phone"] for c in data["crisis_contacts"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pack", "nomo", "--fields", "介護"], "valid packs in"),
        (["--pack", "nomi", "--fields", "高齢"], "valid fields: 介護, 障害, 子ども, 困窮, 狭間"),
        (["--pack", "nomi", "--fields", "介護", "--area", "金沢"], "valid areas: neagari"),
        (["--pack", "nomi", "--fields", "介護", "--consent", "maybe"], "--consent must be yes or no"),
        (["--pack", "nomi", "--fields", ","], "no field given"),
    ],
)
def test_intake_route_refuses_bad_input_with_the_valid_choices(args: list[str], message: str) -> None:
    code, out, err = run("route", *args)
    assert code == 2 and out == ""
    assert message in err
