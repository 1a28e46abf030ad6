"""The desk tests' fixtures live in ``deskharness.py``; importing them here registers them with pytest."""

from deskharness import desk, fake_line, line_desk, pack, settings

__all__ = ["desk", "fake_line", "line_desk", "pack", "settings"]
