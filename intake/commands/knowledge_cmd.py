"""``intake route`` and ``intake knowledge`` (owned by the knowledge part)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

knowledge_app = typer.Typer(help="Knowledge packs: check before publishing.", no_args_is_help=True)


def _default_dir(directory: str | None) -> Path:
    if directory:
        return Path(directory)
    from intake.settings import get_settings

    return get_settings().knowledge_dir()


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@knowledge_app.command("check")
def check_cmd(
    directory: str = typer.Argument(None, help="Knowledge directory (default: INTAKE_KNOWLEDGE_DIR)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print errors only, not warnings."),
) -> None:
    """Validate knowledge files; prints FILE:LINE: message for each problem. Exit 0 when there is no error."""
    from intake.knowledge import check, is_error, list_packs

    path = _default_dir(directory)
    problems = check(path)
    failed = [p for p in problems if is_error(p)]
    for p in problems:
        if is_error(p) or not quiet:
            typer.echo(str(p))
    warnings = len(problems) - len(failed)
    packs = list_packs(path)
    summary = f"{len(packs)} pack(s) ({', '.join(packs)}): {len(failed)} error(s), {warnings} warning(s)"
    typer.echo(summary, err=True)
    if failed:
        raise typer.Exit(1)


@knowledge_app.command("packs")
def packs_cmd(directory: str = typer.Argument(None, help="Knowledge directory.")) -> None:
    """List the packs and the version (content hash) each would publish."""
    from intake.knowledge import content_version, list_packs

    path = _default_dir(directory)
    for pack_id in list_packs(path):
        typer.echo(f"{pack_id}\t{content_version(path, pack_id)}")


def register(app: typer.Typer) -> None:
    app.add_typer(knowledge_app, name="knowledge")

    @app.command("route")
    def route_cmd(
        pack: str = typer.Option(
            ..., "--pack", help="Knowledge pack id (nomi, chuo, iizuka, daisen, yuzawa, demo…)."
        ),
        fields: str = typer.Option(
            ..., "--fields", help="Comma-separated fields: 介護,障害,子ども,困窮,狭間."
        ),
        area: str = typer.Option(
            None, "--area", help="The resident's area: an id or a name (寺井, てらい…)."
        ),
        consent: str = typer.Option(
            None, "--consent", help="yes|no: consent to share with related agencies."
        ),
        crisis: list[str] = typer.Option(
            [], "--crisis", help="Crisis kind (suicide, abuse, violence, no_food, medical); repeatable."
        ),
        topic: list[str] = typer.Option(
            [], "--topic", help="Special topic id (dv, youth, pregnancy…); repeatable."
        ),
        knowledge_dir: str = typer.Option(None, "--knowledge-dir", help="Default: INTAKE_KNOWLEDGE_DIR."),
    ) -> None:
        """Where a case goes, as JSON: windows, and for a complex case the 多機関協働 entry and the meeting."""
        from intake.knowledge import KnowledgeError, UnknownPackError, load_pack
        from routing.route import RoutingError, decision_json, parse_fields, route

        consent_value: bool | None = None
        if consent is not None:
            answer = consent.strip().lower()
            if answer not in ("yes", "no"):
                raise _fail(f"--consent must be yes or no, not '{consent}'")
            consent_value = answer == "yes"
        directory = _default_dir(knowledge_dir)
        try:
            loaded = load_pack(directory, pack)
        except UnknownPackError as exc:
            raise _fail(str(exc.problems[0].message)) from None
        except KnowledgeError as exc:
            for p in exc.problems:
                typer.echo(str(p), err=True)
            raise _fail(f"pack '{pack}' has errors; run: intake knowledge check", 1) from None
        try:
            chosen = parse_fields(fields.replace("、", ",").split(","))
            if not chosen:
                raise RoutingError("no field given; valid fields: 介護, 障害, 子ども, 困窮, 狭間")
            decision = route(
                loaded,
                chosen,
                area=area,
                consent=consent_value,
                crisis=bool(crisis),
                crisis_kinds=crisis,
                topics=topic,
            )
        except RoutingError as exc:
            raise _fail(str(exc)) from None
        typer.echo(json.dumps(decision_json(loaded, decision), ensure_ascii=False, indent=2))
