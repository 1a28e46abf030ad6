"""The published knowledge of a running server, reloadable without a restart.

``KnowledgeHolder.current`` is what requests use; ``reload()`` builds and checks the files anew and swaps the
new version in only when it has no errors, so a broken edit never replaces the working version. Reloads happen
on SIGHUP, when an admin asks (``reload()``), and when a light poll sees the files' content hash change, so
that every process of a deployment picks up a published change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from intake.knowledge.check import checked_pack
from intake.knowledge.loader import content_version, list_packs, unknown_pack
from intake.knowledge.problems import KnowledgeError, errors
from intake.knowledge.schema import Pack
from intake.yamlio import Problem
from triage import Triager

if TYPE_CHECKING:
    from intake.app import Resources

log = logging.getLogger("intake.knowledge")

DEFAULT_POLL_SECONDS = 3.0


@dataclass(frozen=True)
class Knowledge:
    """One published version: the pack, the triager built from the same files, and their content hash."""

    pack: Pack
    triager: Triager
    version: str


@dataclass(frozen=True)
class ReloadResult:
    ok: bool  # True: ``version`` is now published (possibly unchanged)
    version: str  # the version serving after the call
    problems: list[Problem] = field(default_factory=list)  # errors that refused the edit, or warnings
    changed: bool = False  # a new version replaced the old one


def build_knowledge(knowledge_dir: Path, pack_id: str) -> tuple[Knowledge | None, list[Problem]]:
    """Load, check and build one version; None with the problems when any of them is an error."""
    pack, problems = checked_pack(knowledge_dir, pack_id)
    if pack is None:
        return None, problems
    try:
        triager = Triager.load(knowledge_dir, pack_id)
    except Exception as exc:  # a vocabulary the triager cannot use must not be published
        failure = Problem(
            str(knowledge_dir / pack_id), 1, f"triage could not load: {type(exc).__name__}: {exc}"
        )
        return None, [*problems, failure]
    return Knowledge(pack=pack, triager=triager, version=pack.version), problems


class KnowledgeHolder:
    """Holds the published :class:`Knowledge`; thread-safe reads and reloads."""

    def __init__(self, knowledge_dir: Path, pack_id: str, initial: Knowledge) -> None:
        self.knowledge_dir = knowledge_dir
        self.pack_id = pack_id
        self._current = initial
        self._lock = threading.Lock()
        self._seen_version = (
            initial.version
        )  # the last content hash tried (good or bad): poll retries on change
        self.last_problems: list[Problem] = []
        self.last_result: ReloadResult | None = None  # the latest reload (an admin page shows a refused edit)
        self.reloaded_at = time.time()
        self._pending: set[asyncio.Task[None]] = set()
        self._signal_installed = False

    @classmethod
    def open(cls, knowledge_dir: Path, pack_id: str) -> KnowledgeHolder:
        """The holder of a valid pack; :class:`KnowledgeError` (or ``UnknownPackError``) otherwise."""
        if pack_id not in list_packs(knowledge_dir):
            raise unknown_pack(knowledge_dir, pack_id)
        knowledge, problems = build_knowledge(knowledge_dir, pack_id)
        if knowledge is None:
            raise KnowledgeError(errors(problems) or problems)
        holder = cls(knowledge_dir, pack_id, knowledge)
        holder.last_problems = problems
        return holder

    @property
    def current(self) -> Knowledge:
        return self._current

    @property
    def version(self) -> str:
        return self._current.version

    def reload(self) -> ReloadResult:
        """Build the files as they are now; publish them only if they have no errors."""
        with self._lock:
            started = time.monotonic()
            old = self._current
            # Hash first: an edit made while building shows up as a new hash at the next poll.
            self._seen_version = content_version(self.knowledge_dir, self.pack_id)
            try:
                knowledge, problems = build_knowledge(self.knowledge_dir, self.pack_id)
            except KnowledgeError as exc:  # e.g. the pack folder was removed
                knowledge, problems = None, exc.problems
            self.last_problems = problems
            ctx = {"pack": self.pack_id, "ms": round((time.monotonic() - started) * 1000)}
            if knowledge is None:
                log.warning(
                    "knowledge reload refused",
                    extra={"ctx": {**ctx, "version": old.version, "errors": len(errors(problems))}},
                )
                self.last_result = ReloadResult(ok=False, version=old.version, problems=errors(problems))
                return self.last_result
            changed = knowledge.version != old.version
            if changed:
                self._current = knowledge
                self.reloaded_at = time.time()
            log.info(
                "knowledge reloaded" if changed else "knowledge unchanged",
                extra={"ctx": {**ctx, "version": knowledge.version, "previous": old.version}},
            )
            self.last_result = ReloadResult(
                ok=True, version=knowledge.version, problems=problems, changed=changed
            )
            return self.last_result

    def poll_once(self) -> ReloadResult | None:
        """Reload when the files' content hash differs from the last one tried; None when nothing changed."""
        if content_version(self.knowledge_dir, self.pack_id) == self._seen_version:
            return None
        return self.reload()

    # --- running inside the server ------------------------------------------------------------------------

    def install_sighup(self) -> bool:
        """Reload on SIGHUP (main thread of a running loop only); False where that is not possible."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            return False
        self._signal_installed = True
        return True

    def remove_sighup(self) -> None:
        if self._signal_installed:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False

    async def watch(self, seconds: float = DEFAULT_POLL_SECONDS) -> None:
        """Poll the files' content hash every ``seconds`` and reload on change (runs until cancelled)."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(self.poll_once)
            except Exception:  # keep polling: the next edit may fix it
                log.exception("knowledge poll failed", extra={"ctx": {"pack": self.pack_id}})

    def _on_sighup(self) -> None:
        log.info("knowledge: SIGHUP", extra={"ctx": {"pack": self.pack_id}})
        task = asyncio.get_running_loop().create_task(self._reload_logged(), name="knowledge-sighup")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reload_logged(self) -> None:
        try:
            await asyncio.to_thread(self.reload)
        except Exception:
            log.exception("knowledge reload failed", extra={"ctx": {"pack": self.pack_id}})


async def start_knowledge(res: Resources) -> None:
    """Load the deployment's pack (``INTAKE_PACK`` from ``INTAKE_KNOWLEDGE_DIR``) into ``res.knowledge`` and
    keep it fresh. An unknown pack or a broken pack stops the start-up with every problem listed."""
    settings = res.settings
    if res.knowledge is None:
        directory, pack_id = settings.knowledge_dir(), settings.intake_pack
        try:
            res.knowledge = await asyncio.to_thread(KnowledgeHolder.open, directory, pack_id)
        except KnowledgeError as exc:
            log.error(
                "knowledge pack refused at start-up",
                extra={
                    "ctx": {
                        "pack": pack_id,
                        "dir": str(directory),
                        "problems": [str(p) for p in exc.problems],
                    }
                },
            )
            raise
    holder = res.knowledge
    if isinstance(holder, KnowledgeHolder):
        sighup = holder.install_sighup()
        if settings.intake_knowledge_poll_seconds > 0:
            # Spawned on the resources, so that shutdown cancels it whatever happens to ``res.knowledge``.
            res.spawn(holder.watch(settings.intake_knowledge_poll_seconds), name="knowledge-poll")
        log.info(
            "knowledge ready",
            extra={"ctx": {"pack": holder.pack_id, "version": holder.version, "sighup": sighup}},
        )


async def stop_knowledge(res: Resources) -> None:
    if isinstance(res.knowledge, KnowledgeHolder):
        res.knowledge.remove_sighup()
