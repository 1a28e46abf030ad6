"""The dialog engine: a pure function (state, event, knowledge) -> (new state, messages, effects).

No I/O here. ``bot.flows`` loads the state, records the transcript, runs the effects (tickets, conversation ends)
and feeds their results back as events (:class:`TicketSaved`), then sends the messages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel
from pydantic import Field as PydField

from bot.dialogs import INTAKE, Choice, Dialog, Step, TextKind
from bot.dialogs.intake import FIELD_KEYS
from intake.knowledge.schema import Area, CrisisContact, Pack
from routing.route import RoutingDecision
from triage.types import FIELD_ORDER, Field, TriageResult

# After this long without a message, a resident in the middle of the intake is asked to continue or restart.
RESUME_AFTER_SECONDS = 30 * 60
MAX_STORY_PARTS = 50
MAX_STORY_CHARS = 20_000

Channel = Literal["line", "web"]


# ---------------------------------------------------------------------------------------------------------------
# What the engine is given: the knowledge of one pack


class TriagerLike(Protocol):
    def triage(self, text: str) -> TriageResult: ...


@dataclass(frozen=True)
class Knowledge:
    pack: Pack
    triager: TriagerLike
    version: str
    route: Callable[..., RoutingDecision]  # routing.route.route
    resolve_area: Callable[[Pack, str], Area | None]

    @property
    def messages(self) -> Mapping[str, str]:
        return self.pack.messages


# ---------------------------------------------------------------------------------------------------------------
# Events in, messages and effects out


@dataclass(frozen=True)
class Follow:
    at: float
    unblocked: bool = False


@dataclass(frozen=True)
class Unfollow:
    at: float


@dataclass(frozen=True)
class Text:
    text: str
    at: float


@dataclass(frozen=True)
class Pick:
    """A quick reply tapped (LINE postback data or a web-chat button value)."""

    value: str
    at: float


@dataclass(frozen=True)
class Media:
    kind: str  # sticker, image, video, audio, file
    at: float


@dataclass(frozen=True)
class Location:
    address: str
    at: float
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class TicketSaved:
    """Fed back by the flows once a :class:`SaveTicket` effect has run."""

    purpose: str
    ticket_id: int
    number: str
    at: float


Event = Follow | Unfollow | Text | Pick | Media | Location | TicketSaved


@dataclass(frozen=True)
class QuickReply:
    label: str
    value: str


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: tuple[QuickReply, ...] = ()


class TicketDraft(BaseModel):
    """What the ticket should say; ``routing.transcript.create_ticket`` turns it into a row."""

    fields: list[str]
    complex: bool = False
    crisis: bool = False
    crisis_kinds: list[str] = PydField(default_factory=list)
    urgent: bool = False
    handoff: bool = False
    evidence: list[dict[str, Any]] = PydField(default_factory=list)
    routing_reason: list[str] = PydField(default_factory=list)
    summary: str = ""
    consent: bool | None = None
    contact_method: str | None = None
    contact_phone: str | None = None
    area: str | None = None
    window_id: str
    related_window_ids: list[str] = PydField(default_factory=list)
    meeting_kind: str | None = None


@dataclass(frozen=True)
class SaveTicket:
    purpose: Literal["crisis", "final", "handoff"]
    draft: TicketDraft
    ticket_id: int | None = None  # update this ticket instead of creating one


@dataclass(frozen=True)
class EndConversation:
    reason: str


@dataclass(frozen=True)
class ShowLoading:
    seconds: int = 5


Effect = SaveTicket | EndConversation | ShowLoading


class SessionState(BaseModel):
    """One resident's place in the dialog (JSON in the session store)."""

    dialog: str = INTAKE.name
    channel: Channel = "line"
    step: Step = Step.STORY
    story: list[str] = PydField(default_factory=list)
    fields: list[str] = PydField(default_factory=list)
    complex: bool = False
    crisis: bool = False
    crisis_kinds: list[str] = PydField(default_factory=list)
    evidence: list[dict[str, Any]] = PydField(default_factory=list)
    area: str | None = None
    area_asked: bool = False
    location_area: str | None = None
    consent: bool | None = None
    contact_method: str | None = None
    contact_phone: str | None = None
    window_id: str | None = None
    ticket_id: int | None = None
    ticket_number: str | None = None
    resume_step: Step | None = None
    conversation_id: int | None = None
    updated_at: float = 0.0


