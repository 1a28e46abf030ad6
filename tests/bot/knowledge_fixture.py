"""A small knowledge pack for the bot's tests, built from the schema models (not from any pack's files)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ruamel.yaml import YAML

from bot.engine import Knowledge
from bot.knowledge import build
from intake.knowledge.schema import (
    Area,
    Collaboration,
    Contact,
    CrisisContact,
    Meeting,
    Municipality,
    Pack,
    Window,
)
from triage import Triager
from triage.types import CrisisKind, Field, TriageResult

REPO = Path(__file__).resolve().parents[2]


def common_messages() -> dict[str, str]:
    yaml = YAML(typ="safe")
    yaml.version = (1, 2)
    data = yaml.load((REPO / "knowledge/_common/messages.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def test_pack() -> Pack:
    def window(wid: str, name: str, fields: list[Field], areas: list[str] | None = None) -> Window:
        return Window(
            id=wid,
            name=name,
            fields=fields,
            areas=areas or [],
            contact=Contact(phone=f"0761-00-{len(wid):04d}", hours="平日 8:30〜17:15"),
        )

    return Pack(
        municipality=Municipality(
            id="testshi",
            name="テスト市",
            general_window_id="sodan",
            collaboration=Collaboration(
                window_id="kyodo",
                with_consent=Meeting(name="重層的支援会議", kind="with_consent"),
                without_consent=Meeting(name="支援会議", kind="without_consent"),
            ),
        ),
        windows=[
            window("sodan", "福祉総合相談窓口", [Field.HAZAMA]),
            window("houkatsu-kita", "北部地域包括支援センター", [Field.KAIGO], ["kita"]),
            window("houkatsu-minami", "南部地域包括支援センター", [Field.KAIGO], ["minami"]),
            window("shogai", "障害者相談支援センター", [Field.SHOGAI]),
            window("kodomo", "こども家庭センター", [Field.KODOMO]),
            window("jiritsu", "自立相談支援機関", [Field.KONKYU]),
            window("kyodo", "多機関協働事業", [Field.HAZAMA]),
        ],
        areas=[
            Area(id="kita", name="北部", aliases=["寺井", "てらい"]),
            Area(id="minami", name="南部", aliases=["辰口", "たつのくち"]),
        ],
        crisis_contacts=[
            CrisisContact(
                id="inochi", name="いのちの電話", phone="0120-000-000", hours="24時間", kinds=["suicide"]
            ),
            CrisisContact(id="police", name="警察", phone="110", kinds=["violence", "abuse"]),
        ],
        messages=common_messages(),
        version="test-1",
    )


class CrisisAwareTriager:
    """The real triager, plus a crisis flag for 「死にたい」 in case the vocabulary in use lacks it."""

    def __init__(self) -> None:
        self.inner = Triager.load(REPO / "knowledge", None)

    def triage(self, text: str) -> TriageResult:
        result = self.inner.triage(text)
        if "死にたい" in text and not result.crisis:
            result = result.model_copy(update={"crisis": True, "crisis_kinds": [CrisisKind.SUICIDE]})
        return result


def test_knowledge() -> Knowledge:
    return build(test_pack(), CrisisAwareTriager(), "test-1")


def test_holder() -> Any:
    """Stands in for ``intake.knowledge.KnowledgeHolder``: ``.current`` has pack, triager and version."""
    pack = test_pack()
    return SimpleNamespace(
        current=SimpleNamespace(pack=pack, triager=CrisisAwareTriager(), version=pack.version)
    )
