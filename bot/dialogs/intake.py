"""The intake dialog (受付): from the first message to a routed ticket. Diagram: ``intake.mmd`` (generated)."""

from __future__ import annotations

from bot.dialogs.model import Choice, Command, Dialog, Step, StepSpec, TextKind
from triage.types import Field

# Field -> (its plain name's message key, its topic button's message key). Values sent by buttons: "field:<Field>".
FIELD_KEYS: dict[Field, tuple[str, str]] = {
    Field.KAIGO: ("field_kaigo", "topic_kaigo_label"),
    Field.SHOGAI: ("field_shogai", "topic_shogai_label"),
    Field.KODOMO: ("field_kodomo", "topic_kodomo_label"),
    Field.KONKYU: ("field_konkyu", "topic_konkyu_label"),
    Field.HAZAMA: ("field_hazama", "topic_hazama_label"),
}

SEND = Choice("send", "send_label", "send")
FIELD_CHOICES_TOPIC = tuple(Choice(f"topic:{f.value}", keys[1], "topic") for f, keys in FIELD_KEYS.items())
FIELD_CHOICES_TOGGLE = tuple(Choice(f"field:{f.value}", keys[1], "toggle") for f, keys in FIELD_KEYS.items())
YES = Choice("yes", "yes_label", "answered")
NO = Choice("no", "no_label", "answered")

INTAKE = Dialog(
    name="intake",
    start=Step.STORY,
    steps={
        Step.STORY: StepSpec(
            Step.STORY,
            prompt="ask_story",
            text=TextKind.STORY,
            choices=(SEND, *FIELD_CHOICES_TOPIC),
            edges={
                "more": Step.STORY,  # another part of the story: 「ほかにありますか」
                "empty": Step.STORY,
                "understood": Step.CONFIRM,  # triage found fields (after crisis contacts, if any)
                "topic": Step.CONFIRM,
                "unclear": Step.CHOOSE_FIELD,
                "out_of_scope": Step.OUT_OF_SCOPE,
                "send": Step.CONFIRM,  # resolved by the engine into one of the above
            },
        ),
        Step.CONFIRM: StepSpec(
            Step.CONFIRM,
            prompt="confirm",
            text=TextKind.YES_NO,
            choices=(Choice("correct", "correct_label", "correct"), Choice("wrong", "wrong_label", "wrong")),
            edges={"correct": Step.CONSENT, "needs_area": Step.AREA, "wrong": Step.CHOOSE_FIELD},
        ),
        Step.CHOOSE_FIELD: StepSpec(
            Step.CHOOSE_FIELD,
            prompt="choose_field",
            text=TextKind.FIELDS,
            choices=(*FIELD_CHOICES_TOGGLE, Choice("fields_done", "fields_done_label", "done")),
            edges={"toggle": Step.CHOOSE_FIELD, "done": Step.CONSENT, "needs_area": Step.AREA},
        ),
        Step.AREA: StepSpec(
            Step.AREA,
            prompt="ask_area",
            text=TextKind.AREA,
            choices=(Choice("area:unknown", "area_unknown_label", "unknown"),),
            dynamic_choices="areas",
            dynamic_outcome="area",
            edges={"area": Step.CONSENT, "unknown": Step.CONSENT, "not_found": Step.AREA},
        ),
        Step.CONSENT: StepSpec(
            Step.CONSENT,
            prompt="ask_consent",
            text=TextKind.YES_NO,
            choices=(YES, NO),
            edges={"answered": Step.CONTACT},
        ),
        Step.CONTACT: StepSpec(
            Step.CONTACT,
            prompt="ask_contact",
            text=TextKind.CHOICE_ONLY,
            choices=(
                Choice("contact:line", "contact_line_label", "ticket", channels=frozenset({"line"})),
                Choice("contact:phone", "contact_phone_label", "phone"),
                Choice("contact:visit", "contact_visit_label", "ticket"),
            ),
            edges={"phone": Step.PHONE, "ticket": Step.DONE},
        ),
        Step.PHONE: StepSpec(
            Step.PHONE,
            prompt="ask_phone",
            text=TextKind.PHONE,
            edges={"valid": Step.DONE, "invalid": Step.PHONE},
        ),
        Step.DONE: StepSpec(
            Step.DONE,
            prompt="done_followup",
            text=TextKind.FOLLOWUP,
            choices=(Choice("new", "new_consultation_label", "new"),),
            edges={"followup": Step.DONE, "new": Step.STORY},
        ),
        Step.OUT_OF_SCOPE: StepSpec(
            Step.OUT_OF_SCOPE,
            prompt="out_of_scope_next",
            text=TextKind.STORY,
            choices=(Choice("consult", "consult_label", "consult"), Choice("end", "end_label", "end")),
            edges={"consult": Step.CHOOSE_FIELD, "end": Step.ENDED, "more": Step.STORY},
        ),
        Step.RESUME: StepSpec(
            Step.RESUME,
            prompt="resume",
            text=TextKind.CHOICE_ONLY,
            choices=(Choice("continue", "continue_label", "continue"),),
            edges={},
            returns=True,
        ),
        Step.ENDED: StepSpec(
            Step.ENDED,
            prompt="cancelled",
            text=TextKind.STORY,
            edges={"new": Step.STORY},
        ),
    },
    commands=(
        Command(
            "restart", "restart_label", ("最初から", "さいしょから", "はじめから", "初めから"), Step.STORY
        ),
        Command("cancel", "cancel_label", ("やめる", "やめます", "中止", "キャンセル"), Step.ENDED),
        Command(
            "handoff",
            "handoff_label",
            ("人と話したい", "ひとと話したい", "職員と話したい", "人と話す", "オペレーター"),
            Step.DONE,
        ),
    ),
    extra_keys=frozenset(
        {
            "greeting",
            "privacy_notice",
            "story_more",
            "story_empty",
            "topic_chosen",
            "crisis_first",
            "crisis_contact_line",
            "crisis_ticket",
            "crisis_continue",
            "summary_joiner",
            "confirm_complex",
            "choose_field_selected",
            "choose_field_none",
            "area_not_found",
            "area_found",
            "location_received",
            "phone_invalid",
            "ticket_created",
            "ticket_window",
            "ticket_window_phone",
            "ticket_window_hours",
            "ticket_window_no_phone",
            "ticket_collaboration",
            "contact_by_line",
            "contact_by_phone",
            "contact_by_visit",
            "contact_by_web",
            "out_of_scope",
            "restarted",
            "handoff_done",
            "sticker_received",
            "media_received",
            "audio_received",
            "please_choose",
            "welcome_back",
            "error_sorry",
            *(keys[0] for keys in FIELD_KEYS.values()),
        }
    ),
)