@dataclass
class Outcome:
    state: SessionState | None
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# The engine


def step(state: SessionState | None, event: Event, k: Knowledge, *, channel: Channel = "line") -> Outcome:
    """Advance the dialog by one event. Never raises on odd input: an unexpected message gets a kind answer."""
    turn = _Turn(k, INTAKE, state.model_copy(deep=True) if state else None, channel)
    turn.handle(event)
    if turn.state is not None:
        turn.state.updated_at = max(turn.state.updated_at, event.at)
    return Outcome(turn.state, turn.replies, turn.effects)


class Placeholders(dict[str, Any]):
    """Values for ``str.format_map``: an unknown ``{name}`` in an admin's wording stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_SPACES = re.compile(r"\s+")
_PHONE = re.compile(r"^0\d{9,10}$")
YES_WORDS = frozenset(
    {"はい", "うん", "ええ", "いいよ", "いいです", "お願いします", "おねがいします", "ok", "yes", "そうです",
     "あっています", "合っています", "合ってる", "あってる", "大丈夫", "だいじょうぶ", "同意します"}
)  # fmt: skip
NO_WORDS = frozenset(
    {"いいえ", "いや", "ちがう", "違う", "ちがいます", "違います", "だめ", "no", "同意しない", "しない", "嫌です"}
)  # fmt: skip


def normalise(text: str) -> str:
    """NFKC, no surrounding spaces or end punctuation, lower-case latin: what typed commands are compared on."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub("", text).strip("。.!！?？、,「」")
    return text.lower()


def parse_phone(text: str) -> str | None:
    """A Japanese phone number (10 or 11 digits starting with 0) as typed, or None."""
    digits = re.sub(r"[\s\-‐−ー()（）]", "", unicodedata.normalize("NFKC", text))
    if not _PHONE.match(digits):
        return None
    return digits


