"""The dialogs as data: a consistent graph, a diagram that matches it, every wording key present and short enough."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from knowledge_fixture import common_messages

from bot.dialogs import (
    INTAKE,
    DialogError,
    Step,
    mermaid,
    required_message_keys,
    validate,
    validate_all,
)

DIAGRAM = Path(__file__).resolve().parents[2] / "bot" / "dialogs" / "intake.mmd"


def test_intake_dialog_is_valid_with_the_common_wording() -> None:
    assert validate(INTAKE, common_messages()) == []
    validate_all(common_messages())


def test_the_committed_diagram_is_the_dialog() -> None:
    assert DIAGRAM.read_text(encoding="utf-8") == mermaid(INTAKE), "regenerate bot/dialogs/intake.mmd"


def test_required_keys_are_exactly_what_the_dialog_uses() -> None:
    keys = required_message_keys()
    assert {
        "greeting",
        "privacy_notice",
        "ask_story",
        "crisis_first",
        "ticket_created",
        "handoff_done",
    } <= keys
    assert set(common_messages()) == keys, "messages.yaml has keys no dialog uses, or lacks some"


def test_a_missing_key_or_a_long_label_is_reported() -> None:
    messages = common_messages()
    del messages["ask_consent"]
    messages["send_label"] = "これで送ります。よろしくお願いいたします。"
    problems = validate(INTAKE, messages)
    assert any("ask_consent" in p for p in problems)
    assert any("send_label" in p and "20" in p for p in problems)
    with pytest.raises(DialogError):
        validate_all(messages)


def test_an_undeclared_target_and_an_unreachable_step_are_reported() -> None:
    steps = dict(INTAKE.steps)
    consent = steps[Step.CONSENT]
    steps[Step.CONSENT] = replace(consent, edges={"answered": Step.PHONE})  # CONTACT no longer reachable
    broken = replace(INTAKE, steps=steps)
    problems = validate(broken)
    assert any("contact: no transition leads here" in p for p in problems)
    steps[Step.CONSENT] = replace(consent, edges={"elsewhere": Step.CONTACT})
    assert any("unknown outcome" in p for p in validate(replace(INTAKE, steps=steps)))


def test_every_step_fits_lines_quick_reply_limit() -> None:
    for spec in INTAKE.steps.values():
        assert len(spec.choices) + len(INTAKE.commands) <= 13
