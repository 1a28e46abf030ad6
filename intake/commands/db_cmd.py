"""``intake db``: migrations."""

from __future__ import annotations

import typer

db_app = typer.Typer(help="Database: apply migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply Alembic migrations to DATABASE_URL (creates the SQLite file if needed)."""
    from intake.migrate import upgrade
    from intake.settings import get_settings

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def downgrade_cmd(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Revert migrations down to REVISION."""
    from intake.migrate import downgrade
    from intake.settings import get_settings

    downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
