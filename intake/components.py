"""Where the app factory finds the parts other packages own: their start-up, shutdown and HTTP routers.

Each part adds its own lines here (one import and one call), so ``intake/app.py`` stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from intake.app import Resources


async def start(res: Resources) -> None:
    # Knowledge pack (intake.knowledge): loaded and validated before anything is served.
    from intake.knowledge.holder import start_knowledge

    await start_knowledge(res)
    # LINE client (bot.line): created inside the running loop.
    from bot.setup import start_bot

    await start_bot(res)
    # Outbox worker (routing.outbox): pushes staff replies with retry.
    from routing.outbox import run_worker

    res.spawn(run_worker(res), name="outbox")


async def stop(res: Resources) -> None:
    from intake.knowledge.holder import stop_knowledge

    await stop_knowledge(res)
    from bot.setup import stop_bot

    await stop_bot(res)
    return None


def routers() -> list[APIRouter]:
    from bot.webchat import router as webchat_router
    from bot.webhook import router as line_router
    from intake.api.router import router as api_router
    from intake.desk.router import router as desk_router

    return [desk_router, api_router, line_router, webchat_router]
