"""App factory and lifespan: long-lived resources are built once here and shared through ``app.state``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from intake import logs
from intake.db import make_engine, make_sessionmaker, ping
from intake.settings import Settings, get_settings
from intake.store import SessionStore, embedded_store, redis_store

log = logging.getLogger("intake.app")


@dataclass
class Resources:
    """What every request and background task may use. Built in the lifespan, closed on shutdown."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: SessionStore
    # intake.knowledge.holder.KnowledgeHolder: the published pack, reloadable without a restart.
    knowledge: Any = None
    # bot.line.LineGateway (None when the LINE channel is not configured).
    line: Any = None
    # Background tasks (outbox worker, event processing) cancelled on shutdown.
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Any, *, name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro`` alongside requests; the task is kept referenced until it finishes."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


def get_resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


def build_store(settings: Settings) -> SessionStore:
    return redis_store(settings.redis_url) if settings.redis_url else embedded_store()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.intake_log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        res = Resources(
            settings=settings, engine=engine, sessions=make_sessionmaker(engine), store=build_store(settings)
        )
        app.state.resources = res
        try:
            await _start_components(res)
            log.info(
                "started",
                extra={
                    "ctx": {
                        "pack": settings.intake_pack,
                        "line": settings.line_enabled,
                        "store": "redis" if settings.redis_url else "embedded",
                        "database": engine.dialect.name,
                    }
                },
            )
            yield
        finally:
            await _shutdown(res)

    app = FastAPI(
        title="福祉総合相談 intake",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
    )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: the session store and the database answer, and a knowledge pack is loaded."""
        res = get_resources(request)
        store_ok, db_ok = await asyncio.gather(
            _check(res.store.ping()), _check(asyncio.to_thread(ping, res.engine))
        )
        knowledge_ok = res.knowledge is not None
        ok = store_ok and db_ok and knowledge_ok
        return JSONResponse(
            {
                "status": "ok" if ok else "unavailable",
                "store": store_ok,
                "database": db_ok,
                "knowledge": knowledge_ok,
            },
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )

    _include_routers(app)
    return app


READY_CHECK_TIMEOUT = 2.0


async def _check(probe: Awaitable[bool]) -> bool:
    """A readiness probe answers within a bounded time: a hung server counts as down."""
    try:
        return bool(await asyncio.wait_for(probe, READY_CHECK_TIMEOUT))
    except Exception:
        return False


async def _shutdown(res: Resources) -> None:
    """Stop the parts, cancel background work, then close the store and the engine (each step even if one fails)."""
    try:
        await _stop_components(res)
    except Exception:
        log.exception("components stop failed")
    for task in list(res.tasks):
        task.cancel()
    if res.tasks:
        await asyncio.gather(*res.tasks, return_exceptions=True)
    try:
        await res.store.close()
    except Exception:
        log.exception("store close failed")
    res.engine.dispose()
    log.info("stopped")


async def _start_components(res: Resources) -> None:
    """Build the components other packages own (knowledge, LINE client, workers)."""
    from intake.components import start

    await start(res)


async def _stop_components(res: Resources) -> None:
    from intake.components import stop

    await stop(res)


def _include_routers(app: FastAPI) -> None:
    from intake.components import routers

    for router in routers():
        app.include_router(router)
