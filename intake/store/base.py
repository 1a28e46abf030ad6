"""The session store contract that the webhook, the dialog engine and the staff desk rely on."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

JsonDict = dict[str, Any]


class LockTimeout(Exception):
    """The per-key lock could not be taken within the wait allowed."""


class SessionStore(Protocol):
    """Short-lived state shared by all app processes: dialog sessions, event deduplication, locks, counters.

    Values are JSON objects (never pickle). Keys are plain strings; the store adds its own prefix.
    """

    async def get(self, key: str) -> JsonDict | None:
        """The value stored at ``key``, or None when absent or expired."""

    async def put(self, key: str, value: JsonDict, *, ttl: int) -> None:
        """Store ``value`` with a time-to-live in seconds (refreshed on every write)."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error when absent)."""

    async def update(
        self, key: str, fn: Callable[[JsonDict | None], JsonDict | None], *, ttl: int
    ) -> JsonDict | None:
        """Atomically replace the value with ``fn(old)``; ``None`` from ``fn`` deletes it. Returns the new value."""

    async def claim(self, key: str, *, ttl: int) -> bool:
        """Set ``key`` only if absent (``SET NX EX``): True for the first caller, False for every later one."""

    async def incr(self, key: str, *, ttl: int) -> int:
        """Increment a counter that expires ``ttl`` seconds after its first increment; returns the new count."""

    def lock(
        self, key: str, *, timeout: float = 30.0, wait: float = 10.0
    ) -> AbstractAsyncContextManager[None]:
        """A mutual-exclusion lock on ``key`` that holds across processes sharing the store.

        ``lock("user:<subject_hash>")`` and ``lock("lock:user:<subject_hash>")`` are the same lock; it lives apart
        from the values (locking ``sess:…`` never touches the session stored there).

        ``timeout`` bounds how long the lock lives if its holder dies; ``wait`` how long to wait for it before
        :class:`LockTimeout` is raised.
        """

    async def ping(self) -> bool:
        """True when the backing server answers."""

    async def close(self) -> None:
        """Release connections."""
