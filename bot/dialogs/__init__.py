"""Dialogs declared as data (steps, prompts by message key, quick replies, transitions), validated at start-up."""

from __future__ import annotations

from collections.abc import Mapping

from bot.dialogs.intake import INTAKE
from bot.dialogs.model import (
    Choice,
    Command,
    Dialog,
    DialogError,
    Step,
    StepSpec,
    TextKind,
    mermaid,
    validate,
)

DIALOGS: dict[str, Dialog] = {INTAKE.name: INTAKE}


def required_message_keys() -> set[str]:
    """Every message key a dialog uses: ``knowledge/_common/messages.yaml`` must define them all."""
    keys: set[str] = set()
    for dialog in DIALOGS.values():
        keys |= dialog.message_keys()
    return keys


def validate_all(messages: Mapping[str, str] | None = None) -> None:
    """Raise :class:`DialogError` listing every problem (called at start-up and by the tests)."""
    problems = [p for d in DIALOGS.values() for p in validate(d, messages)]
    if problems:
        raise DialogError("; ".join(problems))


__all__ = [
    "DIALOGS",
    "INTAKE",
    "Choice",
    "Command",
    "Dialog",
    "DialogError",
    "Step",
    "StepSpec",
    "TextKind",
    "mermaid",
    "required_message_keys",
    "validate",
    "validate_all",
]
