"""Each seed pack routes every field, area, topic and consent case the way its source document says."""

from __future__ import annotations

import pytest

from intake.knowledge.schema import Pack
from routing.route import RoutingDecision, route


def ids(d: RoutingDecision) -> list[str]:
    return [w.id for w in d.windows]


def first(pack: Pack, fields: list[str], **kw: object) -> str:
    d = route(pack, fields, **kw)  # type: ignore[arg-type]
    assert not d.needs_area, d.reasons
    return d.primary.id


# --- 能美市 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "centre"),
    [
        ("寺井", "anshin-terai"),
        ("寺井町", "anshin-terai"),
        ("てらい", "anshin-terai"),
        ("根上", "anshin-neagari"),
        ("ねあがり", "anshin-neagari"),
        ("辰口町", "anshin-tatsunokuchi"),
        ("たつのくち", "anshin-tatsunokuchi"),
    ],
)
def test_nomi_care_goes_to_the_anshin_centre_of_the_residents_area(
    packs: dict[str, Pack], said: str, centre: str
) -> None:
    assert first(packs["nomi"], ["介護"], area=said) == centre


def test_nomi_asks_the_area_for_care_because_each_area_has_its_own_centre(packs: dict[str, Pack]) -> None:
    d = route(packs["nomi"], ["介護"])
    assert d.needs_area
    assert ids(d) == ["anshin-neagari", "anshin-terai", "anshin-tatsunokuchi"]
    # A resident who cannot say: the city's department takes it, the centres follow.
    d = route(packs["nomi"], ["介護"], ask_area=False)
    assert not d.needs_area and ids(d)[0] == "ikiiki"


def test_nomi_hazama_goes_to_the_areas_anshin_centre_then_the_city(packs: dict[str, Pack]) -> None:
    d = route(packs["nomi"], ["狭間"], area="寺井")
    assert ids(d) == ["anshin-terai", "ikiiki"]
    d = route(packs["nomi"], ["狭間"])
    assert d.needs_area and ids(d)[0] == "ikiiki"


def test_nomi_disability_child_and_poverty_windows(packs: dict[str, Pack]) -> None:
    nomi = packs["nomi"]
    d = route(nomi, ["障害"])
    assert ids(d) == ["be-hoshigaoka", "taiyo", "hamakaze", "heart-and-heart"]
    assert not d.needs_area  # the four offices serve the whole city
    assert first(nomi, ["子ども"]) == "kosodate-shien-center"
    assert first(nomi, ["子ども"], topics=["pregnancy"]) == "sante"  # 母子保健型
    assert first(nomi, ["困窮"]) == "kurashi-support"


@pytest.mark.parametrize(("consent", "meeting"), [(True, "重層的支援会議"), (False, "支援チーム会議")])
def test_nomi_complex_case_goes_to_ikiiki_and_the_meeting_chosen_by_consent(
    packs: dict[str, Pack], consent: bool, meeting: str
) -> None:
    d = route(packs["nomi"], ["介護", "狭間"], area="てらい", consent=consent)
    assert d.complex
    assert ids(d) == ["ikiiki", "anshin-terai"]
    assert d.collaboration is not None and d.collaboration.window_id == "ikiiki"
    assert d.meeting is not None and d.meeting.name == meeting
    assert d.meeting.confidential is (not consent)
    assert [w.id for w in d.resources] == ["outreach-taiyo", "sanka-link"]


# --- 中央区 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "window"),
    [
        ("介護", "otoshiyori"),
        ("障害", "kikan-sodan"),
        ("子ども", "kodomo-katei"),
        ("困窮", "kurashi-shigoto"),
        ("狭間", "fukushi-sogo"),
    ],
)
def test_chuo_each_field_has_its_window(packs: dict[str, Pack], field: str, window: str) -> None:
    assert first(packs["chuo"], [field]) == window


def test_chuo_hazama_and_dont_know_go_to_the_general_window(packs: dict[str, Pack]) -> None:
    d = route(packs["chuo"], [])
    assert d.primary.name == "福祉総合相談窓口（仮称）"


