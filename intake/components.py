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
    # LINE client (bot.line): created inside the running loop.
    # Outbox worker (routing.outbox): pushes staff replies with retry.
    return None


async def stop(res: Resources) -> None:
    return None


def routers() -> list[APIRouter]:
    return []
