"""The app factory: health and readiness, start-up and shutdown of the long-lived resources."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from intake.app import Resources, create_app
from intake.settings import Settings
from intake.store import RedisSessionStore, embedded_store


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(database_url: str, redis_url: str | None) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        redis_url=redis_url,
        intake_secret_key=SecretStr("test-secret-key-for-the-app-tests"),
        line_channel_secret=None,
        line_channel_access_token=None,
    )


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "embedded":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def client(database_url: str, store_url: str | None) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(database_url, store_url))) as c:
        yield c


def test_healthz_answers_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_ok_when_store_database_and_knowledge_are_there(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.json() == {"status": "ok", "store": True, "database": True, "knowledge": True}
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"


def test_readyz_is_503_when_redis_is_down(tmp_path: Path, sqlite_url: str) -> None:
    from intake.migrate import upgrade

    upgrade(sqlite_url)
    app = create_app(_settings(sqlite_url, f"redis://127.0.0.1:{_closed_port()}/0"))
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["store"] is False
    assert body["database"] is True


@pytest.mark.postgres
def test_readyz_is_503_when_the_database_is_down() -> None:
    url = f"postgresql+psycopg://intake@127.0.0.1:{_closed_port()}/intake?connect_timeout=2"
    with TestClient(create_app(_settings(url, None))) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["database"] is False
    assert r.json()["store"] is True


class RecordingStore(RedisSessionStore):
    """The embedded store, remembering whether the app closed it."""

    closed = 0

    async def close(self) -> None:
        self.closed += 1
        await super().close()


def test_resources_are_built_once_and_closed_on_shutdown(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intake.migrate import upgrade

    upgrade(sqlite_url)
    built: list[RecordingStore] = []

    def build_store(settings: Settings) -> RecordingStore:
        built.append(RecordingStore(embedded_store().client))
        return built[-1]

    monkeypatch.setattr("intake.app.build_store", build_store)
    app = create_app(_settings(sqlite_url, None))
    with TestClient(app) as c:
        res = app.state.resources
        assert isinstance(res, Resources)
        for _ in range(3):
            assert c.get("/readyz").status_code == 200
        assert app.state.resources is res
        assert res.engine.dialect.name == "sqlite"
        assert len(built) == 1 and res.store is built[0]
        assert built[0].closed == 0
    assert built[0].closed == 1


async def test_spawned_background_work_is_cancelled_on_shutdown(sqlite_url: str) -> None:
    import asyncio

    from intake.migrate import upgrade

    upgrade(sqlite_url)
    app = create_app(_settings(sqlite_url, None))
    cancelled = asyncio.Event()

    async def worker() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        task = res.spawn(worker(), name="test-worker")
        await asyncio.sleep(0)
        assert task in res.tasks
    assert cancelled.is_set()
    assert task.cancelled()
    assert not res.tasks
