"""What staff do with a ticket on the desk: accept, assign, transfer, escalate by consent, note, reply, close."""

from __future__ import annotations

from deskharness import Desk, add_staff, ago, csrf_of, login, make_ticket
from sqlalchemy import select

from intake.db import session_scope
from routing.models import (
    Assignment,
    AuditLog,
    Channel,
    Escalation,
    MeetingKind,
    Message,
    Note,
    Outbox,
    Role,
    Ticket,
    TicketEvent,
    TicketStatus,
    Urgency,
)


def _ticket(desk: Desk, number: str) -> Ticket:
    with session_scope(desk.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def _events(desk: Desk, number: str) -> list[str]:
    ticket = _ticket(desk, number)
    with session_scope(desk.sessions) as s:
        kinds = [e.kind for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
    assert kinds[0] == "created"  # by the bot
    return kinds[1:]


def _post(desk: Desk, number: str, action: str, **data: str) -> tuple[int, str]:
    page = desk.client.get(f"/staff/tickets/{number}")
    answer = desk.client.post(f"/staff/tickets/{number}/{action}", data={"csrf": csrf_of(page.text), **data})
    return answer.status_code, answer.text


def test_inbox_lists_urgent_first_then_oldest(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    old = make_ticket(desk.sessions, number="A-OLD", created_at=ago(120))
    new = make_ticket(desk.sessions, number="A-NEW", created_at=ago(5))
    urgent = make_ticket(desk.sessions, number="A-URGENT", urgency=Urgency.URGENT, created_at=ago(1))
    closed = make_ticket(desk.sessions, number="A-CLOSED", created_at=ago(300))
    with session_scope(desk.sessions) as s:
        s.scalars(select(Ticket).where(Ticket.number == closed)).one().status = TicketStatus.CLOSED
    login(desk.client, "kaigo1")
    text = desk.client.get("/staff/inbox").text
    assert text.index(urgent) < text.index(old) < text.index(new)
    assert closed not in text
    assert closed in desk.client.get("/staff/inbox?window=kaigo&closed=1").text


def test_ticket_page_shows_transcript_evidence_consent_and_history(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, text="母の介護のことで<相談>したいです", consent=False)
    login(desk.client, "kaigo1")
    page = desk.client.get(f"/staff/tickets/{number}").text
    assert "母の<mark>介護</mark>のことで&lt;相談&gt;したいです" in page  # evidence highlighted, text escaped
    assert "介護の相談なので地域包括支援センターへ" in page
    assert "同意なし" in page
    assert "支援会議" in page  # the meeting escalation would go to, without consent
    _post(desk, number, "accept")
    assert "受理" in desk.client.get(f"/staff/tickets/{number}").text


def test_accept_then_assign_to_me(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "accept")
    assert status == 200 and "受理しました" in text
    assert _ticket(desk, number).status is TicketStatus.IN_PROGRESS
    status, text = _post(desk, number, "accept")
    assert status == 409 and "受理できるのは「新規」" in text
    status, _ = _post(desk, number, "assign")
    assert status == 200 and _ticket(desk, number).assignee_id == staff_id
    assert _events(desk, number) == ["accepted", "assigned"]
    with session_scope(desk.sessions) as s:
        held = s.scalars(select(Assignment).where(Assignment.ended_at.is_(None))).all()
        assert [(a.window_id, a.staff_id) for a in held] == [("kaigo", staff_id)]


def test_transfer_moves_the_case_with_its_reason_and_the_sender_loses_sight_of_it(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    add_staff(desk.sessions, "kodomo1", ["kodomo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    _post(desk, number, "assign")
    status, text = _post(desk, number, "transfer", to_window="kodomo", reason="子育ての相談が中心のため")
    assert status == 200 and "移管しました" in text
    ticket = _ticket(desk, number)
    assert ticket.window_id == "kodomo" and ticket.assignee_id is None and ticket.status is TicketStatus.NEW
    with session_scope(desk.sessions) as s:
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "transferred")).one()
        assert event.detail == {"from": "kaigo", "to": "kodomo", "reason": "子育ての相談が中心のため"}
    assert desk.client.get(f"/staff/tickets/{number}").status_code == 403
    desk.client.cookies.clear()
    login(desk.client, "kodomo1")
    page = desk.client.get(f"/staff/tickets/{number}")
    assert page.status_code == 200 and "子育ての相談が中心のため" in page.text


def test_transfer_needs_a_known_window_and_a_reason(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "transfer", to_window="nowhere", reason="x")
    assert status == 422 and "移管先の窓口が見つかりません" in text
    status, text = _post(desk, number, "transfer", to_window="kodomo", reason="  ")
    assert status == 422 and "移管の理由を入力してください" in text
    assert _ticket(desk, number).window_id == "kaigo"
    with session_scope(desk.sessions) as s:
        refused = s.scalars(select(AuditLog).where(AuditLog.allowed.is_(False))).all()
        assert [r.action for r in refused] == ["transferred", "transferred"]


def test_escalation_with_consent_goes_to_the_consent_meeting(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, consent=True, complex=True, fields=["介護", "困窮"])
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "escalate", reason="介護と生活困窮が重なっている")
    assert status == 200 and "重層的支援会議" in text
    with session_scope(desk.sessions) as s:
        esc = s.scalars(select(Escalation)).one()
        assert esc.meeting_kind is MeetingKind.WITH_CONSENT and esc.meeting_name == "重層的支援会議"
        assert esc.confidentiality_note is None
    ticket = _ticket(desk, number)
    assert ticket.status is TicketStatus.COLLABORATION and ticket.related_window_ids == ["collab"]
    status, text = _post(desk, number, "escalate", reason="もう一度")
    assert status == 409 and "すでに多機関協働" in text


def test_escalation_without_consent_goes_to_the_no_consent_meeting_with_its_confidentiality_note(
    desk: Desk,
) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    for consent in (False, None):
        number = make_ticket(desk.sessions, consent=consent)
        login(desk.client, "kaigo1")
        status, text = _post(desk, number, "escalate", reason="本人が孤立している")
        assert status == 200
        assert "守秘義務" in text and "社会福祉法第106条の6" in text
    with session_scope(desk.sessions) as s:
        rows = s.scalars(select(Escalation)).all()
    assert [(e.meeting_kind, e.meeting_name) for e in rows] == [(MeetingKind.WITHOUT_CONSENT, "支援会議")] * 2
    assert all(e.confidentiality_note and "守秘義務" in e.confidentiality_note for e in rows)


def test_coordinator_sees_an_escalated_case_from_any_window(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    add_staff(desk.sessions, "coord", ["general"], role=Role.COORDINATOR)
    number = make_ticket(desk.sessions, consent=True)
    login(desk.client, "kaigo1")
    _post(desk, number, "escalate", reason="複数の課題")
    desk.client.cookies.clear()
    login(desk.client, "coord")
    assert number in desk.client.get("/staff/collaboration").text
    status, _ = _post(desk, number, "note", body="会議の日程を調整中")
    assert status == 200


def test_note_is_kept_internal(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "note", body="長女さんとも連絡が取れた")
    assert status == 200 and "長女さんとも連絡が取れた" in text
    with session_scope(desk.sessions) as s:
        assert [n.body for n in s.scalars(select(Note))] == ["長女さんとも連絡が取れた"]
        assert s.scalars(select(Outbox)).all() == []
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "noted")).one()
        assert "長女" not in str(audit.detail)


def test_reply_is_stored_in_the_transcript_and_queued(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "reply", text="明日の午前中にお電話します。")
    assert status == 200 and "送信待ち" in text
    ticket = _ticket(desk, number)
    with session_scope(desk.sessions) as s:
        message = s.scalars(select(Message).where(Message.sender == "staff")).one()
        row = s.scalars(select(Outbox)).one()
    assert message.text == "明日の午前中にお電話します。" and message.ticket_id == ticket.id
    assert row.message_id == message.id and row.messages == [
        {"type": "text", "text": "明日の午前中にお電話します。"}
    ]
    assert ticket.status is TicketStatus.IN_PROGRESS


def test_reply_to_a_web_chat_resident_is_refused(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, channel=Channel.WEB)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "reply", text="こんにちは")
    assert status == 409 and "LINEで返信できません" in text
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(Outbox)).all() == []


def test_reply_longer_than_line_allows_is_refused(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "reply", text="あ" * 5001)
    assert status == 422 and "5000文字以内" in text


def test_close_needs_an_outcome_and_then_the_case_is_read_only_but_notes(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, text = _post(desk, number, "close", outcome="")
    assert status == 422
    status, text = _post(desk, number, "close", outcome="介護保険の申請につながった")
    assert status == 200 and "介護保険の申請につながった" in text
    ticket = _ticket(desk, number)
    assert ticket.status is TicketStatus.CLOSED and ticket.closed_at is not None
    status, text = _post(desk, number, "assign")
    assert status == 409 and "終結しています" in text
    status, _ = _post(desk, number, "note", body="事後の記録")
    assert status == 200
    assert _events(desk, number) == ["closed", "noted"]


def test_unknown_action_is_a_404(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions)
    login(desk.client, "kaigo1")
    status, _ = _post(desk, number, "delete")
    assert status == 404
