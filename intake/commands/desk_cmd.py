"""``intake tickets`` and ``intake staff`` (owned by the staff-desk part).

- ``intake tickets list [--json]``: tickets, newest first; ``--json`` prints one object per line with the fields,
  the complex flag, the window and the status (never the consultation's text or who the resident is).
- ``intake staff add --login L --password P --window W [--window W2] [--role staff|coordinator|admin]``: W is a
  window id of the pack; an unknown one is refused with the list of valid ids.
- ``intake staff token --login L``: a new API token for ``/api/v1`` (shown once).
- ``intake staff list``: accounts, their role and windows.
"""

from __future__ import annotations

import json
from typing import Any

import typer

tickets_app = typer.Typer(help="Tickets in the database.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts of the desk.", no_args_is_help=True)


def _sessions() -> Any:
    from intake.db import make_engine, make_sessionmaker
    from intake.migrate import upgrade
    from intake.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url)
    return make_sessionmaker(make_engine(settings.database_url))


def _iso(value: Any) -> str | None:
    from routing.desk import aware

    return aware(value).isoformat() if value is not None else None


@tickets_app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    limit: int = typer.Option(200, min=1, help="At most this many tickets."),
    window: str | None = typer.Option(None, help="Only this window's tickets."),
) -> None:
    """Tickets, newest first."""
    from sqlalchemy import select

    from intake.db import session_scope
    from routing import audit
    from routing.models import StaffUser, Ticket

    sessions = _sessions()
    with session_scope(sessions) as session:
        query = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
        if window:
            query = query.where(Ticket.window_id == window)
        tickets = list(session.scalars(query))
        logins = {
            s.id: s.login
            for s in session.scalars(
                select(StaffUser).where(StaffUser.id.in_({t.assignee_id for t in tickets if t.assignee_id}))
            )
        }
        audit.record(
            session, action="cli_tickets_list", staff_id=None, login="cli", detail={"count": len(tickets)}
        )
        rows: list[dict[str, Any]] = [
            {
                "number": t.number,
                "created_at": _iso(t.created_at),
                "window": t.window_id,
                "status": t.status.value,
                "urgency": t.urgency.value,
                "fields": list(t.fields or []),
                "complex": t.complex,
                "crisis": t.crisis,
                "consent": t.consent,
                "area": t.area,
                "meeting_kind": t.meeting_kind.value if t.meeting_kind else None,
                "assignee": logins.get(t.assignee_id) if t.assignee_id else None,
                "pack": t.pack,
                "knowledge_version": t.knowledge_version,
            }
            for t in tickets
        ]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        typer.echo("チケットはありません。")
        return
    for row in rows:
        flags = ("緊急 " if row["urgency"] == "urgent" else "") + ("複合 " if row["complex"] else "")
        typer.echo(
            f"{row['number']}\t{row['created_at']}\t{row['window']}\t{row['status']}\t"
            f"{flags}{'・'.join(str(f) for f in row['fields'] or []) or '-'}"
        )


def _valid_windows(pack_id: str) -> list[str]:
    from intake.knowledge import KnowledgeError, load_pack
    from intake.settings import get_settings

    try:
        pack = load_pack(get_settings().knowledge_dir(), pack_id)
    except KnowledgeError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"knowledge pack {pack_id!r} could not be loaded", err=True)
        raise typer.Exit(1) from None
    return [w.id for w in pack.windows]


@staff_app.command("add")
def add_cmd(
    login: str = typer.Option(..., "--login", help="Login id (letters, digits, . _ @ -)."),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 10 characters.",
    ),
    window: list[str] = typer.Option(..., "--window", help="Window id in the pack (repeat for several)."),
    role: str = typer.Option("staff", "--role", help="staff, coordinator or admin."),
    name: str | None = typer.Option(None, "--name", help="Display name on the desk."),
    pack: str | None = typer.Option(None, "--pack", help="Pack id (default: INTAKE_PACK)."),
) -> None:
    """Add a staff account for one or more windows of the pack; the desk's login page is /staff/login."""
    from intake.db import session_scope
    from intake.desk.accounts import AccountError, create_staff
    from intake.settings import get_settings
    from routing.models import Role

    try:
        staff_role = Role(role)
    except ValueError:
        typer.echo(f"unknown role {role!r}; choose staff, coordinator or admin", err=True)
        raise typer.Exit(2) from None
    pack_id = pack or get_settings().intake_pack
    valid = _valid_windows(pack_id)
    unknown = [w for w in window if w not in valid]
    if unknown:
        typer.echo(
            f"unknown window {', '.join(unknown)} in pack {pack_id!r}; valid window ids: {', '.join(valid)}",
            err=True,
        )
        raise typer.Exit(2)
    sessions = _sessions()
    try:
        with session_scope(sessions) as session:
            staff = create_staff(
                session,
                login=login,
                password=password,
                window_ids=window,
                valid_windows=valid,
                pack=pack_id,
                role=staff_role,
                display_name=name,
            )
            staff_id = staff.id
    except AccountError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"staff {login} (id {staff_id}, {staff_role.value}) for {', '.join(window)}; log in at /staff/login"
    )


@staff_app.command("token")
def token_cmd(
    login: str = typer.Option(..., "--login", help="The staff account the token acts as."),
    label: str | None = typer.Option(None, "--label", help="What the token is for."),
) -> None:
    """Issue an API token for /api/v1 (printed once; only its hash is stored)."""
    from sqlalchemy import select

    from intake.db import session_scope
    from intake.desk.accounts import issue_token
    from routing.models import StaffUser

    sessions = _sessions()
    with session_scope(sessions) as session:
        staff = session.scalars(select(StaffUser).where(StaffUser.login == login)).one_or_none()
        if staff is None or not staff.active:
            typer.echo(f"no active staff account {login!r}", err=True)
            raise typer.Exit(2)
        raw = issue_token(session, staff_id=staff.id, label=label)
    typer.echo(raw)


@staff_app.command("list")
def staff_list_cmd() -> None:
    """Staff accounts with their role and windows."""
    from sqlalchemy import select

    from intake.db import session_scope
    from routing.models import StaffUser

    sessions = _sessions()
    with session_scope(sessions) as session:
        for s in session.scalars(select(StaffUser).order_by(StaffUser.login)):
            state = "" if s.active else "\t(inactive)"
            typer.echo(f"{s.login}\t{s.role.value}\t{','.join(s.window_ids)}{state}")


def register(app: typer.Typer) -> None:
    app.add_typer(tickets_app, name="tickets")
    app.add_typer(staff_app, name="staff")
