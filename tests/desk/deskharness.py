"""Helpers and fixtures of the staff desk tests (imported by name: ``from conftest import`` would pick another
folder's conftest in a whole-suite run): a small pack, staff of each role, tickets, the app on a real database.

The pack is built with ``intake.knowledge.schema`` models (two field windows, the general window and the
多機関協働 entry with its two meetings). Tickets are created the way the bot creates them
(``routing.transcript``), for a LINE resident whose user id is encrypted as the bot stores it.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from fakeline import FakeLine, fake_line
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from intake.app import Resources, create_app
from intake.crypto import secret_key
from intake.db import session_scope, utcnow
from intake.desk import accounts
from intake.knowledge.schema import Pack
from intake.settings import Settings
from routing import transcript
from routing.models import Channel, Role, Urgency

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns when its test client runs on httpx; httpx is what we ship.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["FakeLine", "fake_line"]

SECRET = "desk-test-secret-" + "x" * 32
PASSWORD = "correct horse battery"
LINE_USER = "U" + "0123456789abcdef" * 2


def make_pack(notify: dict[str, dict[str, str]] | None = None) -> Pack:
    """The test pack; ``notify`` maps window ids to their new-ticket notice settings."""
    pack = Pack.model_validate(
        {
            "municipality": {
                "id": "testcity",
                "name": "テスト市",
                "general_window_id": "general",
                "collaboration": {
                    "window_id": "collab",
                    "with_consent": {"name": "重層的支援会議", "kind": "with_consent"},
                    "without_consent": {
                        "name": "支援会議",
                        "kind": "without_consent",
                        "legal_basis": "社会福祉法第106条の6",
                    },
                },
            },
            "windows": [
                {"id": "kaigo", "name": "地域包括支援センター", "fields": ["介護"]},
                {"id": "kodomo", "name": "こども家庭センター", "fields": ["子ども"]},
                {"id": "general", "name": "福祉総合相談窓口", "fields": ["狭間", "困窮"]},
                {"id": "collab", "name": "多機関協働事業", "fields": []},
            ],
            "crisis_contacts": [{"id": "c1", "name": "いのちの電話", "phone": "0120-000-000"}],
            "messages": {},
            "version": "test-1",
        }
    )
    if not notify:
        return pack
    data = pack.model_dump()
    for window in data["windows"]:
        window["notify"] = notify.get(window["id"], {})
    return Pack.model_validate(data)


@dataclass
class ReloadResult:
    ok: bool
    version: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Knowledge:
    pack: Pack
    version: str


class FakeKnowledgeHolder:
    """Stands in for ``intake.knowledge.holder.KnowledgeHolder``: ``.current`` and ``.reload()``."""

    def __init__(self, pack: Pack) -> None:
        self.current = Knowledge(pack=pack, version=pack.version)
        self.next: ReloadResult | None = None
        self.reloads = 0

    def reload(self) -> ReloadResult:
        self.reloads += 1
        result = self.next or ReloadResult(ok=True, version=self.current.version)
        if result.ok:
            self.current = Knowledge(pack=self.current.pack, version=result.version)
        return result


@pytest.fixture
def pack() -> Pack:
    return make_pack()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        intake_secret_key=SECRET,  # type: ignore[arg-type]
        intake_staff_session_ttl=600,
    )


@dataclass
class Desk:
    app: FastAPI
    client: TestClient
    res: Resources
    holder: FakeKnowledgeHolder

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.res.sessions


@pytest.fixture
def desk(settings: Settings, pack: Pack) -> Iterator[Desk]:
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        res: Resources = app.state.resources
        holder = FakeKnowledgeHolder(pack)
        res.knowledge = holder
        yield Desk(app=app, client=client, res=res, holder=holder)


def add_staff(
    sessions: sessionmaker[Session],
    login: str,
    windows: list[str],
    role: Role = Role.STAFF,
    pack: Pack | None = None,
) -> int:
    valid = [w.id for w in (pack or make_pack()).windows]
    with session_scope(sessions) as s:
        staff = accounts.create_staff(
            s,
            login=login,
            password=PASSWORD,
            window_ids=windows,
            valid_windows=valid,
            pack="testcity",
            role=role,
            display_name=login.upper(),
        )
        return staff.id


def make_ticket(
    sessions: sessionmaker[Session],
    *,
    window_id: str = "kaigo",
    number: str | None = None,
    urgency: Urgency = Urgency.NORMAL,
    complex: bool = False,
    consent: bool | None = True,
    fields: list[str] | None = None,
    created_at: datetime | None = None,
    channel: Channel = Channel.LINE,
    text: str = "母の介護のことで相談したいです。夜も眠れません。",
    crisis: bool = False,
) -> str:
    """A ticket as the bot leaves it (``routing.transcript``): a resident, their message, the routed ticket.

    ``number`` and ``created_at`` override what the bot would set, for tests about order and display.
    """
    key = secret_key(Settings(intake_secret_key=SECRET))  # type: ignore[arg-type]
    with session_scope(sessions) as s:
        resident = transcript.get_or_create_resident(
            s,
            pack="testcity",
            channel=channel.value,
            subject=uuid.uuid4().hex,
            key=key,
            line_user_id=LINE_USER if channel is Channel.LINE else None,
        )
        conv = transcript.open_conversation(s, resident=resident)
        transcript.record_message(
            s, conversation_id=conv.id, direction="in", sender="resident", kind="text", text=text
        )
        ticket = transcript.create_ticket(
            s,
            pack="testcity",
            knowledge_version="test-1",
            resident_id=resident.id,
            conversation_id=conv.id,
            fields=fields if fields is not None else ["介護"],
            window_id=window_id,
            complex=complex,
            crisis=crisis,
            urgent=urgency is Urgency.URGENT,
            evidence=[
                {
                    "label": "介護",
                    "kind": "term",
                    "surface": "介護",
                    "normalized": "介護",
                    "start": 2,
                    "end": 4,
                }
            ],
            routing_reason=["介護の相談なので地域包括支援センターへ"],
            consent=consent,
        )
        if number is not None:
            ticket.number = number
        if created_at is not None:
            ticket.created_at = created_at
        return ticket.number


def login(client: TestClient, user: str, password: str = PASSWORD) -> httpx.Response:
    """Log in through the form (with the login page's CSRF cookie)."""
    page = client.get("/staff/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client.post(
        "/staff/login", data={"login": user, "password": password, "csrf": token}, follow_redirects=False
    )


def csrf_of(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def ago(minutes: int) -> datetime:
    return utcnow() - timedelta(minutes=minutes)


def line_settings(settings: Settings, fake: FakeLine) -> Settings:
    """The same settings with a LINE channel pointed at the fake LINE API."""
    return settings.model_copy(
        update={
            "line_channel_secret": SecretStr("test-channel-secret"),
            "line_channel_access_token": SecretStr("test-access-token"),
            "line_api_base_url": fake.base_url,
            "line_data_api_base_url": fake.base_url,
        }
    )


@pytest.fixture
def line_desk(settings: Settings, pack: Pack, fake_line: FakeLine) -> Iterator[Desk]:
    """The desk app with its LINE channel on the fake LINE API (the outbox worker pushes there)."""
    app = create_app(line_settings(settings, fake_line))
    with TestClient(app, base_url="http://testserver") as client:
        res: Resources = app.state.resources
        holder = FakeKnowledgeHolder(pack)
        res.knowledge = holder
        yield Desk(app=app, client=client, res=res, holder=holder)
