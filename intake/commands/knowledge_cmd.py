"""``intake route`` and ``intake knowledge`` (owned by the knowledge part)."""

from __future__ import annotations

import typer

knowledge_app = typer.Typer(help="Knowledge packs: check before publishing.", no_args_is_help=True)


@knowledge_app.command("check")
def check_cmd(directory: str = typer.Argument("knowledge", help="Knowledge directory.")) -> None:
    """Validate knowledge files; prints FILE:LINE: message for each problem."""
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.add_typer(knowledge_app, name="knowledge")

    @app.command("route")
    def route_cmd(pack: str = typer.Option(..., "--pack")) -> None:
        """Where a case goes: windows, 多機関協働 entry and meeting."""
        raise typer.Exit(2)