def test_chuo_child_topics_reach_the_health_centre_and_akachan_tengoku(packs: dict[str, Pack]) -> None:
    assert first(packs["chuo"], ["子ども"], topics=["pregnancy"]) == "hokenjo"
    assert first(packs["chuo"], ["子ども"], topics=["childcare_place"]) == "akachan-tengoku"


@pytest.mark.parametrize(
    ("consent", "meeting"), [(True, "重層的支援会議"), (False, "支援会議"), (None, "支援会議")]
)
def test_chuo_complex_case(packs: dict[str, Pack], consent: bool | None, meeting: str) -> None:
    d = route(packs["chuo"], ["障害", "困窮"], consent=consent)
    assert ids(d) == ["hokatsuka", "kikan-sodan", "kurashi-shigoto"]
    assert d.meeting is not None and d.meeting.name == meeting
    assert d.needs_consent is (consent is None)
    assert d.collaboration is not None
    assert [m.name for m in d.collaboration.other_meetings] == ["相談支援包括化推進連絡会議"]
    assert [w.id for w in d.resources] == ["chiiki-fukushi-co"]


def test_chuo_places_are_shown_for_the_residents_area(packs: dict[str, Pack]) -> None:
    d = route(packs["chuo"], ["狭間"], area="勝どき", topics=["ibasho"])
    shown = [w.id for w in d.resources]
    assert "kachidoki-dayroom" in shown and "kyobashi-kyoten" not in shown and "hamaroom" in shown
    d = route(packs["chuo"], ["狭間"], area="銀座", topics=["ibasho"])
    shown = [w.id for w in d.resources]
    assert "kyobashi-kyoten" in shown and "kachidoki-dayroom" not in shown


# --- 飯塚市 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "window"),
    [
        ("介護", "houkatsu"),
        ("障害", "kikan-shogai"),
        ("子ども", "cocosumo"),
        ("困窮", "seikatsu-jiritsu"),
        ("狭間", "shakai-shogai"),
    ],
)
def test_iizuka_each_field_has_its_window(packs: dict[str, Pack], field: str, window: str) -> None:
    assert first(packs["iizuka"], [field]) == window


def test_iizuka_dv_goes_to_thanks(packs: dict[str, Pack]) -> None:
    d = route(packs["iizuka"], ["狭間"], topics=["dv"])
    assert d.primary.name == "男女共同参画推進センター「サンクス」"
    # DV happening now: urgent, Thanks first, and the police and DV lines to call at once.
    d = route(packs["iizuka"], ["狭間", "子ども"], crisis=True, crisis_kinds=["violence"], consent=False)
    assert d.urgent and "thanks" in ids(d) and ids(d)[0] == "takikan"
    phones = [c.phone for c in d.crisis_contacts]
    assert phones[0] == "110" and "#8008" in phones and "189" not in phones


def test_iizuka_youth_goes_to_the_shonen_sodan_center(packs: dict[str, Pack]) -> None:
    assert first(packs["iizuka"], ["子ども"], topics=["youth"]) == "shonen"
    assert first(packs["iizuka"], ["子ども"]) == "cocosumo"


def test_iizuka_general_window_carries_the_only_phone_the_plan_gives(packs: dict[str, Pack]) -> None:
    d = route(packs["iizuka"], ["狭間"])
    assert d.primary.contact.phone == "0948-96-8234"


@pytest.mark.parametrize(("consent", "meeting"), [(True, "飯塚市重層的支援会議"), (False, "支援会議")])
def test_iizuka_complex_case(packs: dict[str, Pack], consent: bool, meeting: str) -> None:
    d = route(packs["iizuka"], ["介護", "困窮"], consent=consent)
    assert ids(d) == ["takikan", "houkatsu", "seikatsu-jiritsu"]
    assert d.meeting is not None and d.meeting.name == meeting
    assert d.collaboration is not None
    assert [m.name for m in d.collaboration.other_meetings] == ["包括的相談支援機関会議", "庁内調整会議"]


