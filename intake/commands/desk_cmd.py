"""``intake tickets`` and ``intake staff`` (owned by the staff-desk part)."""

from __future__ import annotations

import typer

tickets_app = typer.Typer(help="Tickets in the database.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts of the desk.", no_args_is_help=True)


@tickets_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Tickets, newest first."""
    raise typer.Exit(2)


@staff_app.command("add")
def add_cmd(login: str = typer.Option(..., "--login")) -> None:
    """Add a staff account."""
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.add_typer(tickets_app, name="tickets")
    app.add_typer(staff_app, name="staff")
