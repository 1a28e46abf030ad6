"""``intake knowledge check``: everything an admin must know before publishing an edit.

Per pack: the schema and cross references (``loader``), every message key the dialogs use, every area name
finding exactly one 圏域, every window reachable by some routing, crisis contacts present, and the triage
vocabulary's example sentences triaged as labelled (``triage.Triager.check``). Facts still to be filled
(``todo``) are warnings (:class:`Notice`): printed, never a failure.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from intake.knowledge.loader import (
    AREAS_FILE,
    COMMON,
    MESSAGES_FILE,
    WINDOWS_FILE,
    PackRead,
    list_packs,
    read_pack,
)
from intake.knowledge.problems import KnowledgeError, Notice, errors, unique
from intake.knowledge.schema import Pack
from intake.yamlio import Problem
from triage.types import FIELD_ORDER


def check(knowledge_dir: Path) -> list[Problem]:
    """Every problem in every pack under ``knowledge_dir`` (errors and warnings), each once."""
    if not knowledge_dir.is_dir():
        return [Problem(str(knowledge_dir), 1, "no such knowledge directory")]
    packs = list_packs(knowledge_dir)
    if not packs:
        return [Problem(str(knowledge_dir), 1, "no packs: expected folders with a pack.yaml")]
    problems: list[Problem] = []
    for pack_id in packs:
        problems.extend(check_pack(knowledge_dir, pack_id))
    return unique(problems)


def check_pack(knowledge_dir: Path, pack_id: str, *, triage: bool = True) -> list[Problem]:
    """Every problem of one pack (errors and warnings)."""
    return checked_pack(knowledge_dir, pack_id, triage=triage)[1]


def checked_pack(
    knowledge_dir: Path, pack_id: str, *, triage: bool = True
) -> tuple[Pack | None, list[Problem]]:
    """The pack and every problem of it; the pack is None when any problem is an error."""
    try:
        read = read_pack(knowledge_dir, pack_id)
    except KnowledgeError as exc:
        return None, exc.problems
    pack, problems = read.pack, list(read.problems)
    if pack is not None:
        problems.extend(message_key_problems(knowledge_dir, pack))
        problems.extend(area_problems(read, pack))
        problems.extend(reachability_problems(read, pack))
    if triage:
        problems.extend(triage_problems(knowledge_dir, pack_id))
    problems = unique(problems)
    return (None if errors(problems) else pack), problems


def message_key_problems(knowledge_dir: Path, pack: Pack) -> list[Problem]:
    """Every key the dialogs use has wording (``bot.dialogs.required_message_keys``)."""
    path = knowledge_dir / COMMON / MESSAGES_FILE
    try:
        from bot.dialogs import required_message_keys
    except ImportError:
        return [
            Notice(str(path), 1, "message keys not checked: bot.dialogs.required_message_keys() is missing")
        ]
    missing = sorted(required_message_keys() - set(pack.messages))
    return [
        Problem(
            str(path), 1, f"message key '{key}' is used by the dialogs but has no wording (pack {pack.id})"
        )
        for key in missing
    ]


def area_problems(read: PackRead, pack: Pack) -> list[Problem]:
    """Each name of each area, typed by a resident, finds that area and no other."""
    from routing.route import resolve_area  # lazy: routing imports this package

    path = read.pack_dir / AREAS_FILE
    problems: list[Problem] = []
    for i, area in enumerate(pack.areas):
        line = read.item_line(path, "areas", i)
        for name in area.names:
            found = resolve_area(pack, name)
            if found is None or found.id != area.id:
                other = found.id if found else "no area"
                problems.append(
                    Problem(str(path), line, f"area name '{name}' finds {other}, not '{area.id}'")
                )
    return problems


def reachability_problems(read: PackRead, pack: Pack) -> list[Problem]:
    """Warn about windows no routing ever reaches (no fields, topics or programme link)."""
    from routing.route import route  # lazy: routing imports this package

    reached: set[str] = set()
    areas: list[str | None] = [None, *(a.id for a in pack.areas)]
    topics = [t.id for t in pack.topics]
    cases: list[tuple[tuple[str, ...], str | None, tuple[str, ...]]] = []
    for area in areas:
        for f in FIELD_ORDER:
            cases.append(((f.value,), area, ()))
        cases.append((tuple(f.value for f in FIELD_ORDER[:2]), area, ()))
        for t in topics:
            cases.append(((), area, (t,)))
    for fields, area, wanted in cases:
        d = route(pack, fields, area=area, topics=wanted, consent=True)
        reached.update(w.id for w in itertools.chain(d.windows, d.resources))
    path = read.pack_dir / WINDOWS_FILE
    return [
        Notice(
            str(path),
            read.item_line(path, "windows", i),
            f"window '{w.id}' is never routed to: give it fields or topics, or list it in collaboration.programs",
        )
        for i, w in enumerate(pack.windows)
        if w.id not in reached
    ]


def triage_problems(knowledge_dir: Path, pack_id: str) -> list[Problem]:
    """The triage vocabulary and its example sentences (the regression check admins run before publishing)."""
    try:
        from triage import Triager

        return list(Triager.check(knowledge_dir, pack_id))
    except Exception as exc:  # a broken vocabulary must be reported, not crash the check
        return [
            Problem(
                str(knowledge_dir / COMMON / "triage"), 1, f"triage check failed: {type(exc).__name__}: {exc}"
            )
        ]