# --- 大仙市 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "window"),
    [
        ("介護", "koureisha-houkatsu"),
        ("障害", "shakai-fukushi"),
        ("子ども", "kodomo-shien"),
        ("困窮", "shakai-fukushi"),
        ("狭間", "shakai-fukushi"),
    ],
)
def test_daisen_each_field_has_its_window(packs: dict[str, Pack], field: str, window: str) -> None:
    assert first(packs["daisen"], [field]) == window


@pytest.mark.parametrize(
    ("consent", "meeting", "organizer"),
    [
        (True, "「つながる・ささえる」支援会議", "多機関協働事業者（大仙市社会福祉協議会）"),
        (False, "「つながる・ささえる」ネットワーク会議", "社会福祉課"),
    ],
)
def test_daisen_complex_case_goes_to_the_shakyo_and_the_city_named_meetings(
    packs: dict[str, Pack], consent: bool, meeting: str, organizer: str
) -> None:
    d = route(packs["daisen"], ["介護", "子ども"], consent=consent)
    assert ids(d) == ["shakyo-takikan", "koureisha-houkatsu", "kodomo-shien"]
    assert d.collaboration is not None and d.collaboration.operation.value == "委託"
    assert d.collaboration.run_by.startswith("大仙市社会福祉協議会")
    assert d.meeting is not None and (d.meeting.name, d.meeting.organizer) == (meeting, organizer)
    assert [w.id for w in d.resources] == ["shakyo-outreach", "sanka-shien"]


@pytest.mark.parametrize(
    ("area", "place"),
    [("大曲", "marukono-hiroba"), ("西仙北", "tsunakko-hiroba"), ("なかせん", "usachan-hiroba")],
)
def test_daisen_childcare_places_by_area(packs: dict[str, Pack], area: str, place: str) -> None:
    d = route(packs["daisen"], ["子ども"], area=area, topics=["childcare_place"])
    hiroba = [w.id for w in d.resources if w.id.endswith("hiroba")]
    assert hiroba == [place]


# --- 湯沢市 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "window"),
    [
        ("介護", "houkatsu"),
        ("障害", "kikan-sodan"),
        ("子ども", "kosodate-sedai"),
        ("困窮", "shakyo-sogo"),
        ("狭間", "shakyo-sogo"),
    ],
)
def test_yuzawa_each_field_has_its_window(packs: dict[str, Pack], field: str, window: str) -> None:
    assert first(packs["yuzawa"], [field]) == window


def test_yuzawa_poverty_goes_to_the_shakyo_sogo_sodanshitsu(packs: dict[str, Pack]) -> None:
    assert route(packs["yuzawa"], ["困窮"]).primary.name == "湯沢市社会福祉協議会 総合相談室"


@pytest.mark.parametrize(("consent", "meeting"), [(True, "重層的支援会議"), (False, "支援会議")])
def test_yuzawa_complex_case(packs: dict[str, Pack], consent: bool, meeting: str) -> None:
    d = route(packs["yuzawa"], ["障害", "狭間"], consent=consent)
    assert ids(d) == ["takikan", "kikan-sodan", "shakyo-sogo"]
    assert d.meeting is not None and d.meeting.name == meeting
    assert [w.id for w in d.resources] == ["outreach", "sanka-shien"]


def test_yuzawa_long_term_hikikomori_reaches_outreach(packs: dict[str, Pack]) -> None:
    d = route(packs["yuzawa"], ["狭間"], topics=["hikikomori"])
    assert "outreach" in [w.id for w in d.resources]


# --- demo ----------------------------------------------------------------------------------------------------


def test_demo_routes_by_area_and_dv(packs: dict[str, Pack]) -> None:
    demo = packs["demo"]
    assert route(demo, ["介護"]).needs_area
    assert first(demo, ["介護"], area="きた") == "houkatsu-kita"
    assert first(demo, ["介護"], area="南町") == "houkatsu-minami"
    assert first(demo, ["狭間"], topics=["dv"]) == "dv"
