"""The ``intake`` command line. Each group lives in its own module under ``intake/commands/``."""

from __future__ import annotations

import typer

from intake.commands import db_cmd, desk_cmd, knowledge_cmd, triage_cmd

app = typer.Typer(
    name="intake",
    help="福祉総合相談 intake: LINE bot, triage, routing and the staff desk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes (use REDIS_URL when more than one)."),
    migrate: bool = typer.Option(True, help="Apply database migrations before serving."),
) -> None:
    """Serve the webhook, the local web chat and the staff desk."""
    import uvicorn

    from intake import logs
    from intake.migrate import upgrade
    from intake.settings import get_settings

    settings = get_settings()
    logs.configure(settings.intake_log_level)
    if workers > 1 and not settings.redis_url:
        raise typer.BadParameter(
            "several workers need a shared session store: set REDIS_URL", param_hint="--workers"
        )
    if migrate:
        upgrade(settings.database_url)
    uvicorn.run(
        "intake.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
    )


db_cmd.register(app)
triage_cmd.register(app)
knowledge_cmd.register(app)
desk_cmd.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
