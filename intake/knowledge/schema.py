"""The shape of a knowledge pack (validated on load; every error reported as ``FILE:LINE: message``).

Other packages read a loaded :class:`Pack`; only ``intake.knowledge`` reads the YAML.

Files of one pack (``knowledge/<pack>/``), each validated by the model named here:

- ``pack.yaml``: :class:`PackFile` (the municipality, its 多機関協働 entry and meetings)
- ``windows.yaml``: ``windows:`` a list of :class:`Window`
- ``areas.yaml`` (optional): ``areas:`` a list of :class:`Area`
- ``crisis.yaml`` (optional): ``crisis_contacts:`` the city's own :class:`CrisisContact` lines
- ``messages.yaml`` (optional): dialog wording overriding ``_common/messages.yaml``

Shared by every pack (``knowledge/_common/``): ``crisis.yaml`` (national lines) and ``topics.yaml``.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import Field as PydField

from triage.types import CrisisKind, Field

# Contact facts that may be missing from a source document; ``todo`` lists which ones are still to be filled.
CONTACT_FACTS = ("phone", "hours", "address")
WINDOW_FACTS = ("operator", "operated_by", "areas", "serves", "department")


class Operation(enum.StrEnum):
    DIRECT = "直営"
    CONTRACTED = "委託"
    MIXED = "直営・委託"  # part run by the city, part contracted (能美市の多機関協働)
    SUBSIDY = "補助"  # 団体への補助
    UNKNOWN = "要確認"  # the source document does not say: list ``operator`` under ``todo``


class WindowKind(enum.StrEnum):
    """What a window is for. Only ``consultation`` windows are routed to by field."""

    CONSULTATION = "consultation"  # 相談窓口: tickets go here
    COORDINATION = "coordination"  # 多機関協働: complex cases only, never routed to by a single field
    OUTREACH = "outreach"  # アウトリーチ等を通じた継続的支援
    PARTICIPATION = "participation"  # 参加支援
    PLACE = "place"  # 地域づくり: 居場所, 通いの場, 拠点 (shown, never sent a ticket)


class MeetingKind(enum.StrEnum):
    WITH_CONSENT = "with_consent"  # 重層的支援会議 (本人同意あり)
    WITHOUT_CONSENT = "without_consent"  # 支援会議 (社会福祉法106条の6, 守秘義務, 本人同意なし)
    OTHER = "other"  # network, screening or planning bodies (包括的相談支援機関会議, 協議体…)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class Contact(Strict):
    phone: str = ""  # empty: not in the source document; ``todo`` says so
    hours: str = ""
    address: str = ""
    todo: list[str] = PydField(default_factory=list)  # facts to be filled by the municipality (要確認)

    @field_validator("todo")
    @classmethod
    def _known_facts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in CONTACT_FACTS]
        if unknown:
            raise ValueError(f"unknown todo item(s) {unknown}; choose from {list(CONTACT_FACTS)}")
        return value


class Notify(Strict):
    """Where the staff desk sends a window's new-ticket notice (never the consultation's text); empty = none."""

    line_group_id: str = ""  # a LINE group of the window's staff (the bot must be a member)
    webhook_url: str = ""  # an endpoint of the city's own chat tool (POST, JSON)


class Window(Strict):
    """A 相談窓口 (or, by ``kind``, an outreach / 参加支援 programme or a place): where a routed ticket goes."""

    id: str
    name: str
    fields: list[Field] = PydField(default_factory=list)
    kind: WindowKind = WindowKind.CONSULTATION
    serves: str = ""  # 対象 (ages, who)
    areas: list[str] = PydField(default_factory=list)  # 圏域 ids; empty = the whole municipality
    topics: list[str] = PydField(default_factory=list)  # special topics (ids in topics.yaml): dv, youth…
    contact: Contact = Contact()
    operator: Operation = Operation.DIRECT
    operated_by: str = ""  # 委託先
    department: str = ""  # 所管課・担当課
    notes: str = ""
    source: str = ""  # where in the seed document this window is named
    todo: list[str] = PydField(default_factory=list)  # other facts to be filled (operated_by, areas…)
    notify: Notify = Notify()  # the staff desk's new-ticket notice

    _id = field_validator("id", "name")(_non_blank)

    @field_validator("todo")
    @classmethod
    def _known_facts(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in WINDOW_FACTS]
        if unknown:
            raise ValueError(f"unknown todo item(s) {unknown}; choose from {list(WINDOW_FACTS)}")
        return value

    @property
    def citywide(self) -> bool:
        return not self.areas


class Area(Strict):
    """A 日常生活圏域 (or 地区) and the names residents use for it."""

    id: str
    name: str
    aliases: list[str] = PydField(default_factory=list)  # 町名, readings, 「寺井町」「てらい」…
    notes: str = ""
    source: str = ""

    _id = field_validator("id", "name")(_non_blank)

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


class Meeting(Strict):
    name: str  # the city's own name
    kind: MeetingKind  # with_consent (重層的支援会議) / without_consent (支援会議) / other
    description: str = ""
    legal_basis: str = ""
    organizer: str = ""  # 主催
    frequency: str = ""  # 開催 (月1回, 随時…)
    confidential: bool = False  # 構成員に守秘義務 (社会福祉法106条の6)
    members: list[str] = PydField(default_factory=list)
    source: str = ""
    todo: list[str] = PydField(default_factory=list)

    _name = field_validator("name")(_non_blank)


class Collaboration(Strict):
    """The 多機関協働 entry: who takes complex cases."""

    window_id: str
    run_by: str = ""
    operation: Operation = Operation.DIRECT
    with_consent: Meeting
    without_consent: Meeting
    other_meetings: list[Meeting] = PydField(default_factory=list)
    # アウトリーチ・参加支援 programmes (window ids) a plan made in the meeting may use.
    programs: list[str] = PydField(default_factory=list)
    notes: str = ""
    source: str = ""
    todo: list[str] = PydField(default_factory=list)


class CrisisContact(Strict):
    id: str
    name: str
    phone: str
    hours: str = ""
    kinds: list[CrisisKind] = PydField(default_factory=list)  # what it is for; empty = any crisis
    note: str = ""
    source: str = ""

    _id = field_validator("id", "name", "phone")(_non_blank)


class Topic(Strict):
    """A special need that has its own windows where a pack has them (DV, 少年相談, 妊娠…)."""

    id: str
    name: str
    # Words that show the topic in a resident's message (plain substring match after NFKC).
    keywords: list[str] = PydField(default_factory=list)


class Municipality(Strict):
    id: str
    name: str
    prefecture: str = ""
    general_window_id: str  # 狭間 and 「どこに相談すればいいかわからない」
    collaboration: Collaboration
    program_name: str = (
        ""  # the city's name for 重層的支援体制整備事業 (e.g. 「つながる・ささえる」ネットワーク整備事業)
    )
    source: str = ""  # the document the pack was built from
    notes: str = ""
    todo: list[str] = PydField(default_factory=list)


class PackFile(Strict):
    """``pack.yaml``."""

    municipality: Municipality


class WindowsFile(Strict):
    windows: list[Window]


class AreasFile(Strict):
    areas: list[Area] = PydField(default_factory=list)


class CrisisFile(Strict):
    crisis_contacts: list[CrisisContact] = PydField(default_factory=list)


class TopicsFile(Strict):
    topics: list[Topic] = PydField(default_factory=list)


class Pack(Strict):
    """Everything the product knows about one municipality."""

    municipality: Municipality
    windows: list[Window]
    areas: list[Area] = PydField(default_factory=list)
    crisis_contacts: list[CrisisContact]
    messages: dict[str, str]  # dialog wording by message key
    topics: list[Topic] = PydField(default_factory=list)
    version: str = ""  # content hash, recorded on every ticket

    @property
    def id(self) -> str:
        return self.municipality.id

    def window(self, window_id: str) -> Window:
        for w in self.windows:
            if w.id == window_id:
                return w
        raise KeyError(window_id)

    def area(self, area_id: str) -> Area:
        for a in self.areas:
            if a.id == area_id:
                return a
        raise KeyError(area_id)

    @property
    def general_window(self) -> Window:
        return self.window(self.municipality.general_window_id)

    @property
    def collaboration(self) -> Collaboration:
        return self.municipality.collaboration

    def crisis_contacts_for(
        self, kinds: list[CrisisKind] | tuple[CrisisKind, ...] = ()
    ) -> list[CrisisContact]:
        """The lines for these crisis kinds (all of them when no kind is known), in file order."""
        if not kinds:
            return list(self.crisis_contacts)
        wanted = set(kinds)
        return [c for c in self.crisis_contacts if not c.kinds or wanted & set(c.kinds)]
