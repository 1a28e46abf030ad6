"""Redis implementation of :class:`~intake.store.base.SessionStore` (redis.asyncio).

The embedded store used when ``REDIS_URL`` is unset is the same class over fakeredis's in-process server, so both
run one code path and one contract test suite. Locks are ``SET NX PX`` with a random token, released by a
WATCH/MULTI compare-and-delete (no Lua, so fakeredis needs no extra).
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


class RedisSessionStore:
    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._r = client
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> JsonDict | None:
        raw = await self._r.get(self._k(key))
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    async def put(self, key: str, value: JsonDict, *, ttl: int) -> None:
        await self._r.set(self._k(key), json.dumps(value, ensure_ascii=False), ex=ttl)

    async def delete(self, key: str) -> None:
        await self._r.delete(self._k(key))

    async def update(
        self, key: str, fn: Callable[[JsonDict | None], JsonDict | None], *, ttl: int
    ) -> JsonDict | None:
        full = self._k(key)
        while True:
            async with self._r.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(full)
                    raw = await pipe.get(full)
                    old = json.loads(raw) if raw is not None else None
                    new = fn(old if isinstance(old, dict) else None)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new is None:
                        pipe.delete(full)
                    else:
                        pipe.set(full, json.dumps(new, ensure_ascii=False), ex=ttl)
                    await pipe.execute()
                    return new
                except WatchError:
                    await asyncio.sleep(random.uniform(0.001, 0.01))

    async def claim(self, key: str, *, ttl: int) -> bool:
        return bool(await self._r.set(self._k(key), "1", nx=True, ex=ttl))

    async def incr(self, key: str, *, ttl: int) -> int:
        full = self._k(key)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0, wait: float = 10.0) -> AsyncIterator[None]:
        full = self._k("lock:" + key)
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.005
        while not await self._r.set(full, token, nx=True, px=max(1, int(timeout * 1000))):
            if loop.time() >= deadline:
                raise LockTimeout(key)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            await self._release(full, token)

    async def _release(self, full: str, token: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(full)
                current = await pipe.get(full)
                if (
                    current is not None
                    and (current.decode() if isinstance(current, bytes) else current) == token
                ):
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(full)
                    await pipe.execute()
                else:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
            except WatchError:
                # Someone else took the key after ours expired: it is theirs now.
                pass

    async def ping(self) -> bool:
        try:
            return bool(await self._r.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._r.aclose()


def redis_store(url: str, *, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
    client: Any = aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
    )
    return RedisSessionStore(client, prefix=prefix)


def embedded_store(*, prefix: str = DEFAULT_PREFIX) -> RedisSessionStore:
    """The in-process store for one process (``make run``, tests): fakeredis with its own private server."""
    import fakeredis

    return RedisSessionStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), prefix=prefix)
