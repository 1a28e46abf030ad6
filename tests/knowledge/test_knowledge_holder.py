"""Hot reload: a published edit is picked up without a restart; a broken edit never replaces the working version."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from knowledge_helpers import edit, line_no

from intake.app import Resources, create_app
from intake.knowledge import KnowledgeHolder, UnknownPackError
from intake.settings import Settings

TERAI = "    name: 寺井あんしん相談センター\n"
RENAMED = "    name: 寺井あんしん相談センター（てらい）\n"


def holder(directory: Path, pack_id: str = "nomi") -> KnowledgeHolder:
    return KnowledgeHolder.open(directory, pack_id)


def test_open_publishes_a_version_with_the_pack_and_its_triager(knowledge_copy: Path) -> None:
    h = holder(knowledge_copy)
    k = h.current
    assert k.pack.municipality.name == "能美市"
    assert k.version == k.pack.version and len(k.version) == 16
    assert k.triager.triage("母の介護に疲れました").text == "母の介護に疲れました"


def test_reload_publishes_a_valid_edit(knowledge_copy: Path) -> None:
    h = holder(knowledge_copy)
    before = h.version
    edit(knowledge_copy / "nomi" / "windows.yaml", TERAI, RENAMED)
    result = h.reload()
    assert result.ok and result.changed and result.version != before
    assert h.current.pack.window("anshin-terai").name == "寺井あんしん相談センター（てらい）"
    assert h.version == result.version


def test_reload_without_an_edit_changes_nothing(knowledge_copy: Path) -> None:
    h = holder(knowledge_copy)
    result = h.reload()
    assert result.ok and not result.changed and result.version == h.version


def test_a_broken_edit_is_refused_with_file_and_line_and_the_old_version_keeps_serving(
    knowledge_copy: Path,
) -> None:
    h = holder(knowledge_copy)
    before = h.current
    path = knowledge_copy / "nomi" / "windows.yaml"
    edit(
        path,
        "    fields: [介護, 狭間]\n    topics: [hikikomori]\n    serves: すべての市民、高齢者とその家族\n    areas: [terai]",
        "    fields: [介護, 高齢者]\n    topics: [hikikomori]\n    serves: すべての市民、高齢者とその家族\n    areas: [terai]",
    )
    result = h.reload()
    assert not result.ok and result.version == before.version
    (problem,) = result.problems
    assert str(problem).startswith(f"{path}:{line_no(path, '[介護, 高齢者]')}: windows[1].fields[1]: ")
    assert h.current is before  # still serving the working version
    assert h.current.pack.window("anshin-terai").fields[0].value == "介護"


def test_poll_reloads_only_when_the_content_changes_and_tries_a_broken_edit_once(
    knowledge_copy: Path,
) -> None:
    h = holder(knowledge_copy)
    assert h.poll_once() is None
    path = knowledge_copy / "nomi" / "windows.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace(TERAI, "    name: [\n", 1), encoding="utf-8")
    refused = h.poll_once()
    assert refused is not None and not refused.ok
    assert h.poll_once() is None  # the same broken content is not rebuilt every few seconds
    path.write_text(good.replace(TERAI, RENAMED, 1), encoding="utf-8")
    published = h.poll_once()
    assert published is not None and published.ok and published.changed


def test_several_processes_each_pick_up_a_published_change(knowledge_copy: Path) -> None:
    """Each app process has its own holder on the same files: all of them see the same new version."""
    workers = [holder(knowledge_copy) for _ in range(3)]
    edit(knowledge_copy / "nomi" / "windows.yaml", TERAI, RENAMED)
    results = [w.poll_once() for w in workers]
    assert all(r is not None and r.ok for r in results)
    assert len({w.version for w in workers}) == 1


def test_an_edit_to_the_shared_files_changes_every_packs_version(knowledge_copy: Path) -> None:
    nomi, demo = holder(knowledge_copy, "nomi"), holder(knowledge_copy, "demo")
    edit(knowledge_copy / "_common" / "crisis.yaml", "    hours: 24時間\n", "    hours: 24時間（年中無休）\n")
    assert nomi.poll_once() is not None and demo.poll_once() is not None
    assert nomi.current.pack.crisis_contacts[0].hours == "24時間（年中無休）"


def test_unknown_pack_lists_the_valid_ones(knowledge_copy: Path) -> None:
    with pytest.raises(UnknownPackError) as info:
        KnowledgeHolder.open(knowledge_copy, "noomi")
    assert "valid packs" in str(info.value) and "nomi" in str(info.value) and "demo" in str(info.value)


# --- inside the running app ------------------------------------------------------------------------------


def settings(tmp_path: Path, knowledge_dir: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'intake.db'}",
        redis_url=None,
        intake_secret_key="test-secret-key-for-the-knowledge-tests",  # type: ignore[arg-type]
        line_channel_secret=None,
        line_channel_access_token=None,
        intake_knowledge_dir=knowledge_dir,
        **extra,
    )


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.05)


async def test_the_app_loads_the_configured_pack_and_picks_up_edits_by_polling(
    tmp_path: Path, knowledge_copy: Path
) -> None:
    app = create_app(
        settings(tmp_path, knowledge_copy, intake_pack="nomi", intake_knowledge_poll_seconds=0.1)
    )
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        assert isinstance(res.knowledge, KnowledgeHolder)
        first = res.knowledge.version
        path = knowledge_copy / "nomi" / "windows.yaml"
        # A broken edit: refused, the working version keeps serving.
        good = path.read_text(encoding="utf-8")
        path.write_text(good.replace(TERAI, "    name: [\n", 1), encoding="utf-8")
        await wait_for(lambda: res.knowledge.last_result is not None and not res.knowledge.last_result.ok)
        assert res.knowledge.version == first
        # The fix is published without a restart.
        path.write_text(good.replace(TERAI, RENAMED, 1), encoding="utf-8")
        await wait_for(lambda: res.knowledge.version != first)
        assert res.knowledge.current.pack.window("anshin-terai").name.endswith("（てらい）")


async def test_sighup_reloads(tmp_path: Path, knowledge_copy: Path) -> None:
    app = create_app(settings(tmp_path, knowledge_copy, intake_pack="demo", intake_knowledge_poll_seconds=0))
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        first = res.knowledge.version
        edit(knowledge_copy / "demo" / "windows.yaml", "デモ市 福祉総合相談窓口", "デモ市 ふくし総合相談窓口")
        await asyncio.sleep(0.3)
        assert res.knowledge.version == first  # no polling: nothing happens by itself
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_for(lambda: res.knowledge.version != first)
        assert res.knowledge.current.pack.general_window.name == "デモ市 ふくし総合相談窓口"


async def test_an_unknown_pack_stops_the_start_up_with_the_valid_choices(
    tmp_path: Path, knowledge_copy: Path
) -> None:
    app = create_app(settings(tmp_path, knowledge_copy, intake_pack="atlantis"))
    with pytest.raises(
        UnknownPackError, match=r"unknown pack 'atlantis'; valid packs in .*chuo, daisen, demo"
    ):
        async with app.router.lifespan_context(app):
            pass
