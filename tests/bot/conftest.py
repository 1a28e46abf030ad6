"""Fixtures of the bot's tests."""

from __future__ import annotations

from fakeline import fake_line

__all__ = ["fake_line"]
