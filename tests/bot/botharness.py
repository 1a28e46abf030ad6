"""The app wired to the fake LINE API and the bot's test pack (helpers of tests/bot; fixtures in conftest.py).

A module of its own: ``from conftest import …`` would pick another folder's conftest in a whole-suite run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakeline import FakeLine
from fastapi import FastAPI
from knowledge_fixture import test_holder
from linehelp import SECRET, TOKEN

from intake.app import Resources, create_app
from intake.migrate import upgrade
from intake.settings import Settings


def bot_settings(tmp: Path, fake: FakeLine | None, *, redis_url: str | None = None, **extra: Any) -> Settings:
    url = f"sqlite:///{tmp / 'intake.db'}"
    upgrade(url)
    values: dict[str, Any] = {
        "database_url": url,
        "redis_url": redis_url,
        "intake_secret_key": "test-secret-key-for-the-bot-tests-0123456789",
        "intake_knowledge_dir": Path(__file__).resolve().parents[2] / "knowledge",
    }
    if fake is not None:
        values |= {
            "line_channel_secret": SECRET,
            "line_channel_access_token": TOKEN,
            "line_api_base_url": fake.base_url,
            "line_data_api_base_url": fake.base_url,
            "line_request_timeout": 5.0,
        }
    values |= extra
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Bot:
    app: FastAPI
    res: Resources
    client: httpx.AsyncClient
    fake: FakeLine | None

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the work done alongside the answers has finished."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            busy = [t for t in self.res.tasks if (t.get_name() or "").startswith(("line-events", "notify"))]
            if not busy:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("background work did not finish")
            await asyncio.wait(busy, timeout=timeout)

    async def post(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signature is not None:
            headers["x-line-signature"] = signature
        return await self.client.post("/callback", content=body, headers=headers)


def use_test_knowledge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start the app with the bot's test pack instead of loading ``INTAKE_PACK`` from the knowledge files
    (the bot's tests must not depend on the contents of a municipality's pack)."""
    import intake.knowledge.holder as holder

    async def start_knowledge(res: Resources) -> None:
        res.knowledge = test_holder()

    monkeypatch.setattr(holder, "start_knowledge", start_knowledge)


async def start_bot(settings: Settings, fake: FakeLine | None) -> AsyncIterator[Bot]:
    app = create_app(settings)
    with pytest.MonkeyPatch.context() as mp:
        use_test_knowledge(mp)
        async with app.router.lifespan_context(app):
            res: Resources = app.state.resources
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                yield Bot(app, res, client, fake)
