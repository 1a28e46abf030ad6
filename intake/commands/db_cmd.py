"""``intake db``: migrations and the retention period (相談記録の保存期間)."""

from __future__ import annotations

import json
import logging

import typer

db_app = typer.Typer(help="Database: migrations and the retention period.", no_args_is_help=True)
log = logging.getLogger("intake.db")


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


@db_app.command("current")
def current_cmd() -> None:
    """Print the revision the database is at (empty before the first upgrade)."""
    from intake.migrate import current
    from intake.settings import get_settings

    typer.echo(current(get_settings().database_url) or "")


@db_app.command("purge")
def purge_cmd(
    days: int | None = typer.Option(
        None, "--days", min=1, help="Retention in days (default: INTAKE_RETENTION_DAYS, 1825)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as one JSON object."),
) -> None:
    """Remove transcripts, notes and resident links of consultations closed (終結) more than DAYS ago.

    The anonymous tickets (fields, window, status, dates) stay for the 評価指標.
    """
    from intake import logs
    from intake.db import make_engine, make_sessionmaker, session_scope
    from intake.retention import purge
    from intake.settings import get_settings

    settings = get_settings()
    logs.configure(settings.intake_log_level)
    days = days if days is not None else settings.intake_retention_days
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            report = purge(session, days=days, dry_run=dry_run)
    finally:
        engine.dispose()
    counts = report.as_dict()
    log.info("retention purge", extra={"ctx": counts})
    if as_json:
        typer.echo(json.dumps(counts, ensure_ascii=False))
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(
        f"{verb}: {report.messages} messages, {report.notes} notes, {report.outbox} queued pushes, "
        f"{report.conversations} conversations, {report.residents} residents; "
        f"{report.tickets} tickets closed before {report.cutoff:%Y-%m-%d} kept anonymous"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
