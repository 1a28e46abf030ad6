"""Where a triaged case goes: pure functions of (pack, fields, area, consent, crisis, topics) → decision + reasons.

- one field → that field's window for the resident's area (``needs_area`` when the windows differ by area and no
  area is known); a field nobody serves, or 狭間, → the pack's general window;
- complex (two or more fields) → the 多機関協働 entry first, then each field's window, and the meeting chosen by
  consent: 重層的支援会議 (or its local name) with consent, 支援会議 (守秘義務) without it;
- crisis → urgent, with the crisis contacts for its kinds;
- topics (DV, 少年相談, 妊娠…) → the pack's special windows first, and programmes or places for them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from intake.knowledge.names import find_area
from intake.knowledge.schema import (
    Area,
    Collaboration,
    CrisisContact,
    Meeting,
    MeetingKind,
    Pack,
    Window,
    WindowKind,
)
from triage.types import FIELD_ORDER, CrisisKind, Field

# A crisis of violence happening now goes to the DV window where a pack has one.
_CRISIS_TOPICS = {CrisisKind.VIOLENCE: "dv"}


class RoutingError(ValueError):
    """Bad input (an unknown field, area or topic); the message lists the valid choices."""


class RoutingDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    pack: str
    knowledge_version: str
    fields: list[Field]
    complex: bool
    area: Area | None = None
    windows: list[Window]  # primary first: the ticket goes to ``windows[0]``
    collaboration: Collaboration | None = None  # the 多機関協働 entry (complex cases)
    meeting: Meeting | None = None  # chosen by consent (complex cases)
    urgent: bool = False
    crisis_contacts: list[CrisisContact] = PydField(default_factory=list)
    needs_area: bool = False  # ask the resident's area, then route again
    needs_consent: bool = False  # complex case and consent not asked yet
    topics: list[str] = PydField(default_factory=list)
    resources: list[Window] = PydField(default_factory=list)  # アウトリーチ・参加支援・居場所 to mention
    reasons: list[str] = PydField(default_factory=list)  # plain Japanese: why

    @property
    def primary(self) -> Window:
        return self.windows[0]

    @property
    def related_window_ids(self) -> list[str]:
        return [w.id for w in self.windows[1:]]


def parse_fields(values: Iterable[str | Field]) -> list[Field]:
    """Field values in their canonical order; :class:`RoutingError` names the valid ones."""
    out: set[Field] = set()
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            out.add(Field(text))
        except ValueError:
            valid = ", ".join(f.value for f in FIELD_ORDER)
            raise RoutingError(f"unknown field '{text}'; valid fields: {valid}") from None
    return [f for f in FIELD_ORDER if f in out]


def resolve_area(pack: Pack, text: str) -> Area | None:
    """The 圏域 a resident's words name (「寺井」「寺井町」「てらい」 → 寺井), or None."""
    return find_area(pack.areas, text)


def area_or_error(pack: Pack, text: str) -> Area:
    area = resolve_area(pack, text)
    if area is None:
        if not pack.areas:
            raise RoutingError(f"pack '{pack.id}' defines no areas; leave the area out")
        names = "; ".join(f"{a.id} ({'・'.join(a.names)})" for a in pack.areas)
        raise RoutingError(f"unknown area '{text}'; valid areas: {names}")
    return area


def topics_in(pack: Pack, text: str) -> list[str]:
    """Topics whose keywords appear in ``text`` (NFKC, case-insensitive substring match)."""
    norm = unicodedata.normalize("NFKC", text).lower()
    return [
        t.id
        for t in pack.topics
        if any(unicodedata.normalize("NFKC", k).lower() in norm for k in t.keywords if k)
    ]


