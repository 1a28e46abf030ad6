"""Access rules for each role, through the web desk: who sees which inbox and ticket, and what a refusal does."""

from __future__ import annotations

from deskharness import Desk, add_staff, csrf_of, login, make_ticket
from sqlalchemy import select

from intake.db import session_scope
from routing.models import AuditLog, Role, Ticket, TicketEvent, TicketStatus


def _ticket(desk: Desk, number: str) -> Ticket:
    with session_scope(desk.sessions) as s:
        return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def _refusals(desk: Desk, action: str | None = None) -> list[AuditLog]:
    with session_scope(desk.sessions) as s:
        q = select(AuditLog).where(AuditLog.allowed.is_(False))
        if action:
            q = q.where(AuditLog.action == action)
        return list(s.scalars(q))


def test_staff_sees_their_windows_inbox_only(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    mine = make_ticket(desk.sessions, window_id="kaigo")
    theirs = make_ticket(desk.sessions, window_id="kodomo")
    assert login(desk.client, "kaigo1").status_code == 303

    page = desk.client.get("/staff/inbox")
    assert page.status_code == 200
    assert mine in page.text and theirs not in page.text
    assert "地域包括支援センター" in page.text

    other = desk.client.get("/staff/inbox?window=kodomo")
    assert other.status_code == 403
    assert "権限がありません" in other.text
    assert theirs not in other.text
    assert _refusals(desk, "inbox")


def test_another_windows_ticket_by_url_is_refused_audited_and_unchanged(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    theirs = make_ticket(desk.sessions, window_id="kodomo", text="子どものことで悩んでいます")
    login(desk.client, "kaigo1")
    page = desk.client.get(f"/staff/tickets/{theirs}")
    assert page.status_code == 403
    assert "このご相談を見る権限がありません" in page.text
    assert "子どものことで悩んでいます" not in page.text

    csrf = csrf_of(desk.client.get("/staff/inbox").text)
    accept = desk.client.post(f"/staff/tickets/{theirs}/accept", data={"csrf": csrf}, follow_redirects=False)
    assert accept.status_code == 403
    reply = desk.client.post(
        f"/staff/tickets/{theirs}/reply", data={"csrf": csrf, "text": "こんにちは"}, follow_redirects=False
    )
    assert reply.status_code == 403

    ticket = _ticket(desk, theirs)
    assert ticket.status is TicketStatus.NEW and ticket.assignee_id is None
    with session_scope(desk.sessions) as s:
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert [e.kind for e in events] == ["created"]  # only the bot's
    refused = [r for r in _refusals(desk) if r.ticket_id == ticket.id]
    assert {r.action for r in refused} == {"view", "accepted", "replied"}
    assert all(r.login == "kaigo1" for r in refused)


def test_unknown_ticket_is_a_clear_404(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    login(desk.client, "kaigo1")
    page = desk.client.get("/staff/tickets/NOPE-0000")
    assert page.status_code == 404
    assert "見つかりません" in page.text


def test_coordinator_sees_complex_cases_across_windows_but_not_simple_ones(desk: Desk) -> None:
    add_staff(desk.sessions, "coord", ["general"], role=Role.COORDINATOR)
    complex_case = make_ticket(desk.sessions, window_id="kodomo", complex=True, fields=["子ども", "困窮"])
    simple_case = make_ticket(desk.sessions, window_id="kodomo")
    login(desk.client, "coord")

    page = desk.client.get("/staff/collaboration")
    assert page.status_code == 200
    assert complex_case in page.text and simple_case not in page.text
    assert desk.client.get(f"/staff/tickets/{complex_case}").status_code == 200
    assert desk.client.get(f"/staff/tickets/{simple_case}").status_code == 403


def test_plain_staff_cannot_open_the_collaboration_inbox(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    make_ticket(desk.sessions, window_id="kodomo", complex=True)
    login(desk.client, "kaigo1")
    page = desk.client.get("/staff/collaboration")
    assert page.status_code == 403
    assert "相談支援包括化推進員" in page.text


def test_admin_pages_are_for_admins_only(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    login(desk.client, "kaigo1")
    for path in ("/staff/admin/staff", "/staff/admin/metrics", "/staff/admin/knowledge"):
        page = desk.client.get(path)
        assert page.status_code == 403, path
        assert "管理者だけ" in page.text
    assert len(_refusals(desk)) == 3
    assert desk.holder.reloads == 0


def test_admin_sees_only_their_own_windows_tickets(desk: Desk) -> None:
    add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    other = make_ticket(desk.sessions, window_id="kaigo")
    login(desk.client, "boss")
    assert desk.client.get("/staff/admin/staff").status_code == 200
    assert desk.client.get(f"/staff/tickets/{other}").status_code == 403


def test_every_ticket_read_is_audited(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kaigo")
    login(desk.client, "kaigo1")
    desk.client.get(f"/staff/tickets/{number}")
    desk.client.get(f"/staff/tickets/{number}")
    ticket = _ticket(desk, number)
    with session_scope(desk.sessions) as s:
        views = s.scalars(
            select(AuditLog).where(AuditLog.ticket_id == ticket.id, AuditLog.action == "view")
        ).all()
    assert len(views) == 2 and all(v.allowed and v.login == "kaigo1" for v in views)
