"""``intake triage`` and ``intake eval`` (owned by the triage part)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("triage")
    def triage_cmd(pack: str = typer.Option(None, "--pack", help="Knowledge pack id.")) -> None:
        """Triage messages from stdin (one per line, text or JSON with "text"); one JSON object per line out."""
        raise typer.Exit(2)

    @app.command("eval")
    def eval_cmd(file: str = typer.Argument(..., help="Labelled JSONL file.")) -> None:
        """Triage metrics on a labelled file."""
        raise typer.Exit(2)
