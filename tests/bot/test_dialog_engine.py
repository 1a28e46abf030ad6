"""The dialog engine as a pure function: scripted conversations without any I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.dialogs import Step
from bot.engine import (
    RESUME_AFTER_SECONDS,
    EndConversation,
    Event,
    Follow,
    Knowledge,
    Location,
    Media,
    Pick,
    Reply,
    SaveTicket,
    SessionState,
    Text,
    TicketSaved,
    Unfollow,
    parse_phone,
    step,
)


@dataclass
class Chat:
    """Drives the engine like the flows do: tickets are 'created' with increasing ids and fed back."""

    k: Knowledge
    channel: str = "line"
    state: SessionState | None = None
    now: float = 1_800_000_000.0
    tickets: list[SaveTicket] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)

    def send(self, event: Event) -> list[str]:
        out = step(self.state, event, self.k, channel="web" if self.channel == "web" else "line")
        replies, self.state = list(out.replies), out.state
        queue = list(out.effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, SaveTicket):
                self.tickets.append(effect)
                tid = effect.ticket_id or len(self.tickets)
                fed = step(
                    self.state, TicketSaved(effect.purpose, tid, f"261122-T{tid:03d}", self.now), self.k
                )
                self.state = fed.state
                replies += fed.replies
                queue += fed.effects
            elif isinstance(effect, EndConversation):
                self.ended.append(effect.reason)
        self.last = replies
        return [r.text for r in replies]

    def text(self, t: str, *, later: float = 1.0) -> list[str]:
        self.now += later
        return self.send(Text(t, self.now))

    def pick(self, value: str) -> list[str]:
        self.now += 1
        return self.send(Pick(value, self.now))

    def labels(self) -> list[str]:
        quick = next((r.quick_replies for r in reversed(self.last) if r.quick_replies), ())
        return [q.label for q in quick]


def test_story_over_several_messages_then_topic_free_path(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    first = chat.send(Follow(chat.now))
    assert "テスト市" in first[0] and "相談記録" in first[1]
    assert "介護のこと" in chat.labels() and "人と話したい" in chat.labels()
    assert "ほかにありますか" in chat.text("障害のある息子がいます")[-1]
    assert chat.labels()[0] == "これで送る"
    chat.text("最近、家から出られなくなりました")
    assert chat.state is not None and len(chat.state.story) == 2
    confirm = chat.pick("send")
    assert "障害" in confirm[-1]
    assert chat.state.step is Step.CONFIRM


def test_wrong_lets_the_resident_choose_fields(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.text("母の介護が大変です")
    chat.pick("send")
    chat.text("ちがう")
    assert chat.state is not None and chat.state.step is Step.CHOOSE_FIELD
    chat.pick("field:介護")  # unselect
    chat.pick("field:困窮")
    chat.pick("field:子ども")
    assert chat.state.fields == ["子ども", "困窮"] and chat.state.complex
    chat.pick("fields_done")
    assert chat.state.step is Step.CONSENT
    chat.pick("yes")
    chat.pick("contact:visit")
    [ticket] = chat.tickets
    assert ticket.draft.fields == ["子ども", "困窮"] and ticket.draft.complex
    assert ticket.draft.window_id == "kyodo"  # 多機関協働 entry first
    assert ticket.draft.meeting_kind == "with_consent"
    assert "いくつかの窓口が協力" in "\n".join(r.text for r in chat.last)


def test_no_consent_goes_to_the_meeting_without_consent(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.pick("topic:子ども")
    chat.pick("wrong")
    chat.pick("field:困窮")
    chat.pick("fields_done")
    chat.pick("no")
    chat.pick("contact:visit")
    assert chat.tickets[-1].draft.consent is False
    assert chat.tickets[-1].draft.meeting_kind == "without_consent"


def test_area_asked_only_when_routing_needs_it_and_resolved_from_words(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.pick("topic:障害")
    chat.pick("correct")
    assert chat.state is not None and chat.state.step is Step.CONSENT  # one 障害 window: no area asked
    chat = Chat(knowledge)
    chat.pick("topic:介護")
    chat.pick("correct")
    assert chat.state is not None and chat.state.step is Step.AREA
    assert "北部" in chat.labels() and "わからない" in chat.labels()
    assert "分かりませんでした" in chat.text("どこかな")[0]
    chat.text("たつのくちです")
    assert chat.state.area == "minami" and chat.state.step is Step.CONSENT


def test_unknown_area_still_reaches_a_ticket(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.pick("topic:介護")
    chat.pick("correct")
    chat.pick("area:unknown")
    chat.pick("yes")
    chat.pick("contact:phone")
    assert "読み取れません" in chat.text("わかりません")[0]
    chat.text("0761 12 3456")
    assert chat.tickets[-1].draft.contact_phone == "0761123456"
    assert chat.state is not None and chat.state.step is Step.DONE


def test_web_channel_offers_no_line_contact(knowledge: Knowledge) -> None:
    chat = Chat(knowledge, channel="web")
    chat.pick("topic:困窮")
    chat.pick("correct")
    chat.pick("yes")
    assert "このLINEで" not in chat.labels() and "電話で" in chat.labels()


def test_out_of_scope_gets_a_kind_answer_and_the_general_window(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.text("明日の天気を教えて")
    texts = chat.pick("send")
    joined = "\n".join(texts)
    if chat.state is not None and chat.state.step is Step.OUT_OF_SCOPE:
        assert "福祉総合相談窓口" in joined and "0761-00-0005" in joined
        assert "相談したいことがある" in chat.labels()
        chat.pick("consult")
        assert chat.state.step is Step.CHOOSE_FIELD
    else:  # the vocabulary in use files it under 狭間: still never turned away
        assert chat.state is not None and chat.state.step in (Step.CONFIRM, Step.CHOOSE_FIELD)


def test_commands_at_any_time(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.text("お金がなくて困っています")
    assert "はじめから" in chat.text("最初から")[0]
    assert chat.state is not None and chat.state.story == []
    assert "ここまで" in chat.text("やめる")[0]
    assert chat.state.step is Step.ENDED and chat.ended == ["cancelled"]
    chat.text("人と話したい")
    [handoff] = chat.tickets
    assert handoff.purpose == "handoff" and handoff.draft.urgent and handoff.draft.handoff
    assert "261122-T001" in chat.last[-1].text


def test_crisis_first_then_gently_on(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    texts = chat.text("もう死にたい")
    assert "0120-000-000" in texts[0] and "いのちの電話" in texts[0]
    assert "110" not in texts[0]  # only the lines for this kind of crisis
    assert chat.tickets[0].purpose == "crisis" and chat.tickets[0].draft.urgent
    assert "261122-T001" in "\n".join(texts)
    chat.pick("correct")
    chat.pick("yes")
    chat.pick("contact:line")
    final = chat.tickets[-1]
    assert final.purpose == "final" and final.ticket_id == 1  # the same ticket, completed
    assert final.draft.crisis


def test_stickers_media_location_never_silence(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.text("介護のことで")
    for kind in ("sticker", "image", "video", "audio", "file"):
        chat.now += 1
        texts = chat.send(Media(kind, chat.now))
        assert len(texts) >= 2, kind  # a kind word, then the question again
    chat.now += 1
    chat.send(Location("石川県テスト市寺井町", chat.now))
    assert chat.state is not None and chat.state.location_area == "kita"


def test_after_a_long_pause_resume_or_restart(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.pick("topic:介護")
    texts = chat.text("はい", later=RESUME_AFTER_SECONDS + 10)
    assert "おかえりなさい" in "\n".join(texts) or "続き" in "\n".join(texts)
    assert chat.state is not None and chat.state.step is Step.RESUME
    assert chat.labels() == ["続きから", "最初から"]
    chat.pick("continue")
    assert chat.state.step is Step.CONFIRM


def test_done_then_follow_up_goes_to_the_ticket_and_a_new_consultation_starts_clean(
    knowledge: Knowledge,
) -> None:
    chat = Chat(knowledge)
    chat.text("人と話したい")
    assert "261122-T001" in chat.text("よろしくお願いします")[0]
    chat.pick("new")
    assert chat.state is not None and chat.state.step is Step.STORY and chat.state.ticket_id is None
    assert "new_consultation" in chat.ended


def test_unfollow_forgets_the_session(knowledge: Knowledge) -> None:
    chat = Chat(knowledge)
    chat.text("介護のことで")
    chat.now += 1
    chat.send(Unfollow(chat.now))
    assert chat.state is None and chat.ended == ["unfollow"]


def test_engine_is_pure(knowledge: Knowledge) -> None:
    state = SessionState(story=["a"])
    before = state.model_dump()
    step(state, Text("b", 1.0), knowledge)
    assert state.model_dump() == before


def test_phone_numbers() -> None:
    assert parse_phone("090-1234-5678") == "09012345678"
    assert parse_phone("０７６１（１２）３４５６") == "0761123456"
    assert parse_phone("12345") is None
    assert parse_phone("電話はいやです") is None


def test_a_window_without_a_known_phone_number_is_never_given_a_made_up_one(knowledge: Knowledge) -> None:
    """Where the source documents give no number, the pack leaves it empty: the resident is told how to find it,
    never an empty 「電話：」 line."""
    import dataclasses

    windows = [
        w.model_copy(update={"contact": w.contact.model_copy(update={"phone": ""})})
        for w in knowledge.pack.windows
    ]
    k = dataclasses.replace(knowledge, pack=knowledge.pack.model_copy(update={"windows": windows}))
    chat = Chat(k)
    chat.pick("topic:障害")
    chat.pick("correct")
    chat.pick("yes")
    done = chat.pick("contact:visit")[-1]
    assert k.messages["ticket_window_no_phone"] in done
    assert "電話：" not in done
    with_phone = Chat(knowledge)
    with_phone.pick("topic:障害")
    with_phone.pick("correct")
    with_phone.pick("yes")
    assert "電話：0761-00-" in with_phone.pick("contact:visit")[-1]
