"""``/api/v1``: bearer tokens, the same access rules and audit as the desk, and the OpenAPI page."""

from __future__ import annotations

from deskharness import Desk, add_staff, make_ticket
from sqlalchemy import select

from intake.db import session_scope
from intake.desk.accounts import issue_token
from routing.models import ApiToken, AuditLog, Escalation, Outbox, Role, Ticket, TicketStatus, Urgency


def _token(desk: Desk, staff_id: int) -> dict[str, str]:
    with session_scope(desk.sessions) as s:
        return {"Authorization": f"Bearer {issue_token(s, staff_id=staff_id, label='test')}"}


def test_no_token_or_a_bad_one_is_401_and_audited(desk: Desk) -> None:
    assert desk.client.get("/api/v1/me").status_code == 401
    answer = desk.client.get("/api/v1/me", headers={"Authorization": "Bearer itk_not-a-token"})
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    with session_scope(desk.sessions) as s:
        refused = s.scalars(select(AuditLog).where(AuditLog.action == "api_auth")).all()
    assert len(refused) == 2 and not any(r.allowed for r in refused)


def test_tokens_are_stored_hashed_and_revocable(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    headers = _token(desk, staff_id)
    raw = headers["Authorization"].split()[1]
    assert desk.client.get("/api/v1/me", headers=headers).json() == {
        "login": "kaigo1",
        "role": "staff",
        "windows": ["kaigo"],
    }
    with session_scope(desk.sessions) as s:
        token = s.scalars(select(ApiToken)).one()
        assert raw not in token.token_hash and token.last_used_at is not None
        token.revoked = True
    assert desk.client.get("/api/v1/me", headers=headers).status_code == 401


def test_window_inbox_urgent_first_and_other_windows_refused(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    normal = make_ticket(desk.sessions, window_id="kaigo")
    urgent = make_ticket(desk.sessions, window_id="kaigo", urgency=Urgency.URGENT)
    headers = _token(desk, staff_id)
    answer = desk.client.get("/api/v1/windows/kaigo/tickets", headers=headers)
    assert answer.status_code == 200
    assert [t["number"] for t in answer.json()] == [urgent, normal]
    assert answer.json()[0]["window_name"] == "地域包括支援センター"
    refused = desk.client.get("/api/v1/windows/kodomo/tickets", headers=headers)
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "forbidden"


def test_ticket_detail_and_the_whole_flow(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kaigo", consent=False)
    headers = _token(desk, staff_id)
    detail = desk.client.get(f"/api/v1/tickets/{number}", headers=headers).json()
    assert detail["transcript"][0]["text"].startswith("母の介護")
    assert detail["evidence"][0]["surface"] == "介護" and detail["consent"] is False

    assert desk.client.post(f"/api/v1/tickets/{number}/accept", headers=headers).json()["status"] == "対応中"
    assert desk.client.post(f"/api/v1/tickets/{number}/assign-to-me", headers=headers).status_code == 200
    note = desk.client.post(
        f"/api/v1/tickets/{number}/notes", json={"body": "電話で状況確認"}, headers=headers
    )
    assert note.status_code == 200
    reply = desk.client.post(
        f"/api/v1/tickets/{number}/replies", json={"text": "ご連絡します"}, headers=headers
    )
    assert reply.status_code == 202 and reply.json()["status"] == "queued"
    esc = desk.client.post(f"/api/v1/tickets/{number}/escalate", json={"reason": "複合課題"}, headers=headers)
    assert esc.status_code == 200
    assert esc.json()["detail"]["meeting_name"] == "支援会議"
    assert "守秘義務" in esc.json()["detail"]["confidentiality_note"]
    closed = desk.client.post(
        f"/api/v1/tickets/{number}/close", json={"outcome": "支援につながった"}, headers=headers
    )
    assert closed.json()["status"] == "終結"
    again = desk.client.post(f"/api/v1/tickets/{number}/accept", headers=headers)
    assert again.status_code == 409

    history = [
        h["kind"] for h in desk.client.get(f"/api/v1/tickets/{number}", headers=headers).json()["history"]
    ]
    assert history == ["created", "accepted", "assigned", "noted", "replied", "escalated", "closed"]
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(Outbox)).one().messages == [{"type": "text", "text": "ご連絡します"}]
        assert s.scalars(select(Escalation)).one().meeting_kind.value == "without_consent"
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == number)).one()
        audited = s.scalars(
            select(AuditLog).where(AuditLog.ticket_id == ticket_id).order_by(AuditLog.id)
        ).all()
    assert [(a.action, a.allowed) for a in audited] == [
        ("view", True),
        ("accepted", True),
        ("assigned", True),
        ("noted", True),
        ("replied", True),
        ("escalated", True),
        ("closed", True),
        ("accepted", False),
        ("view", True),
    ]
    assert all(a.login == "kaigo1" for a in audited)


def test_transfer_by_api_and_bad_input(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kaigo")
    headers = _token(desk, staff_id)
    bad = desk.client.post(
        f"/api/v1/tickets/{number}/transfer", json={"to_window": "kodomo"}, headers=headers
    )
    assert bad.status_code == 422
    unknown = desk.client.post(
        f"/api/v1/tickets/{number}/transfer", json={"to_window": "mars", "reason": "x"}, headers=headers
    )
    assert unknown.status_code == 422 and "移管先" in unknown.json()["detail"]["message"]
    ok = desk.client.post(
        f"/api/v1/tickets/{number}/transfer",
        json={"to_window": "kodomo", "reason": "子どもの相談"},
        headers=headers,
    )
    assert ok.status_code == 200
    with session_scope(desk.sessions) as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.window_id == "kodomo" and ticket.status is TicketStatus.NEW
    assert desk.client.get(f"/api/v1/tickets/{number}", headers=headers).status_code == 403


def test_another_windows_ticket_is_403_audited_and_unchanged(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kodomo")
    headers = _token(desk, staff_id)
    assert desk.client.get(f"/api/v1/tickets/{number}", headers=headers).status_code == 403
    assert (
        desk.client.post(
            f"/api/v1/tickets/{number}/close", json={"outcome": "x"}, headers=headers
        ).status_code
        == 403
    )
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(Ticket).where(Ticket.number == number)).one().status is TicketStatus.NEW
        refused = s.scalars(select(AuditLog).where(AuditLog.allowed.is_(False))).all()
        assert {r.action for r in refused} == {"view", "closed"}


def test_collaboration_inbox_and_metrics_by_role(desk: Desk) -> None:
    coord = add_staff(desk.sessions, "coord", ["general"], role=Role.COORDINATOR)
    admin = add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    complex_case = make_ticket(desk.sessions, window_id="kodomo", complex=True)
    make_ticket(desk.sessions, window_id="kodomo")
    cases = desk.client.get("/api/v1/collaboration/tickets", headers=_token(desk, coord)).json()
    assert [c["number"] for c in cases] == [complex_case]
    assert desk.client.get("/api/v1/collaboration/tickets", headers=_token(desk, admin)).status_code == 403
    assert desk.client.get("/api/v1/metrics", headers=_token(desk, coord)).status_code == 403
    m = desk.client.get("/api/v1/metrics", headers=_token(desk, admin)).json()
    assert m["total"] == 2 and m["complex"] == 1


def test_openapi_documents_the_api_but_not_the_desk_pages(desk: Desk) -> None:
    spec = desk.client.get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/v1/tickets/{number}", "/api/v1/tickets/{number}/transfer", "/api/v1/metrics"} <= paths
    assert not any(p.startswith("/staff") for p in paths)
    assert desk.client.get("/api/docs").status_code == 200
