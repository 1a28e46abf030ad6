"""Read one pack's YAML files into a :class:`Pack`, with every problem as ``FILE:LINE: message``.

``build_pack`` returns the pack (or None) and all problems, warnings included; ``load_pack`` raises
:class:`KnowledgeError` when any of them is an error.
"""

from __future__ import annotations

import difflib
import hashlib
import string
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from intake.knowledge.names import name_index, normalize
from intake.knowledge.problems import KnowledgeError, Notice, UnknownPackError, errors
from intake.knowledge.schema import (
    CONTACT_FACTS,
    Area,
    AreasFile,
    CrisisContact,
    CrisisFile,
    Meeting,
    MeetingKind,
    Operation,
    Pack,
    PackFile,
    Topic,
    TopicsFile,
    Window,
    WindowKind,
    WindowsFile,
)
from intake.yamlio import Problem, YamlError, line_of, load, plain
from triage.types import FIELD_ORDER, Field

COMMON = "_common"
PACK_FILE = "pack.yaml"
WINDOWS_FILE = "windows.yaml"
AREAS_FILE = "areas.yaml"
CRISIS_FILE = "crisis.yaml"
TOPICS_FILE = "topics.yaml"
MESSAGES_FILE = "messages.yaml"

M = TypeVar("M", bound=BaseModel)


def list_packs(knowledge_dir: Path) -> list[str]:
    """Pack ids: folders with a ``pack.yaml`` (``_common`` and hidden folders are not packs)."""
    if not knowledge_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in knowledge_dir.iterdir()
        if p.is_dir() and not p.name.startswith(("_", ".")) and (p / PACK_FILE).is_file()
    )


def _content_files(knowledge_dir: Path, pack_id: str) -> Iterator[Path]:
    for root in (knowledge_dir / COMMON, knowledge_dir / pack_id):
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
                if path.is_file() and not hidden and not path.name.endswith(("~", ".swp", ".tmp")):
                    yield path


