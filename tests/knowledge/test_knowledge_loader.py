"""Loading packs: every seed pack is valid, and every mistake an admin can make is reported as FILE:LINE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from knowledge_helpers import ALL_PACKS, KNOWLEDGE, REAL_PACKS, SEEDS, edit, line_no

from intake.knowledge import KnowledgeError, Notice, UnknownPackError, is_error, list_packs, load_pack
from intake.knowledge.check import check, check_pack
from intake.knowledge.loader import content_version
from intake.knowledge.schema import WindowKind
from triage.types import FIELD_ORDER


def errors_of(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [str(p) for p in problems if is_error(p)]


def test_the_repository_has_the_five_seed_packs_and_the_demo_pack() -> None:
    assert set(ALL_PACKS) <= set(list_packs(KNOWLEDGE))


@pytest.mark.parametrize("pack_id", ALL_PACKS)
def test_every_pack_loads_and_checks_without_errors(pack_id: str) -> None:
    pack = load_pack(KNOWLEDGE, pack_id)
    assert pack.municipality.id == pack_id
    assert pack.version == content_version(KNOWLEDGE, pack_id)
    assert errors_of(check_pack(KNOWLEDGE, pack_id)) == []


def test_check_of_the_whole_directory_has_no_errors_and_warns_about_gaps() -> None:
    problems = check(KNOWLEDGE)
    assert errors_of(problems) == []
    gaps = [p for p in problems if isinstance(p, Notice) and "to be filled" in p.message]
    # Real cities miss phone numbers in their plans; the demo pack is complete.
    assert {Path(p.file).parent.name for p in gaps} == set(REAL_PACKS)
    assert all(re.match(r".+\.yaml:\d+: warning: ", str(p)) for p in gaps)


@pytest.mark.parametrize("pack_id", ALL_PACKS)
def test_every_field_has_a_consultation_window(pack_id: str) -> None:
    pack = load_pack(KNOWLEDGE, pack_id)
    for f in FIELD_ORDER:
        served = [w for w in pack.windows if w.kind == WindowKind.CONSULTATION and f in w.fields]
        assert served or f.value == "狭間", f"{pack_id}: no window for {f}"
    assert pack.general_window.kind == WindowKind.CONSULTATION


@pytest.mark.parametrize("pack_id", REAL_PACKS)
def test_no_contact_data_is_invented_for_a_real_city(pack_id: str) -> None:
    """Every phone number and address of a real city's window is in its source document, word for word."""
    pack = load_pack(KNOWLEDGE, pack_id)
    facts = [f for w in pack.windows for f in (w.contact.phone, w.contact.address) if f]
    if pack_id == "iizuka":
        assert facts == ["0948-96-8234", "〒820-8501 福岡県飯塚市新立岩5番5号 飯塚市役所本庁舎1階"]
    else:
        assert facts == []
    if SEEDS.is_dir():
        seeds = "".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
        for fact in facts:
            assert fact in seeds, fact


def test_the_demo_pack_uses_only_plainly_fictional_numbers() -> None:
    pack = load_pack(KNOWLEDGE, "demo")
    phones = [w.contact.phone for w in pack.windows if w.contact.phone]
    assert phones and all(p.startswith("000-") for p in phones)
    assert "架空" in pack.municipality.name


@pytest.mark.parametrize("pack_id", ALL_PACKS)
def test_crisis_contacts_include_the_national_lines(pack_id: str) -> None:
    phones = {c.phone for c in load_pack(KNOWLEDGE, pack_id).crisis_contacts}
    assert {"110", "119", "189", "#8008", "0120-279-338", "0570-783-556"} <= phones


def test_unknown_pack_lists_the_valid_packs() -> None:
    with pytest.raises(UnknownPackError) as info:
        load_pack(KNOWLEDGE, "nomo")
    message = str(info.value)
    assert "unknown pack 'nomo'" in message
    for pack_id in ALL_PACKS:
        assert pack_id in message


