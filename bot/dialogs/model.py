"""How a dialog is declared: steps, prompts by message key, quick replies, and the transitions between steps.

A dialog is data. The engine (``bot.engine``) decides *which* declared edge to take; it can never take an edge that
is not declared here, and :func:`validate` checks the whole graph (and the wording keys) at start-up.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Step(enum.StrEnum):
    """Where a resident is in the intake (the value is what the session store keeps)."""

    STORY = "story"  # 相談内容を自分の言葉で
    CHOOSE_FIELD = "choose_field"  # 「ちがう」: the resident picks the fields
    CONFIRM = "confirm"  # the understanding, in plain words
    AREA = "area"  # 圏域, when routing needs it
    CONSENT = "consent"  # 関係機関との情報共有への同意
    CONTACT = "contact"  # LINE, 電話, 来所
    PHONE = "phone"
    DONE = "done"  # ticket created; further messages go to the ticket
    OUT_OF_SCOPE = "out_of_scope"  # 断らない相談: a kind answer and the general window
    RESUME = "resume"  # after a long pause: continue or restart
    ENDED = "ended"  # 「やめる」 or unfollow


class TextKind(enum.StrEnum):
    """What free text means at a step (the engine has one handler per kind)."""

    STORY = "story"
    FIELDS = "fields"
    YES_NO = "yes_no"
    AREA = "area"
    PHONE = "phone"
    FOLLOWUP = "followup"
    CHOICE_ONLY = "choice_only"


@dataclass(frozen=True)
class Choice:
    """A quick reply: its label (message key), the value it sends, and the outcome it leads to."""

    value: str
    label: str
    outcome: str
    channels: frozenset[str] = frozenset({"line", "web"})


@dataclass(frozen=True)
class StepSpec:
    step: Step
    prompt: str  # message key
    text: TextKind
    edges: Mapping[str, Step]  # outcome -> next step
    choices: tuple[Choice, ...] = ()
    # Quick replies added from the pack at run time (e.g. "areas"); their outcome is ``dynamic_outcome``.
    dynamic_choices: str | None = None
    dynamic_outcome: str | None = None
    # The step returns to wherever the resident was (RESUME): drawn as a dashed edge.
    returns: bool = False


@dataclass(frozen=True)
class Command:
    """Words that work at any step (「最初から」「やめる」「人と話したい」)."""

    name: str
    label: str  # message key of its quick reply
    words: tuple[str, ...]
    to: Step


@dataclass(frozen=True)
class Dialog:
    name: str
    start: Step
    steps: Mapping[Step, StepSpec]
    commands: tuple[Command, ...]
    # Message keys the engine uses outside prompts and labels (crisis, tickets, media answers...).
    extra_keys: frozenset[str] = field(default_factory=frozenset)

    def spec(self, step: Step) -> StepSpec:
        return self.steps[step]

    def message_keys(self) -> set[str]:
        keys = set(self.extra_keys)
        for spec in self.steps.values():
            keys.add(spec.prompt)
            keys.update(c.label for c in spec.choices)
        keys.update(c.label for c in self.commands)
        return keys


class DialogError(ValueError):
    """A dialog declaration is inconsistent (raised at start-up, before anything is served)."""


MAX_QUICK_REPLIES = 13


def validate(dialog: Dialog, messages: Mapping[str, str] | None = None) -> list[str]:
    """Problems in ``dialog`` (and, given the merged wording, in its messages). Empty when all is well."""
    problems: list[str] = []
    if dialog.start not in dialog.steps:
        problems.append(f"{dialog.name}: start step {dialog.start} is not declared")
    for step, spec in dialog.steps.items():
        if spec.step is not step:
            problems.append(f"{dialog.name}.{step}: declared under the wrong key ({spec.step})")
        for outcome, target in spec.edges.items():
            if target not in dialog.steps:
                problems.append(f"{dialog.name}.{step}: edge {outcome!r} goes to undeclared step {target}")
        for choice in spec.choices:
            if choice.outcome not in spec.edges and not (spec.returns and choice.outcome == "continue"):
                problems.append(f"{dialog.name}.{step}: choice {choice.value!r} leads to unknown outcome")
        if spec.dynamic_choices and spec.dynamic_outcome not in spec.edges:
            problems.append(f"{dialog.name}.{step}: dynamic choices lead to unknown outcome")
        values = [c.value for c in spec.choices]
        if len(values) != len(set(values)):
            problems.append(f"{dialog.name}.{step}: two quick replies send the same value")
        if len(spec.choices) + len(dialog.commands) > MAX_QUICK_REPLIES:
            problems.append(f"{dialog.name}.{step}: more than {MAX_QUICK_REPLIES} quick replies")
    for command in dialog.commands:
        if command.to not in dialog.steps:
            problems.append(f"{dialog.name}: command {command.name} goes to undeclared step {command.to}")
    unreachable = set(dialog.steps) - reachable(dialog)
    for step in sorted(unreachable):
        problems.append(f"{dialog.name}.{step}: no transition leads here")
    if messages is not None:
        problems.extend(check_messages(dialog.message_keys(), messages))
    return problems


def reachable(dialog: Dialog) -> set[Step]:
    seen = {dialog.start}
    seen.update(c.to for c in dialog.commands)
    stack = list(seen)
    while stack:
        spec = dialog.steps.get(stack.pop())
        if spec is None:
            continue
        for target in spec.edges.values():
            if target not in seen:
                seen.add(target)
                stack.append(target)
    # RESUME is entered after a long pause from any step.
    seen.update(s for s, spec in dialog.steps.items() if spec.returns)
    return seen


def check_messages(keys: Iterable[str], messages: Mapping[str, str]) -> list[str]:
    problems = []
    for key in sorted(keys):
        if key not in messages:
            problems.append(f"message key {key!r} is missing")
        elif key.endswith("_label") and len(messages[key]) > 20:
            problems.append(f"message {key!r}: a quick-reply label is at most 20 characters (LINE)")
    return problems


def mermaid(dialog: Dialog) -> str:
    """The dialog as a Mermaid state diagram (``bot/dialogs/<name>.mmd`` is generated from this)."""
    lines = ["stateDiagram-v2", f"    [*] --> {dialog.start}"]
    for step, spec in dialog.steps.items():
        for outcome, target in spec.edges.items():
            lines.append(f"    {step} --> {target}: {outcome}")
        if spec.returns:
            lines.append(f"    {step} --> [*]: continue (back to the step before the pause)")
    for command in dialog.commands:
        lines.append(f"    note right of {command.to}: any step --{command.name}--> {command.to}")
    return "\n".join(lines) + "\n"