def route(
    pack: Pack,
    fields: Sequence[str | Field],
    *,
    area: str | Area | None = None,
    consent: bool | None = None,
    crisis: bool = False,
    crisis_kinds: Sequence[str | CrisisKind] = (),
    topics: Sequence[str] = (),
    ask_area: bool = True,
) -> RoutingDecision:
    """Where this case goes and why. ``ask_area=False``: the resident could not say; never ask again."""
    chosen = parse_fields(fields)
    where = area if isinstance(area, Area) or area is None else area_or_error(pack, area)
    kinds = _crisis_kinds(crisis_kinds)
    wanted = _topics(pack, topics, kinds)
    reasons: list[str] = []
    is_complex = len(chosen) >= 2
    urgent = crisis or bool(kinds)

    windows: list[Window] = []
    needs_area = False
    special = _topic_windows(pack, wanted, where)
    for w in special:
        topic_names = "・".join(t.name for t in pack.topics if t.id in w.topics and t.id in wanted)
        reasons.append(f"{topic_names}の相談は「{w.name}」が受けています。")

    per_field: list[Window] = []
    for f in chosen or [Field.HAZAMA]:
        found, asks, why = _field_windows(pack, f, where, ask_area=ask_area)
        needs_area = needs_area or asks
        reasons.append(why if chosen else "分野がはっきりしないため、総合的に相談を受ける窓口につなぎます。")
        per_field.extend(found if (asks or not is_complex) else found[:1])

    collaboration: Collaboration | None = None
    meeting: Meeting | None = None
    resources: list[Window] = []
    needs_consent = False
    if is_complex:
        collaboration = pack.collaboration
        entry = pack.window(collaboration.window_id)
        windows = [entry, *special, *per_field]
        names = "・".join(f.value for f in chosen)
        reasons.insert(
            0,
            f"{names}の複数の分野にまたがる相談のため、多機関協働の窓口「{entry.name}」が全体を調整し、"
            "各分野の窓口と一緒に支援します。",
        )
        meeting, why, needs_consent = _meeting(collaboration, consent)
        reasons.append(why)
        resources.extend(pack.window(i) for i in collaboration.programs)
    else:
        windows = [*special, *per_field]
    resources.extend(_topic_resources(pack, wanted, where))

    contacts: list[CrisisContact] = []
    if urgent:
        contacts = pack.crisis_contacts_for(kinds)
        reasons.insert(
            0,
            "命や安全にかかわるおそれがあるため、急ぎの相談として窓口に知らせ、すぐに電話できる番号を案内します。",
        )
    if needs_area:
        reasons.append("お住まいの地域で担当の窓口が分かれているため、地域をうかがってから窓口を決めます。")

    return RoutingDecision(
        pack=pack.id,
        knowledge_version=pack.version,
        fields=chosen,
        complex=is_complex,
        area=where,
        windows=_unique(windows),
        collaboration=collaboration,
        meeting=meeting,
        urgent=urgent,
        crisis_contacts=contacts,
        needs_area=needs_area,
        needs_consent=needs_consent,
        topics=wanted,
        resources=_unique(resources),
        reasons=reasons,
    )


def _crisis_kinds(values: Sequence[str | CrisisKind]) -> list[CrisisKind]:
    out: list[CrisisKind] = []
    for value in values:
        try:
            kind = CrisisKind(str(value))
        except ValueError:
            valid = ", ".join(k.value for k in CrisisKind)
            raise RoutingError(f"unknown crisis kind '{value}'; valid kinds: {valid}") from None
        if kind not in out:
            out.append(kind)
    return out


def _topics(pack: Pack, values: Sequence[str], kinds: list[CrisisKind]) -> list[str]:
    known = [t.id for t in pack.topics]
    out: list[str] = []
    for value in values:
        if value not in known:
            raise RoutingError(f"unknown topic '{value}'; valid topics: {', '.join(known) or '(none)'}")
        if value not in out:
            out.append(value)
    for kind in kinds:
        topic = _CRISIS_TOPICS.get(kind)
        if topic in known and topic not in out:
            out.append(topic)
    return out


def _serves_area(w: Window, area: Area | None) -> bool:
    return w.citywide or (area is not None and area.id in w.areas)


def _topic_windows(pack: Pack, topics: list[str], area: Area | None) -> list[Window]:
    """Consultation windows for the topics (a regional one only for its own area)."""
    return [
        w
        for t in topics
        for w in pack.windows
        if w.kind == WindowKind.CONSULTATION and t in w.topics and _serves_area(w, area)
    ]


def _topic_resources(pack: Pack, topics: list[str], area: Area | None) -> list[Window]:
    return [
        w
        for t in topics
        for w in pack.windows
        if w.kind not in (WindowKind.CONSULTATION, WindowKind.COORDINATION)
        and t in w.topics
        and (w.citywide or area is None or area.id in w.areas)
    ]


def _field_windows(
    pack: Pack, field: Field, area: Area | None, *, ask_area: bool
) -> tuple[list[Window], bool, str]:
    """The windows for one field (primary first), whether the area must be asked, and why."""
    general = pack.general_window
    candidates = [w for w in pack.windows if w.kind == WindowKind.CONSULTATION and field in w.fields]
    citywide = [w for w in candidates if w.citywide]
    regional = [w for w in candidates if not w.citywide]
    if field == Field.HAZAMA:
        citywide = [general, *(w for w in citywide if w.id != general.id)]
    if not candidates and field != Field.HAZAMA:
        return (
            [general],
            False,
            f"{_about(field)}の窓口が登録されていないため、総合窓口「{general.name}」につなぎます。",
        )

    if area is not None:
        local = [w for w in regional if area.id in w.areas]
        found = [*local, *citywide]
        if local:
            why = f"{_about(field)}は、{area.name}を担当する「{local[0].name}」が受けます。"
        elif regional and not citywide:
            return (
                [general, *regional],
                False,
                f"{area.name}を担当する{_about(field)}の窓口が登録されていないため、総合窓口「{general.name}」につなぎます。",
            )
        else:
            why = _citywide_reason(field, found[0], general)
        return found, False, why

    if regional and ask_area and len({a for w in regional for a in w.areas}) >= 2:
        return [*citywide, *regional], True, f"{_about(field)}の窓口は地域ごとに分かれています。"
    if regional and not citywide:
        return (
            [general, *regional],
            False,
            f"地域がわからないため、まず総合窓口「{general.name}」で受け、担当の窓口につなぎます。",
        )
    found = [*citywide, *regional]
    return found, False, _citywide_reason(field, found[0], general)