def test_a_yaml_syntax_error_is_reported_with_its_line(knowledge_copy: Path) -> None:
    path = knowledge_copy / "nomi" / "windows.yaml"
    edit(path, "    name: 寺井あんしん相談センター\n", "    name: [寺井あんしん相談センター\n")
    with pytest.raises(KnowledgeError) as info:
        load_pack(knowledge_copy, "nomi")
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.message.startswith("YAML syntax")
    assert line_no(path, "[寺井あんしん") <= problem.line <= line_no(path, "[寺井あんしん") + 2


def test_an_unknown_field_value_points_at_its_line(knowledge_copy: Path) -> None:
    path = knowledge_copy / "chuo" / "windows.yaml"
    edit(
        path,
        "    fields: [困窮]\n    topics: [employment]",
        "    fields: [困窮, 高齢]\n    topics: [employment]",
    )
    with pytest.raises(KnowledgeError) as info:
        load_pack(knowledge_copy, "chuo")
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.line == line_no(path, "[困窮, 高齢]")
    assert "windows[5].fields[1]" in problem.message and "介護" in problem.message


def test_a_misspelt_key_gets_a_suggestion(knowledge_copy: Path) -> None:
    path = knowledge_copy / "nomi" / "windows.yaml"
    edit(path, "    serves: 生活困窮者とその家族等", "    servs: 生活困窮者とその家族等")
    problems = errors_of(check_pack(knowledge_copy, "nomi"))
    line = line_no(path, "servs:")
    assert any(p.startswith(f"{path}:{line}: ") and "did you mean 'serves'" in p for p in problems), problems


