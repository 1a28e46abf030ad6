"""Logging in and out: wrong passwords, throttling, expired sessions, CSRF and the cookie's flags."""

from __future__ import annotations

from deskharness import PASSWORD, Desk, add_staff, csrf_of, login, make_ticket
from sqlalchemy import select

from intake.db import session_scope
from intake.desk import auth
from routing.models import AuditLog, StaffUser, Ticket, TicketStatus


def _audit(desk: Desk, action: str) -> list[AuditLog]:
    with session_scope(desk.sessions) as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_login_page_is_japanese_and_sets_a_login_csrf_cookie(desk: Desk) -> None:
    page = desk.client.get("/staff/login")
    assert page.status_code == 200
    assert "ログイン" in page.text and 'lang="ja"' in page.text
    assert auth.LOGIN_CSRF_COOKIE in page.headers["set-cookie"]


def test_inbox_without_login_goes_to_the_login_page(desk: Desk) -> None:
    answer = desk.client.get("/staff/inbox", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?reason=login"


def test_wrong_password_is_refused_with_a_clear_page_and_audited(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    answer = login(desk.client, "kaigo1", "wrong password!")
    assert answer.status_code == 401
    assert "ログインIDかパスワードが違います" in answer.text
    assert auth.COOKIE not in answer.headers.get("set-cookie", "").split("=")[0]
    assert desk.client.get("/staff/inbox", follow_redirects=False).status_code == 303
    refused = _audit(desk, "login")
    assert len(refused) == 1 and not refused[0].allowed and refused[0].detail["reason"] == "bad_credentials"
    assert "wrong" not in str(refused[0].detail)


def test_unknown_login_gets_the_same_answer_as_a_wrong_password(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    unknown = login(desk.client, "nobody", PASSWORD)
    wrong = login(desk.client, "kaigo1", "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert "ログインIDかパスワードが違います" in unknown.text


def test_login_sets_an_httponly_samesite_cookie_and_logout_ends_it(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    answer = login(desk.client, "kaigo1")
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/inbox"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(auth.COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/staff" in cookie
    assert "Secure" not in cookie  # served over plain http here
    assert _audit(desk, "login")[0].allowed

    inbox = desk.client.get("/staff/inbox")
    assert inbox.status_code == 200
    out = desk.client.post("/staff/logout", data={"csrf": csrf_of(inbox.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert desk.client.get("/staff/inbox", follow_redirects=False).status_code == 303
    assert [a.login for a in _audit(desk, "logout")] == ["kaigo1"]


def test_cookie_is_secure_over_https(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    desk.client.base_url = desk.client.base_url.copy_with(scheme="https")  # type: ignore[assignment]
    answer = login(desk.client, "kaigo1")
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(auth.COOKIE + "="))
    assert "Secure" in cookie


def test_login_is_throttled_after_repeated_failures_even_with_the_right_password(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    for _ in range(auth.LOGIN_LIMIT):
        assert login(desk.client, "kaigo1", "guess guess guess").status_code == 401
    blocked = login(desk.client, "kaigo1")
    assert blocked.status_code == 429
    assert "しばらくログインできません" in blocked.text
    assert _audit(desk, "login")[-1].detail["reason"] == "throttled"
    # Another account is not blocked by these failures.
    add_staff(desk.sessions, "kaigo2", ["kaigo"])
    assert login(desk.client, "kaigo2").status_code == 303


def test_login_form_without_its_csrf_cookie_is_refused(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    answer = desk.client.post(
        "/staff/login",
        data={"login": "kaigo1", "password": PASSWORD, "csrf": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert desk.client.get("/staff/inbox", follow_redirects=False).status_code == 303


async def _expire_all(desk: Desk) -> None:
    client = desk.res.store.client  # type: ignore[attr-defined]
    prefix = desk.res.store.prefix  # type: ignore[attr-defined]
    async for key in client.scan_iter(match=prefix + auth.SESSION_PREFIX + "*"):
        await client.delete(key)


def test_expired_session_is_refused_audited_and_changes_nothing(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kaigo")
    login(desk.client, "kaigo1")
    csrf = csrf_of(desk.client.get(f"/staff/tickets/{number}").text)
    desk.client.portal.call(_expire_all, desk)  # type: ignore[union-attr]

    answer = desk.client.post(f"/staff/tickets/{number}/accept", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/staff/login?reason=expired"
    page = desk.client.get(answer.headers["location"])
    assert "有効期限が切れました" in page.text
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(Ticket).where(Ticket.number == number)).one().status is TicketStatus.NEW
    assert [a.allowed for a in _audit(desk, "session_expired")] == [False]


def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(desk: Desk) -> None:
    add_staff(desk.sessions, "kaigo1", ["kaigo"])
    number = make_ticket(desk.sessions, window_id="kaigo")
    login(desk.client, "kaigo1")
    answer = desk.client.post(
        f"/staff/tickets/{number}/accept", data={"csrf": "stale"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "ページを開き直して" in answer.text
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(Ticket).where(Ticket.number == number)).one().status is TicketStatus.NEW
    assert [a.allowed for a in _audit(desk, "csrf")] == [False]


def test_a_deactivated_account_loses_its_session(desk: Desk) -> None:
    staff_id = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    login(desk.client, "kaigo1")
    assert desk.client.get("/staff/inbox").status_code == 200
    with session_scope(desk.sessions) as s:
        staff = s.get(StaffUser, staff_id)
        assert staff is not None
        staff.active = False
    answer = desk.client.get("/staff/inbox", follow_redirects=False)
    assert answer.headers["location"] == "/staff/login?reason=inactive"
    assert login(desk.client, "kaigo1").status_code == 401
