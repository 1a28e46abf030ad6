"""Real uvicorn processes on one Redis: one user's events never interleave, and a Redis restart loses no message."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import linehelp as L
import pytest
import servers
from botharness import bot_settings
from fakeline import PUSH, REPLY, FakeLine
from servers import free_port
from sqlalchemy import select

from intake import crypto
from intake.db import make_engine, make_sessionmaker, session_scope
from routing.models import Direction, Message

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app process exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("app process did not start")


def app_env(tmp: Path, fake: FakeLine, redis_url: str) -> dict[str, str]:
    settings = bot_settings(tmp, fake, redis_url=redis_url)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), str(REPO / "tests" / "bot")]),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "LINE_CHANNEL_SECRET": L.SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": L.TOKEN,
        "LINE_API_BASE_URL": fake.base_url,
        "LINE_DATA_API_BASE_URL": fake.base_url,
        "INTAKE_SECRET_KEY": "test-secret-key-for-the-bot-tests-0123456789",
        "INTAKE_LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def start_app(env: dict[str, str], tmp: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "testapp:make_app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"],
        env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_http(url, proc)
    return proc, url


@pytest.fixture
def two_apps(tmp_path: Path, fake_line: FakeLine, redis_url: str) -> Iterator[list[str]]:
    env = app_env(tmp_path, fake_line, redis_url)
    procs = []
    try:
        for name in ("a", "b"):
            proc, url = start_app(env, tmp_path, name)
            procs.append((proc, url))
        yield [url for _, url in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(20)


def post(url: str, *events: dict[str, object]) -> int:
    body = L.payload(*events)
    return httpx.post(
        url + "/callback", content=body, headers={"x-line-signature": L.sign(body)}, timeout=10
    ).status_code


def test_two_processes_never_interleave_one_users_events(
    two_apps: list[str], fake_line: FakeLine, tmp_path: Path, redis_url: str
) -> None:
    fake_line.delay = 0.05  # a LINE API that takes a moment widens any race
    n = 12
    start = time.time()
    events = [L.text(f"その{i}", at=start + i / 1000) for i in range(n)]
    with ThreadPoolExecutor(n) as pool:
        codes = list(pool.map(lambda i: post(two_apps[i % 2], events[i]), range(n)))
    assert codes == [200] * n
    fake_line.wait_for(None, n, timeout=30, where=lambda r: r.path in (REPLY, PUSH))

    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            rows = [(m.direction, m.text) for m in s.scalars(select(Message).order_by(Message.id))]
    finally:
        engine.dispose()
    directions = [d for d, _ in rows]
    assert directions.count(Direction.INBOUND) == n
    # Each event's answer is stored before the next event of the same user starts: never in, in.
    for a, b in itertools.pairwise(directions):
        assert not (a == Direction.INBOUND and b == Direction.INBOUND), directions
    # No lost update of the session: every part of the story is in it.
    import redis

    hashed = crypto.subject_hash(b"test-secret-key-for-the-bot-tests-0123456789", "line", L.USER)
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.get(f"intake:sess:line:{hashed}")
    finally:
        client.close()
    assert raw is not None
    assert sorted(json.loads(raw)["story"]) == sorted(f"その{i}" for i in range(n))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """A redis-server this test may stop and start again."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bot-redis-")
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        state["proc"] = servers.start_redis(port, folder)

    def stop() -> None:
        servers.stop(state["proc"])

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", (start, stop)
    finally:
        stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_redis_restart_mid_conversation_loses_no_message(
    tmp_path: Path, fake_line: FakeLine, own_redis: tuple[str, object]
) -> None:
    redis_url, (start_redis, stop_redis) = own_redis  # type: ignore[misc]
    env = app_env(tmp_path, fake_line, redis_url)
    proc, url = start_app(env, tmp_path, "solo")
    try:
        assert post(url, L.text("母の介護のことで困っています")) == 200
        fake_line.wait_for(REPLY, 1)
        assert post(url, L.postback("send")) == 200
        fake_line.wait_for(REPLY, 2)
        stop_redis()
        assert post(url, L.text("夜も眠れません")) == 200  # while Redis is down: still stored and answered
        fake_line.wait_for(None, 3, where=lambda r: r.path in (REPLY, PUSH) and r.status == 200, timeout=20)
        start_redis()
        assert post(url, L.text("よろしくお願いします")) == 200
        fake_line.wait_for(None, 4, where=lambda r: r.path in (REPLY, PUSH) and r.status == 200, timeout=20)
    finally:
        proc.terminate()
        proc.wait(20)
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            inbound = [m.text or m.kind for m in s.scalars(select(Message).where(Message.direction == "in"))]
    finally:
        engine.dispose()
    assert inbound == ["母の介護のことで困っています", "postback", "夜も眠れません", "よろしくお願いします"]
    # After the restart the dialog began again, politely, with the greeting.
    last = fake_line.calls(ok=True)[-1].json["messages"]
    assert "テスト市" in last[0]["text"]
