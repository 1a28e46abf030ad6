"""The app as a separate process for the bot's tests and benchmark, with the bot's test pack.

``uvicorn --factory testapp:make_app`` (with ``tests`` and ``tests/bot`` on ``PYTHONPATH``); every setting comes
from the environment, as in production.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from intake.app import create_app
from intake.settings import Settings


def make_app() -> FastAPI:
    from knowledge_fixture import test_holder

    import intake.knowledge.holder as holder

    async def start_knowledge(res: Any) -> None:
        res.knowledge = test_holder()

    holder.start_knowledge = start_knowledge  # type: ignore[assignment]
    return create_app(Settings())
