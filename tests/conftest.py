"""Shared fixtures: real servers when their binaries are present, with a clear reason when they are not.

- ``redis_url``: a private ``redis-server`` on a free port (skips when the binary is missing).
- ``postgres_url``: a private PostgreSQL cluster made with ``initdb`` in a temporary folder (skips when missing).
- ``database_url``: parametrised over SQLite and PostgreSQL, migrated to head.
- ``sessions``: a sessionmaker on a migrated ``database_url``.
- ``store``: parametrised over the embedded store and real Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from servers import find, free_port, skip_or_fail, start_redis, stop
from sqlalchemy.orm import Session, sessionmaker

from intake.db import make_engine, make_sessionmaker
from intake.migrate import upgrade
from intake.store import RedisSessionStore, embedded_store, redis_store

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

with warnings.catch_warnings():
    # Starlette 1.x warns once, on import, that its test client prefers httpx2; httpx is what we ship. Imported
    # here first, so every test module gets the cached module without the warning (warnings are errors).
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import fastapi.testclient  # noqa: F401


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="intake-redis-")
    proc = start_redis(port, tmp)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    """A clean database on the shared test server for each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    yield redis_server


def _pg_dirs() -> tuple[str, ...]:
    """Debian keeps the server binaries under /usr/lib/postgresql/<major>/bin: newest first."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    return tuple(str(p) for p in sorted(found, key=lambda p: int(p.parent.name), reverse=True))


PG_DIRS = _pg_dirs()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; ``POSTGRES_TEST_URL`` points at an existing server instead."""
    existing = os.environ.get("POSTGRES_TEST_URL")
    if existing:
        yield existing
        return
    initdb = find("initdb", PG_DIRS)
    pg_ctl = find("pg_ctl", PG_DIRS)
    if initdb is None or pg_ctl is None:
        skip_or_fail(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)"
        )
        raise AssertionError
    tmp = Path(tempfile.mkdtemp(prefix="intake-pg-"))
    data = tmp / "data"
    port = free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: use the 'postgres' system user when there is one.
        if (
            shutil.which("runuser") is None
            or subprocess.run(["id", "postgres"], capture_output=True).returncode
        ):
            skip_or_fail("running as root without a 'postgres' user to run PostgreSQL")
        shutil.chown(tmp, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "intake", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(tmp / "log"),
            "-w",
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
            " -c synchronous_commit=off -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://intake@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh empty database for each test."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'intake.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database: SQLite, and PostgreSQL when present."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'intake.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RedisSessionStore]:
    """The session store, over the embedded server and over a real redis-server."""
    if request.param == "embedded":
        s = embedded_store()
    else:
        s = redis_store(request.getfixturevalue("redis_url"))
    yield s
    await s.close()
