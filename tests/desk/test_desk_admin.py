"""Admin pages: staff accounts, 評価指標 and publishing the knowledge pack (a broken edit is refused)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from deskharness import (
    Desk,
    TestClient,
    add_staff,
    ago,
    csrf_of,
    login,
    make_pack,
    make_ticket,
)
from sqlalchemy import select

from intake.app import Resources, create_app
from intake.db import session_scope, utcnow
from intake.settings import REPO_ROOT, Settings
from routing import metrics
from routing.desk import Actor, escalate
from routing.models import AuditLog, Role, StaffUser, Ticket, Urgency


def test_admin_adds_a_staff_member_who_can_then_log_in(desk: Desk) -> None:
    add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    login(desk.client, "boss")
    page = desk.client.get("/staff/admin/staff")
    assert "boss" in page.text and "地域包括支援センター" in page.text
    answer = desk.client.post(
        "/staff/admin/staff",
        data={
            "csrf": csrf_of(page.text),
            "login": "kodomo2",
            "display_name": "佐藤",
            "password": "a long enough password",
            "role": "staff",
            "windows": ["kodomo"],
        },
    )
    assert answer.status_code == 200 and "職員を追加しました" in answer.text and "kodomo2" in answer.text
    with session_scope(desk.sessions) as s:
        staff = s.scalars(select(StaffUser).where(StaffUser.login == "kodomo2")).one()
        assert staff.window_ids == ["kodomo"] and staff.password_hash.startswith("$argon2")
    desk.client.cookies.clear()
    assert login(desk.client, "kodomo2", "a long enough password").status_code == 303


def test_admin_add_refuses_unknown_windows_short_passwords_and_taken_logins(desk: Desk) -> None:
    add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    login(desk.client, "boss")
    csrf = csrf_of(desk.client.get("/staff/admin/staff").text)
    cases = [
        ({"login": "x1x", "password": "short", "windows": ["kodomo"]}, "10文字以上"),
        ({"login": "x2x", "password": "long enough pw", "windows": ["mars"]}, "このパックにありません"),
        ({"login": "boss", "password": "long enough pw", "windows": ["kodomo"]}, "すでに使われています"),
        ({"login": "x3x", "password": "long enough pw"}, "窓口を1つ以上"),
    ]
    for data, message in cases:
        answer = desk.client.post("/staff/admin/staff", data={"csrf": csrf, "role": "staff", **data})
        assert answer.status_code == 422 and message in answer.text
    with session_scope(desk.sessions) as s:
        assert [u.login for u in s.scalars(select(StaffUser))] == ["boss"]


def test_metrics_count_by_field_window_status_and_meeting(desk: Desk) -> None:
    add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    kaigo = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    make_ticket(desk.sessions, window_id="kaigo", fields=["介護", "困窮"], complex=True, consent=True)
    make_ticket(desk.sessions, window_id="kaigo", fields=["介護"], urgency=Urgency.URGENT, crisis=True)
    make_ticket(desk.sessions, window_id="kodomo", fields=["子ども"], consent=False)
    make_ticket(desk.sessions, window_id="kodomo", fields=["子ども"], created_at=ago(60 * 24 * 90))  # too old
    with session_scope(desk.sessions) as s:
        first = s.scalars(select(Ticket).where(Ticket.complex.is_(True))).one()
        staff = s.get(StaffUser, kaigo)
        assert staff is not None
        escalate(s, Actor.of(staff), first.number, pack=make_pack(), reason="複合")

    with session_scope(desk.sessions) as s:
        m = metrics.compute(
            s, since=utcnow() - timedelta(days=30), until=utcnow() + timedelta(minutes=1), pack=make_pack()
        )
    assert m.total == 3
    assert m.by_field == {"介護": 2, "障害": 0, "子ども": 1, "困窮": 1, "狭間": 0}
    assert [(w.window_id, w.window_name, w.count) for w in m.by_window] == [
        ("kaigo", "地域包括支援センター", 2),
        ("kodomo", "こども家庭センター", 1),
    ]
    assert m.by_status == {"新規": 2, "対応中": 0, "多機関協働": 1, "終結": 0}
    assert (m.complex, m.crisis, m.urgent) == (1, 1, 1)
    assert [(e.meeting_name, e.count) for e in m.escalations] == [("重層的支援会議", 1)]
    assert m.median_minutes_to_first_action is not None

    login(desk.client, "boss")
    page = desk.client.get("/staff/admin/metrics")
    assert page.status_code == 200 and "評価指標" in page.text and "重層的支援会議" in page.text
    with session_scope(desk.sessions) as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "metrics")).all()


def test_metrics_page_survives_a_nonsense_period(desk: Desk) -> None:
    add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    login(desk.client, "boss")
    assert desk.client.get("/staff/admin/metrics?since=yesterday&until=2026-13-40").status_code == 200


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", target)
    return target


@pytest.fixture
def real_desk(settings: Settings, knowledge_copy: Path) -> Iterator[tuple[TestClient, Resources]]:
    """The app with the real knowledge holder on a copy of the demo pack that the test may break."""
    app = create_app(
        settings.model_copy(update={"intake_knowledge_dir": knowledge_copy, "intake_pack": "demo"})
    )
    with TestClient(app) as client:
        yield client, app.state.resources


def test_knowledge_page_refuses_a_broken_edit_and_publishes_a_good_one(
    real_desk: tuple[TestClient, Resources], knowledge_copy: Path
) -> None:
    client, res = real_desk
    pack = res.knowledge.current.pack
    window = pack.windows[0]
    add_staff(res.sessions, "boss", [window.id], role=Role.ADMIN, pack=pack)
    login(client, "boss")
    page = client.get("/staff/admin/knowledge")
    assert page.status_code == 200 and window.name in page.text
    before = res.knowledge.current.version

    windows = knowledge_copy / "demo" / "windows.yaml"
    good = windows.read_text(encoding="utf-8")
    windows.write_text(good.replace(f"name: {window.name}", "name:", 1), encoding="utf-8")
    broken = client.post("/staff/admin/knowledge", data={"csrf": csrf_of(page.text)})
    assert broken.status_code == 422
    assert "公開しませんでした" in broken.text and "windows.yaml:" in broken.text
    assert res.knowledge.current.version == before

    windows.write_text(good.replace(window.name, window.name + "（本庁）", 1), encoding="utf-8")
    published = client.post("/staff/admin/knowledge", data={"csrf": csrf_of(page.text)})
    assert published.status_code == 200 and "公開しました" in published.text
    assert res.knowledge.current.version != before
    assert res.knowledge.current.pack.windows[0].name == window.name + "（本庁）"
    with session_scope(res.sessions) as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "knowledge_publish")).all()
    assert [r.allowed for r in rows] == [False, True]


def test_admin_stops_a_login_and_cannot_stop_their_own(desk: Desk) -> None:
    boss = add_staff(desk.sessions, "boss", ["general"], role=Role.ADMIN)
    other = add_staff(desk.sessions, "kaigo1", ["kaigo"])
    login(desk.client, "boss")
    csrf = csrf_of(desk.client.get("/staff/admin/staff").text)
    own = desk.client.post(f"/staff/admin/staff/{boss}/deactivate", data={"csrf": csrf})
    assert own.status_code == 409 and "自分のログインは止められません" in own.text
    done = desk.client.post(f"/staff/admin/staff/{other}/deactivate", data={"csrf": csrf})
    assert done.status_code == 200 and "ログインを止めました" in done.text
    with session_scope(desk.sessions) as s:
        assert [(u.login, u.active) for u in s.scalars(select(StaffUser).order_by(StaffUser.login))] == [
            ("boss", True),
            ("kaigo1", False),
        ]
    desk.client.cookies.clear()
    assert login(desk.client, "kaigo1").status_code == 401