class _Turn:
    def __init__(self, k: Knowledge, dialog: Dialog, state: SessionState | None, channel: Channel) -> None:
        self.k = k
        self.dialog = dialog
        self.state = state
        self.channel: Channel = state.channel if state else channel
        self.replies: list[Reply] = []
        self.effects: list[Effect] = []

    # -- wording ---------------------------------------------------------------------------------------------
    def msg(self, key: str, **values: Any) -> str:
        template = self.k.messages.get(key, "")
        return template.format_map(Placeholders(city=self.k.pack.municipality.name, **values))

    def say(self, key: str, quick: Sequence[QuickReply] = (), /, **values: Any) -> None:
        self.replies.append(Reply(self.msg(key, **values), tuple(quick)))

    def quick_replies(self, step: Step, *, only: Sequence[Choice] | None = None) -> list[QuickReply]:
        spec = self.dialog.spec(step)
        choices = spec.choices if only is None else only
        out = [QuickReply(self.msg(c.label), c.value) for c in choices if self.channel in c.channels]
        if spec.dynamic_choices == "areas":
            room = 13 - len(out) - len(self.dialog.commands)
            out = [QuickReply(a.name[:20], f"area:{a.id}") for a in self.k.pack.areas[:room]] + out
        if step not in (Step.ENDED, Step.RESUME):
            out += [QuickReply(self.msg(c.label), f"cmd:{c.name}") for c in self.dialog.commands]
        elif step is Step.RESUME:
            restart = next(c for c in self.dialog.commands if c.name == "restart")
            out.append(QuickReply(self.msg(restart.label), "cmd:restart"))
        return out

    def prompt(self, step: Step, **values: Any) -> None:
        self.say(self.dialog.spec(step).prompt, self.quick_replies(step), **self._values(values))

    def _values(self, extra: dict[str, Any]) -> dict[str, Any]:
        st = self.state
        values: dict[str, Any] = {"summary": self.summary(), "number": st.ticket_number if st else ""}
        values.update(extra)
        return values

    def summary(self) -> str:
        if self.state is None:
            return ""
        names = []
        for value in _ordered(self.state.fields):
            keys = FIELD_KEYS.get(Field(value))
            if keys:
                names.append(self.msg(keys[0]))
        return self.msg("summary_joiner").join(names)

    def goto(self, outcome: str) -> Step:
        assert self.state is not None
        target = self.dialog.spec(self.state.step).edges[outcome]  # KeyError: an undeclared transition
        self.state.step = target
        return target

    def window_contact(self, window_id: str) -> dict[str, str]:
        try:
            window = self.k.pack.window(window_id)
        except KeyError:
            return {"window": "", "phone": self.msg("ticket_window_no_phone"), "hours": ""}
        c = window.contact
        return {
            "window": window.name,
            "phone": c.phone or self.msg("ticket_window_no_phone"),
            "hours": f"（{c.hours}）" if c.hours else "",
            "raw_phone": c.phone,
            "raw_hours": c.hours,
        }

    def general_window(self) -> dict[str, str]:
        return self.window_contact(self.k.pack.municipality.general_window_id)

    # -- dispatch --------------------------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        if isinstance(event, Unfollow):
            if self.state is not None:
                self.effects.append(EndConversation("unfollow"))
            self.state = None
            return
        if isinstance(event, TicketSaved):
            self.on_ticket_saved(event)
            return
        if isinstance(event, Follow):
            self.start(greet=True)
            return
        if self.state is None or self.state.step is Step.ENDED:
            command = self.command_of(event)
            if command in ("handoff", "cancel"):
                self.start(greet=command == "handoff", prompt=False)
                self.on_command(command)
                return
            self.start(greet=True, prompt=command == "restart" or isinstance(event, Follow))
            if command == "restart":
                return
            if isinstance(event, Text):
                self.on_story_text(event.text)
            elif isinstance(event, Media | Location):
                self.on_media_or_location(event)
            elif isinstance(event, Pick):
                self.on_pick(event.value)
            return
        command = self.command_of(event)
        if command is not None:
            self.on_command(command)
            return
        st = self.state
        if (
            st.step not in (Step.DONE, Step.RESUME)
            and st.updated_at
            and event.at - st.updated_at > RESUME_AFTER_SECONDS
        ):
            st.resume_step = st.step
            st.step = Step.RESUME
            self.say("welcome_back")
            self.prompt(Step.RESUME)
            return
        if isinstance(event, Media | Location):
            self.on_media_or_location(event)
        elif isinstance(event, Pick):
            self.on_pick(event.value)
        elif isinstance(event, Text):
            choice = self.choice_by_label(event.text)
            if choice is not None:
                self.on_pick(choice)
            else:
                self.on_text(event.text)

    def start(self, *, greet: bool, prompt: bool = True) -> None:
        old = self.state
        if old is not None and old.step is not Step.ENDED and old.ticket_id is not None:
            self.effects.append(EndConversation("new_consultation"))
        self.state = SessionState(channel=self.channel, updated_at=old.updated_at if old else 0.0)
        if old is not None and old.step is not Step.ENDED:
            self.state.conversation_id = old.conversation_id if old.ticket_id is None else None
        if greet:
            self.say("greeting")
            self.say("privacy_notice")
        if prompt:
            self.prompt(Step.STORY)

    def command_of(self, event: Event) -> str | None:
        if isinstance(event, Pick) and event.value.startswith("cmd:"):
            return event.value[4:]
        if isinstance(event, Text):
            said = normalise(event.text)
            for command in self.dialog.commands:
                if said in {normalise(w) for w in command.words} or said == normalise(
                    self.msg(command.label)
                ):
                    return command.name
        return None

    def choice_by_label(self, text: str) -> str | None:
        """A typed text equal to a quick reply's label counts as tapping it."""
        assert self.state is not None
        said = normalise(text)
        for qr in self.quick_replies(self.state.step):
            if normalise(qr.label) == said:
                return qr.value
        return None

    # -- commands --------------------------------------------------------------------------------------------
    def on_command(self, name: str) -> None:
        assert self.state is not None
        if name == "restart":
            conversation_id = self.state.conversation_id if self.state.ticket_id is None else None
            had_ticket = self.state.ticket_id is not None
            self.state = SessionState(channel=self.channel, updated_at=self.state.updated_at)
            self.state.conversation_id = conversation_id
            if had_ticket:
                self.effects.append(EndConversation("new_consultation"))
            self.say("restarted")
            self.prompt(Step.STORY)
        elif name == "cancel":
            self.effects.append(EndConversation("cancelled"))
            self.state.step = Step.ENDED
            self.say("cancelled")
        elif name == "handoff":
            self.effects.append(ShowLoading())
            self.save_ticket("handoff")

    # -- steps -----------------------------------------------------------------------------------------------
    def on_pick(self, value: str) -> None:
        st = self.state
        assert st is not None
        spec = self.dialog.spec(st.step)
        if st.step is Step.RESUME:
            if value == "continue":
                st.step = st.resume_step or Step.STORY
                st.resume_step = None
                self.prompt(st.step)
            else:
                self.say("please_choose")
                self.prompt(Step.RESUME)
            return
        if (
            value.startswith("area:")
            and st.step is Step.AREA
            and value not in {c.value for c in spec.choices}
        ):
            self.on_area_pick(value[5:])
            return
        choice = next((c for c in spec.choices if c.value == value), None)
        if choice is None:
            # An old button from an earlier step: answer where the resident is now.
            self.prompt(st.step)
            return
        getattr(self, f"pick_{st.step.value}")(choice)

    def on_text(self, text: str) -> None:
        st = self.state
        assert st is not None
        kind = self.dialog.spec(st.step).text
        if st.step is Step.RESUME:
            st.step = st.resume_step or Step.STORY
            st.resume_step = None
            self.on_text(text)
        elif kind is TextKind.STORY:
            if st.step is Step.OUT_OF_SCOPE:
                self.goto("more")
            self.on_story_text(text)
        elif kind is TextKind.YES_NO:
            said = normalise(text)
            yes, no = said in YES_WORDS, said in NO_WORDS
            if st.step is Step.CONFIRM and (yes or no):
                self.pick_confirm(Choice("correct" if yes else "wrong", "", "correct" if yes else "wrong"))
            elif st.step is Step.CONSENT and (yes or no):
                self.pick_consent(Choice("yes" if yes else "no", "", "answered"))
            else:
                self.say("please_choose")
                self.prompt(st.step)
        elif kind is TextKind.FIELDS:
            found = self.k.triager.triage(text)
            added = [f.value for f in found.fields if f.value not in st.fields]
            if not added:
                self.say("please_choose")
                self.prompt(st.step)
                return
            st.fields = _ordered([*st.fields, *added])
            self.say("choose_field_selected", summary=self.summary())
            self.prompt(st.step)
        elif kind is TextKind.AREA:
            area = self.k.resolve_area(self.k.pack, text)
            if area is None:
                self.goto("not_found")
                self.say("area_not_found", self.quick_replies(Step.AREA))
                return
            self.on_area_pick(area.id)
        elif kind is TextKind.PHONE:
            phone = parse_phone(text)
            if phone is None:
                self.goto("invalid")
                self.say("phone_invalid", self.quick_replies(Step.PHONE))
                return
            st.contact_phone = phone
            self.goto("valid")
            self.effects.append(ShowLoading())
            self.save_ticket("final")
        elif kind is TextKind.FOLLOWUP:
            self.goto("followup")
            self.prompt(Step.DONE)
        else:
            self.say("please_choose")
            self.prompt(st.step)

    def on_story_text(self, text: str) -> None:
        st = self.state
        assert st is not None
        if len(st.story) < MAX_STORY_PARTS and sum(map(len, st.story)) < MAX_STORY_CHARS:
            st.story.append(text)
        result = self.k.triager.triage(text)
        if result.crisis and not st.crisis:
            self.absorb(result)
            self.crisis(result)
            return
        self.goto("more")
        send = next(c for c in self.dialog.spec(Step.STORY).choices if c.outcome == "send")
        self.say("story_more", self.quick_replies(Step.STORY, only=[send]))

    def absorb(self, result: TriageResult) -> None:
        st = self.state
        assert st is not None
        st.fields = _ordered([*st.fields, *(f.value for f in result.fields)])
        st.complex = (
            st.complex or result.complex or (len(st.fields) >= 2 and Field.HAZAMA.value not in st.fields)
        )
        st.crisis = st.crisis or result.crisis
        st.crisis_kinds = sorted({*st.crisis_kinds, *(c.value for c in result.crisis_kinds)})
        seen = {(e.get("label"), e.get("start"), e.get("surface")) for e in st.evidence}
        for e in result.evidence:
            d = e.model_dump()
            if (d["label"], d["start"], d["surface"]) not in seen and len(st.evidence) < 100:
                st.evidence.append(d)

    def crisis(self, result: TriageResult) -> None:
        """At once: the numbers to call, then an urgent ticket (its number follows in :meth:`on_ticket_saved`)."""
        decision = self.decide()
        contacts = list(decision.crisis_contacts) or _contacts_for(self.k.pack, self.state_crisis_kinds())
        lines = [self.msg("crisis_first")]
        for c in contacts[:6]:
            lines.append(
                self.msg(
                    "crisis_contact_line",
                    name=c.name,
                    phone=c.phone,
                    hours=f"（{c.hours}）" if c.hours else "",
                )
            )
        # The numbers to call come first, before any greeting.
        greeting = self.msg("greeting")
        self.replies = [Reply("\n".join(lines)), *(r for r in self.replies if r.text != greeting)]
        self.save_ticket("crisis")

    def state_crisis_kinds(self) -> list[str]:
        return self.state.crisis_kinds if self.state else []

    def pick_story(self, choice: Choice) -> None:
        st = self.state
        assert st is not None
        if choice.outcome == "topic":
            topic = choice.value.split(":", 1)[1]
            if st.story:
                self.absorb(self.k.triager.triage("\n".join(st.story)))
            st.fields = _ordered([*st.fields, topic])
            if topic == Field.HAZAMA.value:
                st.fields = [topic] if len(st.fields) == 1 else st.fields
            self.goto("topic")
            self.say("topic_chosen", topic=self.msg(choice.label))
            self.confirm()
            return
        # 「これで送る」
        if not st.story:
            self.goto("empty")
            self.say("story_empty", self.quick_replies(Step.STORY))
            return
        result = self.k.triager.triage("\n".join(st.story))
        self.absorb(result)
        if st.crisis and st.ticket_id is None:
            self.crisis(result)
            return
        if not st.fields and result.out_of_scope:
            self.goto("out_of_scope")
            self.say("out_of_scope", **self.general_window())
            self.prompt(Step.OUT_OF_SCOPE)
        elif not st.fields:
            self.goto("unclear")
            self.prompt(Step.CHOOSE_FIELD)
        else:
            self.goto("understood")
            self.confirm()

    def confirm(self) -> None:
        assert self.state is not None
        self.state.step = Step.CONFIRM
        if self.state.complex:
            self.say("confirm_complex")
        self.prompt(Step.CONFIRM)

    def pick_confirm(self, choice: Choice) -> None:
        if choice.outcome == "wrong":
            self.goto("wrong")
            self.prompt(Step.CHOOSE_FIELD)
            return
        self.after_understanding("correct")

    def pick_choose_field(self, choice: Choice) -> None:
        st = self.state
        assert st is not None
        if choice.outcome == "toggle":
            value = choice.value.split(":", 1)[1]
            st.fields = (
                [f for f in st.fields if f != value] if value in st.fields else _ordered([*st.fields, value])
            )
            st.complex = len([f for f in st.fields if f != Field.HAZAMA.value]) >= 2
            self.goto("toggle")
            if st.fields:
                self.say("choose_field_selected", summary=self.summary())
            self.prompt(Step.CHOOSE_FIELD)
            return
        if not st.fields:
            self.say("choose_field_none", self.quick_replies(Step.CHOOSE_FIELD))
            return
        self.after_understanding("done")

    def after_understanding(self, outcome: str) -> None:
        st = self.state
        assert st is not None
        if st.area is None and not st.area_asked and self.decide().needs_area:
            if st.location_area:
                st.area = st.location_area
                self.goto(outcome)  # straight to consent: the area is known
                self.say("area_found", area=self._area_name(st.area))
                self.prompt(Step.CONSENT)
                return
            st.area_asked = True
            self.goto("needs_area")
            self.prompt(Step.AREA)
            return
        self.goto(outcome)
        self.prompt(Step.CONSENT)

    def pick_area(self, choice: Choice) -> None:
        # "area:unknown" (the pack's areas come through on_area_pick)
        self.goto("unknown")
        self.prompt(Step.CONSENT)

    def on_area_pick(self, area_id: str) -> None:
        st = self.state
        assert st is not None
        if not any(a.id == area_id for a in self.k.pack.areas):
            self.prompt(Step.AREA)
            return
        st.area = area_id
        self.goto("area")
        self.say("area_found", area=self._area_name(area_id))
        self.prompt(Step.CONSENT)

    def _area_name(self, area_id: str) -> str:
        return next((a.name for a in self.k.pack.areas if a.id == area_id), area_id)

    def pick_consent(self, choice: Choice) -> None:
        assert self.state is not None
        self.state.consent = choice.value == "yes"
        self.goto("answered")
        self.prompt(Step.CONTACT)

    def pick_contact(self, choice: Choice) -> None:
        assert self.state is not None
        method = choice.value.split(":", 1)[1]
        self.state.contact_method = method
        if choice.outcome == "phone":
            self.goto("phone")
            self.prompt(Step.PHONE)
            return
        self.goto("ticket")
        self.effects.append(ShowLoading())
        self.save_ticket("final")

    def pick_done(self, choice: Choice) -> None:
        self.start(greet=False)

    def pick_out_of_scope(self, choice: Choice) -> None:
        assert self.state is not None
        if choice.outcome == "end":
            self.effects.append(EndConversation("out_of_scope"))
            self.goto("end")
            self.say("cancelled")
            return
        self.goto("consult")
        self.prompt(Step.CHOOSE_FIELD)

    def pick_phone(self, choice: Choice) -> None:  # no choices at this step
        self.prompt(Step.PHONE)

    def pick_contact_line(self, choice: Choice) -> None:  # pragma: no cover - not a step
        raise AssertionError

    def on_media_or_location(self, event: Media | Location) -> None:
        st = self.state
        assert st is not None
        if isinstance(event, Location):
            area = self.k.resolve_area(self.k.pack, event.address) if event.address else None
            if st.step is Step.AREA:
                if area is not None:
                    self.on_area_pick(area.id)
                else:
                    self.say("area_not_found", self.quick_replies(Step.AREA))
                return
            if area is not None:
                st.location_area = area.id
            self.say("location_received")
        elif event.kind == "sticker":
            self.say("sticker_received")
        elif event.kind == "audio":
            self.say("audio_received", **self.general_window())
        else:
            self.say("media_received")
        self.prompt(st.step)

    # -- tickets ---------------------------------------------------------------------------------------------
    def decide(self, *, consent: bool | None = None) -> RoutingDecision:
        st = self.state
        assert st is not None
        fields = [Field(f) for f in st.fields] or [Field.HAZAMA]
        area = next((a for a in self.k.pack.areas if a.id == st.area), None)
        return self.k.route(
            self.k.pack,
            fields,
            area=area,
            ask_area=not st.area_asked,
            consent=st.consent if consent is None else consent,
            crisis=st.crisis,
            crisis_kinds=tuple(st.crisis_kinds),
        )

    def save_ticket(self, purpose: Literal["crisis", "final", "handoff"]) -> None:
        st = self.state
        assert st is not None
        decision = self.decide()
        windows = list(decision.windows)
        general = self.k.pack.municipality.general_window_id
        collaboration = getattr(decision, "collaboration", None)
        primary = windows[0].id if windows else general
        related = [w.id for w in windows[1:]]
        if st.complex and collaboration is not None:
            related = [w.id for w in windows if w.id != collaboration.window_id]
            primary = collaboration.window_id
        meeting = getattr(decision, "meeting", None)
        meeting_kind = getattr(meeting, "kind", None) if meeting is not None else None
        draft = TicketDraft(
            fields=st.fields or [Field.HAZAMA.value],
            complex=st.complex,
            crisis=st.crisis,
            crisis_kinds=st.crisis_kinds,
            urgent=st.crisis or purpose == "handoff" or bool(decision.urgent),
            handoff=purpose == "handoff",
            evidence=st.evidence,
            routing_reason=list(decision.reasons),
            summary=self.summary(),
            consent=st.consent,
            contact_method=st.contact_method,
            contact_phone=st.contact_phone,
            area=st.area,
            window_id=primary,
            related_window_ids=related,
            meeting_kind=str(meeting_kind) if meeting_kind else None,
        )
        st.window_id = primary
        self.effects.append(SaveTicket(purpose, draft, st.ticket_id))

    def on_ticket_saved(self, event: TicketSaved) -> None:
        st = self.state
        if st is None:
            return
        st.ticket_id = event.ticket_id
        st.ticket_number = event.number
        if event.purpose == "crisis":
            self.say("crisis_ticket", number=event.number)
            self.say("crisis_continue")
            if st.fields:
                self.confirm()
            else:
                st.step = Step.CHOOSE_FIELD
                self.prompt(Step.CHOOSE_FIELD)
            return
        contact = self.window_contact(st.window_id or self.k.pack.municipality.general_window_id)
        if event.purpose == "handoff":
            st.step = Step.DONE
            self.say("handoff_done", self.quick_replies(Step.DONE), number=event.number, **contact)
            return
        lines = [self.msg("ticket_created", number=event.number), self.msg("ticket_window", **contact)]
        if contact.get("raw_phone"):
            lines.append(self.msg("ticket_window_phone", **contact))
        else:  # the pack has no number for this window yet (資料にない): never a made-up one
            lines.append(self.msg("ticket_window_no_phone"))
        if contact.get("raw_hours"):
            lines.append(self.msg("ticket_window_hours", hours=contact["raw_hours"]))
        if st.complex:
            lines.append(self.msg("ticket_collaboration"))
        method = st.contact_method or ("web" if self.channel == "web" else "line")
        lines.append(self.msg(f"contact_by_{method}"))
        st.step = Step.DONE
        self.replies.append(Reply("\n".join(lines), tuple(self.quick_replies(Step.DONE))))


def _ordered(values: Sequence[str]) -> list[str]:
    order = {f.value: i for i, f in enumerate(FIELD_ORDER)}
    return sorted(dict.fromkeys(v for v in values if v in order), key=order.__getitem__)


def _contacts_for(pack: Pack, kinds: Sequence[str]) -> list[CrisisContact]:
    return [c for c in pack.crisis_contacts if not c.kinds or not kinds or set(c.kinds) & set(kinds)]
