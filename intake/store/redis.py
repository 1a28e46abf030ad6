"""Redis implementation of :class:`~intake.store.base.SessionStore` (redis.asyncio).

The embedded store used when ``REDIS_URL`` is unset is the same class over fakeredis's in-process server, so both
run one code path and one contract test suite. Values are JSON text (``redis-cli GET`` shows them as they are,
never pickle). Locks are ``SET NX PX`` with a random token, released by a WATCH/MULTI compare-and-delete (no Lua,
so fakeredis needs no extra): a holder whose lock expired never deletes the next holder's lock.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from intake.store.base import JsonDict, LockTimeout

DEFAULT_PREFIX = "intake:"
LOCK_NAMESPACE = "lock:"


def _dumps(value: JsonDict) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"the session store keeps JSON objects, not {type(value).__name__}")
    # allow_nan=False: NaN/Infinity are not JSON and other readers would reject them.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _loads(raw: bytes | str | None) -> JsonDict | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None


class RedisSessionStore:
    """Session store over one Redis client (a real server, or fakeredis for the embedded store)."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._r = client
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def client(self) -> aioredis.Redis:
        """The underlying client (operations and tests read raw keys with it)."""
        return self._r

    def key(self, key: str) -> str:
        """The Redis key that holds ``key`` (with this store's prefix)."""
        return self._prefix + key

    def lock_key(self, key: str) -> str:
        """The Redis key of the lock on ``key``: ``lock("user:h")`` and ``lock("lock:user:h")`` are the same lock."""
        return self._prefix + (key if key.startswith(LOCK_NAMESPACE) else LOCK_NAMESPACE + key)

    async def get(self, key: str) -> JsonDict | None:
        return _loads(await self._r.get(self.key(key)))

    async def put(self, key: str, value: JsonDict, *, ttl: int) -> None:
        await self._r.set(self.key(key), _dumps(value), ex=_ttl(ttl))

    async def delete(self, key: str) -> None:
        await self._r.delete(self.key(key))

    async def update(
        self, key: str, fn: Callable[[JsonDict | None], JsonDict | None], *, ttl: int
    ) -> JsonDict | None:
        """Optimistic transaction: WATCH, read, ``fn``, MULTI/EXEC; retried when another writer got there first.

        ``fn`` may therefore run more than once: keep it a pure function of the old value.
        """
        full = self.key(key)
        ex = _ttl(ttl)
        backoff = 0.001
        while True:
            async with self._r.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(full)
                    new = fn(_loads(await pipe.get(full)))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new is None:
                        pipe.delete(full)
                    else:
                        pipe.set(full, _dumps(new), ex=ex)
                    await pipe.execute()
                    return new
                except WatchError:
                    await asyncio.sleep(random.uniform(0, backoff))
                    backoff = min(backoff * 2, 0.05)

    async def claim(self, key: str, *, ttl: int) -> bool:
        return bool(await self._r.set(self.key(key), "1", nx=True, ex=_ttl(ttl)))

    async def incr(self, key: str, *, ttl: int) -> int:
        full = self.key(key)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            # NX: the window starts at the first increment and later ones do not extend it (Redis >= 7.0).
            pipe.expire(full, _ttl(ttl), nx=True)
            count, _ = await pipe.execute()
        return int(count)

    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0, wait: float = 10.0) -> AsyncIterator[None]:
        if timeout <= 0:
            raise ValueError("lock timeout must be positive")
        full = self.lock_key(key)
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        delay = 0.005
        while not await self._r.set(full, token, nx=True, px=max(1, int(timeout * 1000))):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LockTimeout(key)
            await asyncio.sleep(min(delay * random.uniform(0.5, 1.0), remaining))
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            # Shielded: a cancelled holder still gives the lock back instead of leaving it until it expires.
            await asyncio.shield(self._release(full, token))

    async def _release(self, full: str, token: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(full)
                current = await pipe.get(full)
                if isinstance(current, bytes):
                    current = current.decode()
                if current == token:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(full)
                    await pipe.execute()
                else:
                    # Ours expired and someone else holds it now: it is theirs.
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
            except WatchError:
                pass

    async def ping(self) -> bool:
        try:
            return bool(await self._r.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._r.aclose()


def _ttl(ttl: int) -> int:
    if ttl < 1:
        raise ValueError("ttl must be at least one second")
    return int(ttl)


def redis_store(url: str, *, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
    """A store on the Redis server at ``url`` (shared by every app process)."""
    client: Any = aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
    )
    return RedisSessionStore(client, prefix=prefix)


def embedded_store(*, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
    """The in-process store for one process (``make run``, tests): fakeredis with its own private server."""
    import fakeredis

    return RedisSessionStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), prefix=prefix)
