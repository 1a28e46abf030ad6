"""The shape of a knowledge pack (validated on load; every error reported as ``FILE:LINE: message``).

Other packages read a loaded :class:`Pack`; only ``intake.knowledge`` reads the YAML.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField

from triage.types import Field


class Operation(enum.StrEnum):
    DIRECT = "直営"
    CONTRACTED = "委託"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(Strict):
    phone: str = ""  # empty: not in the source document; ``todo`` says so
    hours: str = ""
    address: str = ""
    todo: list[str] = PydField(default_factory=list)  # facts to be filled by the municipality (要確認)


class Notify(Strict):
    """Where the desk sends a window's new-ticket notice (no consultation text in it); empty = no notice."""

    line_group_id: str = ""  # a LINE group of the window's staff (the bot must be a member)
    webhook_url: str = ""  # an HTTPS endpoint of the city's own chat tool


class Window(Strict):
    """A 相談窓口: where a routed ticket goes."""

    id: str
    name: str
    fields: list[Field]
    serves: str = ""  # 対象 (ages, who)
    areas: list[str] = PydField(default_factory=list)  # 圏域 ids; empty = the whole municipality
    topics: list[str] = PydField(
        default_factory=list
    )  # special topics: dv, youth, foreign, suicide, employment…
    contact: Contact = Contact()
    operator: Operation = Operation.DIRECT
    operated_by: str = ""  # 委託先
    notes: str = ""
    source: str = ""  # where in the seed document this window is named
    notify: Notify = Notify()  # new-ticket notice (staff desk)


class Area(Strict):
    """A 日常生活圏域 (or 地区) and the names residents use for it."""

    id: str
    name: str
    aliases: list[str] = PydField(default_factory=list)  # 町名, readings, 「寺井町」「てらい」…


class Meeting(Strict):
    name: str  # the city's own name
    kind: str  # "with_consent" (重層的支援会議) or "without_consent" (支援会議)
    description: str = ""
    legal_basis: str = ""


class Collaboration(Strict):
    """The 多機関協働 entry: who takes complex cases."""

    window_id: str
    run_by: str = ""
    operation: Operation = Operation.DIRECT
    with_consent: Meeting
    without_consent: Meeting
    other_meetings: list[Meeting] = PydField(default_factory=list)


class CrisisContact(Strict):
    id: str
    name: str
    phone: str
    hours: str = ""
    kinds: list[str] = PydField(default_factory=list)  # CrisisKind values it is for; empty = any
    note: str = ""


class Municipality(Strict):
    id: str
    name: str
    prefecture: str = ""
    general_window_id: str  # 狭間 and 「どこに相談すればいいかわからない」
    collaboration: Collaboration


class Pack(Strict):
    """Everything the product knows about one municipality."""

    municipality: Municipality
    windows: list[Window]
    areas: list[Area] = PydField(default_factory=list)
    crisis_contacts: list[CrisisContact]
    messages: dict[str, str]  # dialog wording by message key
    version: str = ""  # content hash, recorded on every ticket

    def window(self, window_id: str) -> Window:
        for w in self.windows:
            if w.id == window_id:
                return w
        raise KeyError(window_id)