def _citywide_reason(field: Field, window: Window, general: Window) -> str:
    if field == Field.HAZAMA and window.id == general.id:
        return f"{_about(field)}は、総合窓口「{general.name}」が受けます。"
    return f"{_about(field)}は「{window.name}」が受けます。"


_ABOUT = {
    Field.KAIGO: "介護の相談",
    Field.SHOGAI: "障害の相談",
    Field.KODOMO: "子ども・子育ての相談",
    Field.KONKYU: "お金や暮らしの相談",
    Field.HAZAMA: "どの制度にもあてはまりにくい相談（制度の狭間）",
}


def _about(field: Field) -> str:
    return _ABOUT[field]


def _meeting(collaboration: Collaboration, consent: bool | None) -> tuple[Meeting, str, bool]:
    if consent:
        m = collaboration.with_consent
        return m, f"ご本人の同意があるため、関係機関が「{m.name}」で支援の方針を話し合います。", False
    m = collaboration.without_consent
    basis = f"（{m.legal_basis}）" if m.legal_basis else ""
    why = (
        "ご本人の同意が得られていないため" if consent is False else "ご本人の同意をまだ確認できていないため"
    ) + f"、参加者に守秘義務がある「{m.name}」{basis}で情報を共有し、見守りや支援の方針を考えます。"
    return m, why, consent is None


def _unique(windows: Iterable[Window]) -> list[Window]:
    seen: set[str] = set()
    out: list[Window] = []
    for w in windows:
        if w.id not in seen:
            seen.add(w.id)
            out.append(w)
    return out


# --- JSON (``intake route``) -------------------------------------------------------------------------------


def window_json(pack: Pack, w: Window) -> dict[str, Any]:
    area_names = {a.id: a.name for a in pack.areas}
    return {
        "id": w.id,
        "name": w.name,
        "kind": w.kind.value,
        "fields": [f.value for f in w.fields],
        "topics": list(w.topics),
        "serves": w.serves,
        "areas": [area_names.get(a, a) for a in w.areas],
        "phone": w.contact.phone,
        "hours": w.contact.hours,
        "address": w.contact.address,
        "operator": w.operator.value,
        "operated_by": w.operated_by,
        "department": w.department,
        "notes": w.notes,
        "todo": [*w.contact.todo, *w.todo],
    }


def meeting_json(m: Meeting) -> dict[str, Any]:
    return {
        "name": m.name,
        "kind": m.kind.value,
        "confidential": m.confidential,
        "legal_basis": m.legal_basis,
        "organizer": m.organizer,
        "frequency": m.frequency,
        "description": m.description,
    }


def decision_json(pack: Pack, d: RoutingDecision) -> dict[str, Any]:
    """The JSON printed by ``intake route`` (CONTRACT.md)."""
    collaboration: dict[str, Any] | None = None
    if d.collaboration is not None:
        c = d.collaboration
        collaboration = {
            "window": window_json(pack, pack.window(c.window_id)),
            "run_by": c.run_by,
            "operation": c.operation.value,
            "meetings": {
                MeetingKind.WITH_CONSENT.value: meeting_json(c.with_consent),
                MeetingKind.WITHOUT_CONSENT.value: meeting_json(c.without_consent),
            },
            "other_meetings": [meeting_json(m) for m in c.other_meetings],
        }
    return {
        "pack": d.pack,
        "municipality": pack.municipality.name,
        "knowledge_version": d.knowledge_version,
        "fields": [f.value for f in d.fields],
        "complex": d.complex,
        "area": {"id": d.area.id, "name": d.area.name} if d.area else None,
        "urgent": d.urgent,
        "needs_area": d.needs_area,
        "needs_consent": d.needs_consent,
        "topics": d.topics,
        "windows": [window_json(pack, w) for w in d.windows],
        "collaboration": collaboration,
        "meeting": meeting_json(d.meeting) if d.meeting else None,
        "crisis_contacts": [
            {"id": c.id, "name": c.name, "phone": c.phone, "hours": c.hours, "note": c.note}
            for c in d.crisis_contacts
        ],
        "resources": [window_json(pack, w) for w in d.resources],
        "reasons": d.reasons,
    }
