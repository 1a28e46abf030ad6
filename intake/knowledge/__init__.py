"""Knowledge packs: one per municipality, YAML files that admins edit under ``knowledge/<pack>/``.

- ``load_pack(knowledge_dir, pack_id) -> Pack`` (raises :class:`KnowledgeError` with every problem)
- ``check(knowledge_dir) -> list[Problem]`` (``intake knowledge check``; :class:`Notice` items are warnings)
- ``KnowledgeHolder``: the published version of a running server, reloaded on SIGHUP, on request and on change
"""

from intake.knowledge.check import check, check_pack
from intake.knowledge.holder import Knowledge, KnowledgeHolder, ReloadResult
from intake.knowledge.loader import content_version, list_packs, load_pack
from intake.knowledge.problems import KnowledgeError, Notice, UnknownPackError, is_error

__all__ = [
    "Knowledge",
    "KnowledgeError",
    "KnowledgeHolder",
    "Notice",
    "ReloadResult",
    "UnknownPackError",
    "check",
    "check_pack",
    "content_version",
    "is_error",
    "list_packs",
    "load_pack",
]
