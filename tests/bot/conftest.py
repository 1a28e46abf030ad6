"""Fixtures of the bot's tests: the fake LINE API, a small knowledge pack, and the app wired to both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botharness import Bot, bot_settings, start_bot
from fakeline import FakeLine, fake_line
from knowledge_fixture import test_knowledge

from bot.engine import Knowledge

__all__ = ["fake_line"]


@pytest.fixture
def knowledge() -> Knowledge:
    return test_knowledge()


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
async def bot(request: pytest.FixtureRequest, tmp_path: Path, fake_line: FakeLine) -> AsyncIterator[Bot]:
    """The app on the fake LINE API, with the embedded session store and with a real redis-server."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async for b in start_bot(bot_settings(tmp_path, fake_line, redis_url=redis_url), fake_line):
        yield b
