"""Start-up and shutdown of the bot's part (called from ``intake.components``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.dialogs import validate_all

if TYPE_CHECKING:
    from intake.app import Resources

log = logging.getLogger("bot")


async def start_bot(res: Resources) -> None:
    """Validate the dialogs (and their wording when a pack is loaded); create the LINE client in this loop."""
    current = getattr(res.knowledge, "current", None) if res.knowledge is not None else None
    validate_all(current.pack.messages if current is not None else None)
    if res.settings.line_enabled and res.line is None:
        from bot.line import LineGateway

        res.line = LineGateway(res.settings)
    log.info("bot ready", extra={"ctx": {"line": res.line is not None}})


async def stop_bot(res: Resources) -> None:
    line = res.line
    res.line = None
    if line is not None and hasattr(line, "close"):
        await line.close()