def test_an_empty_phone_must_be_filled_or_listed_as_todo(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "windows.yaml"
    edit(path, 'contact: {phone: "000-000-0003", ', "contact: {")
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    assert any("window 'shogai': phone is empty" in p for p in problems), problems


def test_a_gap_listed_as_todo_is_a_warning_not_an_error(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "windows.yaml"
    edit(path, 'contact: {phone: "000-000-0003", ', "contact: {todo: [phone], ")
    problems = check_pack(knowledge_copy, "demo")
    assert errors_of(problems) == []
    (gap,) = [p for p in problems if isinstance(p, Notice) and "'shogai'" in p.message]
    assert "to be filled by the municipality: phone" in gap.message
    assert load_pack(knowledge_copy, "demo").window("shogai").contact.todo == ["phone"]


def test_duplicate_window_ids_are_refused_with_both_lines(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "windows.yaml"
    edit(path, "  - id: kodomo\n", "  - id: shogai\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    first, second = [n for n, ln in enumerate(lines, start=1) if ln == "  - id: shogai"]
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    expected = f"{path}:{second}: duplicate window id 'shogai' (first on line {first})"
    assert expected in problems, problems


def test_an_area_name_used_by_two_areas_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "nomi" / "areas.yaml"
    edit(path, "aliases: [辰口町, たつのくち, 辰口地区]", "aliases: [辰口町, たつのくち, 辰口地区, てらい]")
    problems = errors_of(check_pack(knowledge_copy, "nomi"))
    assert any("area name 'てらい' names several areas: terai, tatsunokuchi" in p for p in problems), problems


def test_a_window_naming_an_unknown_area_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "nomi" / "windows.yaml"
    edit(path, "    areas: [terai]\n", "    areas: [teraii]\n")
    problems = errors_of(check_pack(knowledge_copy, "nomi"))
    line = line_no(path, "areas: [teraii]")
    assert any(p.startswith(f"{path}:{line}: ") and "unknown area 'teraii'" in p for p in problems), problems


def test_the_meeting_without_consent_must_bind_to_confidentiality(knowledge_copy: Path) -> None:
    path = knowledge_copy / "daisen" / "pack.yaml"
    edit(path, "      confidential: true\n", "      confidential: false\n")
    problems = errors_of(check_pack(knowledge_copy, "daisen"))
    line = line_no(path, "    without_consent:")
    assert any(p.startswith(f"{path}:{line}: ") and "set confidential: true" in p for p in problems), problems


def test_meeting_kinds_must_match_their_slot(knowledge_copy: Path) -> None:
    path = knowledge_copy / "iizuka" / "pack.yaml"
    edit(path, "      kind: with_consent\n", "      kind: without_consent\n")
    problems = errors_of(check_pack(knowledge_copy, "iizuka"))
    line = line_no(path, "    with_consent:")
    assert any(p.startswith(f"{path}:{line}: ") and "kind must be 'with_consent'" in p for p in problems)


def test_the_general_window_must_exist(knowledge_copy: Path) -> None:
    path = knowledge_copy / "yuzawa" / "pack.yaml"
    edit(path, "general_window_id: shakyo-sogo", "general_window_id: sogo")
    problems = errors_of(check_pack(knowledge_copy, "yuzawa"))
    line = line_no(path, "general_window_id: sogo")
    assert any(p.startswith(f"{path}:{line}: ") and "'sogo' is no window" in p for p in problems), problems


def test_a_field_without_a_window_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "windows.yaml"
    edit(path, "    fields: [障害]\n", "    fields: []\n    topics: [employment]\n")
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    assert any("no consultation window serves the field 障害" in p for p in problems), problems


def test_missing_crisis_contacts_are_refused(knowledge_copy: Path) -> None:
    (knowledge_copy / "_common" / "crisis.yaml").write_text("crisis_contacts: []\n", encoding="utf-8")
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    assert any("no crisis contacts" in p for p in problems), problems


def test_the_folder_name_is_the_pack_id(knowledge_copy: Path) -> None:
    (knowledge_copy / "demo").rename(knowledge_copy / "demo2")
    problems = errors_of(check_pack(knowledge_copy, "demo2"))
    assert any("municipality.id 'demo' must be the folder name 'demo2'" in p for p in problems), problems


# --- dialog wording ----------------------------------------------------------------------------------------


def test_a_pack_overrides_the_shared_wording(knowledge_copy: Path) -> None:
    common = load_pack(knowledge_copy, "demo").messages
    key = sorted(common)[0]
    (knowledge_copy / "demo" / "messages.yaml").write_text(
        f'{key}: "デモ市の言い方です。"\n', encoding="utf-8"
    )
    pack = load_pack(knowledge_copy, "demo")
    assert pack.messages[key] == "デモ市の言い方です。"
    assert {k: v for k, v in pack.messages.items() if k != key} == {
        k: v for k, v in common.items() if k != key
    }


def test_an_override_of_an_unknown_key_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "messages.yaml"
    path.write_text('greting: "こんにちは"\n', encoding="utf-8")
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    assert (
        f"{path}:1: greting: no such message key in _common/messages.yaml (did you mean 'greeting'?)"
        in problems
    )


def test_an_override_with_a_placeholder_the_dialog_does_not_fill_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "demo" / "messages.yaml"
    path.write_text('\ngreeting: "{town}へようこそ"\n', encoding="utf-8")
    problems = errors_of(check_pack(knowledge_copy, "demo"))
    assert any(p.startswith(f"{path}:2: greeting: placeholder(s) ['town']") for p in problems), problems


def test_every_message_key_the_dialogs_use_has_wording(knowledge_copy: Path) -> None:
    dialogs = pytest.importorskip("bot.dialogs", reason="the dialogs are not there yet")
    keys = dialogs.required_message_keys()
    assert keys <= set(load_pack(KNOWLEDGE, "demo").messages)
    # Removing one of them from the shared wording is an error for every pack.
    path = knowledge_copy / "_common" / "messages.yaml"
    key = sorted(keys)[0]
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith(f"{key}:")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = errors_of(check(knowledge_copy))
    assert any(f"message key '{key}' is used by the dialogs" in p for p in problems), problems


def test_an_area_name_residents_cannot_type_to_find_it_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "nomi" / "areas.yaml"
    edit(path, "aliases: [寺井町, てらい, 寺井地区]", 'aliases: [寺井町, てらい, 寺井地区, "・"]')
    problems = errors_of(check_pack(knowledge_copy, "nomi"))
    line = line_no(path, "id: terai")
    assert f"{path}:{line}: area name '・' finds no area, not 'terai'" in problems, problems