def content_version(knowledge_dir: Path, pack_id: str) -> str:
    """A short hash of every file the pack is built from (shared files, the pack's, triage vocabulary)."""
    digest = hashlib.sha256()
    for path in _content_files(knowledge_dir, pack_id):
        digest.update(str(path.relative_to(knowledge_dir)).encode())
        digest.update(b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def unknown_pack(knowledge_dir: Path, pack_id: str) -> UnknownPackError:
    valid = list_packs(knowledge_dir)
    choices = ", ".join(valid) if valid else "(none found)"
    message = f"unknown pack '{pack_id}'; valid packs in {knowledge_dir}: {choices}"
    return UnknownPackError(pack_id, valid, Problem(str(knowledge_dir / pack_id), 1, message))


@dataclass
class _Reader:
    """Collects problems while reading files; remembers each file's parsed tree for line numbers."""

    problems: list[Problem] = field(default_factory=list)
    trees: dict[str, Any] = field(default_factory=dict)

    def error(self, path: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(str(path), line, message))

    def warn(self, path: Path | str, line: int, message: str) -> None:
        self.problems.append(Notice(str(path), line, message))

    def tree(self, path: Path, *, required: bool) -> Any:
        if not path.is_file():
            if required:
                self.error(path, 1, "file is missing")
            return None
        try:
            tree = load(path)
        except YamlError as exc:
            self.problems.append(exc.problem)
            return None
        self.trees[str(path)] = tree
        return tree

    def model(self, path: Path, model: type[M], *, required: bool) -> M | None:
        tree = self.tree(path, required=required)
        if tree is None:
            if path.is_file() and not any(p.file == str(path) for p in self.problems):
                self.error(path, 1, "file is empty")
            return None
        if not isinstance(tree, dict):
            self.error(path, line_of(tree), f"expected a mapping with {', '.join(model.model_fields)}")
            return None
        try:
            return model.model_validate(plain(tree))
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                self.error(path, _line_at(tree, loc), _describe(model, loc, err))
            return None


def _line_at(tree: Any, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node of ``loc`` that exists in the file."""
    node, line = tree, line_of(tree)
    for key in loc:
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and key < len(node)
        ):
            line = line_of(node, key, line)
            node = node[key]
        else:
            break
    return line


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of ``loc`` (to list the keys it allows)."""
    current: Any = model
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        if (
            not (isinstance(current, type) and issubclass(current, BaseModel))
            or key not in current.model_fields
        ):
            return None
        current = _inner(current.model_fields[key].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner(annotation: Any) -> Any:
    while typing.get_origin(annotation) in (list, dict, typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[-1] if args else None
    return annotation


def _describe(model: type[BaseModel], loc: tuple[Any, ...], err: Any) -> str:
    where = _where(loc)
    if err["type"] == "extra_forbidden":
        owner = _model_at(model, loc)
        allowed = list(owner.model_fields) if owner else []
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        guess = f" (did you mean '{hint[0]}'?)" if hint else ""
        listing = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key{guess}{listing}"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _flatten_messages(reader: _Reader, path: Path, tree: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if tree is None:
        return out
    if not isinstance(tree, dict):
        reader.error(path, line_of(tree), "expected a mapping of message keys to text")
        return out
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten_messages(reader, path, value, f"{name}."))
        elif isinstance(value, str) and value.strip():
            try:
                list(string.Formatter().parse(value))
            except ValueError as exc:
                reader.error(path, line_of(tree, key), f"{name}: broken placeholder ({exc}); write {{name}}")
                continue
            out[name] = str(value)
        else:
            reader.error(path, line_of(tree, key), f"{name}: message text must be a non-empty string")
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _messages(reader: _Reader, knowledge_dir: Path, pack_dir: Path) -> dict[str, str]:
    common_path = knowledge_dir / COMMON / MESSAGES_FILE
    common = _flatten_messages(reader, common_path, reader.tree(common_path, required=False))
    own_path = pack_dir / MESSAGES_FILE
    own_tree = reader.tree(own_path, required=False)
    own = _flatten_messages(reader, own_path, own_tree)
    for key, text in own.items():
        line = line_of(own_tree, key.split(".")[0])
        if common and key not in common:
            hint = difflib.get_close_matches(key, list(common), n=1)
            guess = f" (did you mean '{hint[0]}'?)" if hint else ""
            reader.error(own_path, line, f"{key}: no such message key in {COMMON}/{MESSAGES_FILE}{guess}")
        elif key in common and not placeholders(text) <= placeholders(common[key]):
            extra = sorted(placeholders(text) - placeholders(common[key]))
            known = sorted(placeholders(common[key])) or ["(none)"]
            reader.error(
                own_path,
                line,
                f"{key}: placeholder(s) {extra} are not filled by the dialog; it fills {known}",
            )
    return {**common, **own}


@dataclass
class PackRead:
    """The result of reading one pack: the pack (None on error), its problems, and each file's parsed tree."""

    pack_dir: Path
    pack: Pack | None
    problems: list[Problem]
    trees: dict[str, Any]

    def item_line(self, path: Path, key: str, index: int) -> int:
        """The line of item ``index`` of the list under ``key`` in ``path`` (1 when unknown)."""
        tree = self.trees.get(str(path))
        return _item_line(tree.get(key), index) if isinstance(tree, dict) and key in tree else 1


def build_pack(knowledge_dir: Path, pack_id: str) -> tuple[Pack | None, list[Problem]]:
    """The pack and every problem found (errors and warnings); the pack is None when there is an error."""
    read = read_pack(knowledge_dir, pack_id)
    return read.pack, read.problems


def read_pack(knowledge_dir: Path, pack_id: str) -> PackRead:
    """Read, validate and cross-check one pack; :class:`UnknownPackError` when there is no such pack."""
    if pack_id not in list_packs(knowledge_dir):
        raise unknown_pack(knowledge_dir, pack_id)
    pack_dir = knowledge_dir / pack_id
    r = _Reader()
    pack_path, windows_path, areas_path = pack_dir / PACK_FILE, pack_dir / WINDOWS_FILE, pack_dir / AREAS_FILE
    common_crisis_path = knowledge_dir / COMMON / CRISIS_FILE
    own_crisis_path = pack_dir / CRISIS_FILE
    topics_path = knowledge_dir / COMMON / TOPICS_FILE

    pack_file = r.model(pack_path, PackFile, required=True)
    windows_file = r.model(windows_path, WindowsFile, required=True)
    areas_file = r.model(areas_path, AreasFile, required=False)
    common_crisis = r.model(common_crisis_path, CrisisFile, required=True)
    own_crisis = r.model(own_crisis_path, CrisisFile, required=False)
    topics_file = r.model(topics_path, TopicsFile, required=False)
    messages = _messages(r, knowledge_dir, pack_dir)

    if pack_file is None or windows_file is None or common_crisis is None:
        return PackRead(pack_dir, None, r.problems, r.trees)

    windows = windows_file.windows
    areas = areas_file.areas if areas_file else []
    topics = topics_file.topics if topics_file else []
    crisis = [*common_crisis.crisis_contacts, *(own_crisis.crisis_contacts if own_crisis else [])]
    trees = r.trees
    pack_tree, windows_tree = trees[str(pack_path)], trees[str(windows_path)]

    _check_ids(r, windows_path, windows_tree.get("windows"), [w.id for w in windows], "window")
    if areas_file is not None:
        _check_ids(r, areas_path, trees[str(areas_path)].get("areas"), [a.id for a in areas], "area")
        _check_area_names(r, areas_path, trees[str(areas_path)].get("areas"), areas)
    if topics_file is not None:
        _check_ids(r, topics_path, trees[str(topics_path)].get("topics"), [t.id for t in topics], "topic")
    crisis_sources = [(common_crisis_path, common_crisis.crisis_contacts)]
    if own_crisis is not None:
        crisis_sources.append((own_crisis_path, own_crisis.crisis_contacts))
    _check_crisis(r, crisis_sources, trees)
    _check_windows(r, windows_path, windows_tree.get("windows"), windows, areas, topics)
    _check_municipality(r, pack_path, pack_tree, pack_file, pack_id, windows)
    _check_coverage(r, windows_path, windows, pack_file)

    if errors(r.problems):
        return PackRead(pack_dir, None, r.problems, r.trees)
    pack = Pack(
        municipality=pack_file.municipality,
        windows=windows,
        areas=areas,
        crisis_contacts=crisis,
        messages=messages,
        topics=topics,
        version=content_version(knowledge_dir, pack_id),
    )
    return PackRead(pack_dir, pack, r.problems, r.trees)


def load_pack(knowledge_dir: Path, pack_id: str) -> Pack:
    """The validated pack; :class:`KnowledgeError` lists every error (warnings do not stop loading)."""
    pack, problems = build_pack(knowledge_dir, pack_id)
    if pack is None:
        raise KnowledgeError(errors(problems))
    return pack


def _item_line(seq: Any, index: int, key: str | None = None) -> int:
    if isinstance(seq, list) and index < len(seq):
        item = seq[index]
        if key is not None and isinstance(item, dict) and key in item:
            return line_of(item, key)
        return line_of(seq, index)
    return line_of(seq)


def _check_ids(r: _Reader, path: Path, seq: Any, ids: list[str], what: str) -> None:
    first: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        line = _item_line(seq, i, "id")
        if item_id in first:
            r.error(path, line, f"duplicate {what} id '{item_id}' (first on line {first[item_id]})")
        else:
            first[item_id] = line


def _check_area_names(r: _Reader, path: Path, seq: Any, areas: list[Area]) -> None:
    index = name_index(areas)
    for i, area in enumerate(areas):
        for name in area.names:
            owners = index.get(normalize(name), [])
            if len(owners) > 1 and owners[0] != area.id:
                r.error(
                    path,
                    _item_line(seq, i, "aliases" if name in area.aliases else "name"),
                    f"area name '{name}' names several areas: {', '.join(owners)}; a name must find one 圏域",
                )


def _check_crisis(r: _Reader, sources: list[tuple[Path, list[CrisisContact]]], trees: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for path, contacts in sources:
        seq = trees[str(path)].get("crisis_contacts")
        for i, contact in enumerate(contacts):
            if contact.id in seen:
                r.error(
                    path,
                    _item_line(seq, i, "id"),
                    f"duplicate crisis contact id '{contact.id}' ({seen[contact.id]})",
                )
            seen[contact.id] = str(path)
    if not seen:
        path = sources[0][0]
        r.error(path, 1, "no crisis contacts: residents in danger must always get a number to call")


def _check_windows(
    r: _Reader, path: Path, seq: Any, windows: list[Window], areas: list[Area], topics: list[Topic]
) -> None:
    area_ids = [a.id for a in areas]
    topic_ids = [t.id for t in topics]
    for i, w in enumerate(windows):
        for area_id in w.areas:
            if area_id not in area_ids:
                choices = ", ".join(area_ids) or "(areas.yaml defines none)"
                r.error(
                    path,
                    _item_line(seq, i, "areas"),
                    f"window '{w.id}': unknown area '{area_id}'; areas: {choices}",
                )
        for topic in w.topics:
            if topic not in topic_ids:
                choices = ", ".join(topic_ids) or "(topics.yaml defines none)"
                r.error(
                    path,
                    _item_line(seq, i, "topics"),
                    f"window '{w.id}': unknown topic '{topic}'; topics: {choices}",
                )
        if w.kind == WindowKind.CONSULTATION and not w.fields and not w.topics:
            r.error(
                path, _item_line(seq, i), f"window '{w.id}': a consultation window needs fields or topics"
            )
        _check_gaps(r, path, _item_line(seq, i, "contact"), w)


def _check_gaps(r: _Reader, path: Path, line: int, w: Window) -> None:
    """Empty contact facts must be listed under ``todo`` (and filled ones must not): gaps are warnings."""
    for fact in CONTACT_FACTS:
        value = getattr(w.contact, fact)
        listed = fact in w.contact.todo
        if value and listed:
            r.error(path, line, f"window '{w.id}': {fact} is filled but still listed in contact.todo")
        elif not value and not listed and w.kind != WindowKind.PLACE:
            r.error(
                path,
                line,
                f"window '{w.id}': {fact} is empty; fill it in or list it under contact.todo (要確認)",
            )
    if w.operator == Operation.UNKNOWN and "operator" not in w.todo:
        r.error(path, line, f"window '{w.id}': operator is 要確認; list operator under todo")
    if w.operator == Operation.CONTRACTED and not w.operated_by and "operated_by" not in w.todo:
        r.error(
            path, line, f"window '{w.id}': 委託 but operated_by is empty; fill it in or list it under todo"
        )
    missing = [*w.contact.todo, *w.todo]
    if missing:
        r.warn(
            path, line, f"window '{w.id}' ({w.name}): to be filled by the municipality: {', '.join(missing)}"
        )


def _meeting_slots(pack_file: PackFile) -> Iterable[tuple[str, Meeting, MeetingKind | None]]:
    c = pack_file.municipality.collaboration
    yield "with_consent", c.with_consent, MeetingKind.WITH_CONSENT
    yield "without_consent", c.without_consent, MeetingKind.WITHOUT_CONSENT
    for m in c.other_meetings:
        yield "other_meetings", m, None


def _check_municipality(
    r: _Reader, path: Path, tree: Any, pack_file: PackFile, pack_id: str, windows: list[Window]
) -> None:
    m = pack_file.municipality
    mtree = tree.get("municipality")
    ctree = mtree.get("collaboration") if isinstance(mtree, dict) else None
    by_id = {w.id: w for w in windows}
    ids = ", ".join(by_id)
    if m.id != pack_id:
        r.error(path, line_of(mtree, "id"), f"municipality.id '{m.id}' must be the folder name '{pack_id}'")
    general = by_id.get(m.general_window_id)
    if general is None:
        r.error(
            path,
            line_of(mtree, "general_window_id"),
            f"general_window_id '{m.general_window_id}' is no window; windows: {ids}",
        )
    elif general.kind != WindowKind.CONSULTATION or not general.citywide:
        r.error(
            path,
            line_of(mtree, "general_window_id"),
            f"general window '{general.id}' must be a consultation window for the whole municipality (no areas)",
        )
    c = m.collaboration
    entry = by_id.get(c.window_id)
    if entry is None:
        r.error(
            path,
            line_of(ctree, "window_id"),
            f"collaboration.window_id '{c.window_id}' is no window; windows: {ids}",
        )
    elif entry.kind == WindowKind.PLACE:
        r.error(
            path,
            line_of(ctree, "window_id"),
            f"collaboration.window_id '{c.window_id}' is a place, not a window that takes cases",
        )
    for program in c.programs:
        if program not in by_id:
            r.error(
                path,
                line_of(ctree, "programs"),
                f"collaboration.programs: '{program}' is no window; windows: {ids}",
            )
    for slot, meeting, expected in _meeting_slots(pack_file):
        line = line_of(ctree, slot)
        if expected is not None and meeting.kind != expected:
            r.error(path, line, f"collaboration.{slot}: kind must be '{expected}', not '{meeting.kind}'")
        if expected is None and meeting.kind != MeetingKind.OTHER:
            r.error(path, line, f"collaboration.other_meetings: '{meeting.name}' must have kind 'other'")
    if not c.without_consent.confidential:
        r.error(
            path,
            line_of(ctree, "without_consent"),
            "collaboration.without_consent: the meeting held without consent (支援会議, 社会福祉法106条の6) "
            "binds its members to confidentiality: set confidential: true",
        )
    todo = [*m.todo, *c.todo, *c.with_consent.todo, *c.without_consent.todo]
    if todo:
        r.warn(
            path,
            line_of(mtree),
            f"municipality {m.name}: to be filled by the municipality: {', '.join(todo)}",
        )


def _check_coverage(r: _Reader, path: Path, windows: list[Window], pack_file: PackFile) -> None:
    """Every field has a consultation window (狭間 at least the general window)."""
    for f in FIELD_ORDER:
        served = any(f in w.fields and w.kind == WindowKind.CONSULTATION for w in windows)
        if not served and not (f == Field.HAZAMA and pack_file.municipality.general_window_id):
            r.error(
                path,
                1,
                f"no consultation window serves the field {f.value}: add '{f.value}' to a window's fields",
            )
