"""The session store contract, run against the embedded store and a real redis-server (the ``store`` fixture).

The last tests use only real Redis: two connection pools and separate processes sharing one server, as the app's
worker processes do in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest

from intake.store import LockTimeout, RedisSessionStore, SessionStore, embedded_store, redis_store


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _eventually_none(store: SessionStore, key: str, limit: float = 5.0) -> bool:
    """Poll until ``key`` is gone (expiry is checked by the server's clock, not by a timed assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        if await store.get(key) is None:
            return True
        await asyncio.sleep(0.05)
    return False


# --- get / put / delete / TTL -------------------------------------------------------------------------------


async def test_put_then_get_returns_the_same_json_object(store: RedisSessionStore) -> None:
    value = {"step": "ask_area", "fields": ["介護", "狭間"], "n": 3, "ok": True, "none": None}
    await store.put("sess:line:abc", value, ttl=60)
    assert await store.get("sess:line:abc") == value
    assert await store.get("sess:line:other") is None


async def test_put_overwrites_and_delete_removes(store: RedisSessionStore) -> None:
    await store.put("k", {"v": 1}, ttl=60)
    await store.put("k", {"v": 2}, ttl=60)
    assert await store.get("k") == {"v": 2}
    await store.delete("k")
    assert await store.get("k") is None
    await store.delete("k")  # absent: no error


async def test_value_expires_after_its_ttl(store: RedisSessionStore) -> None:
    await store.put("short", {"v": 1}, ttl=1)
    await store.put("long", {"v": 1}, ttl=60)
    assert await store.get("short") == {"v": 1}
    assert await _eventually_none(store, "short")
    assert await store.get("long") == {"v": 1}


async def test_every_write_sets_the_ttl_again(store: RedisSessionStore) -> None:
    await store.put("k", {"v": 1}, ttl=100)
    assert 90 <= await store.client.ttl(store.key("k")) <= 100
    await store.put("k", {"v": 2}, ttl=5000)
    assert 4900 <= await store.client.ttl(store.key("k")) <= 5000
    await store.update("k", lambda old: {"v": 3}, ttl=700)
    assert 600 <= await store.client.ttl(store.key("k")) <= 700


async def test_non_json_values_are_refused_and_nothing_is_stored(store: RedisSessionStore) -> None:
    with pytest.raises(TypeError):
        await store.put("k", {"when": datetime.now(UTC)}, ttl=60)
    with pytest.raises(TypeError):
        await store.put("k", ["not", "an", "object"], ttl=60)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.put("k", {"x": float("nan")}, ttl=60)
    assert await store.get("k") is None


async def test_a_ttl_below_one_second_is_refused(store: RedisSessionStore) -> None:
    with pytest.raises(ValueError):
        await store.put("k", {"v": 1}, ttl=0)
    assert await store.get("k") is None


# --- JSON on the wire, key prefix ---------------------------------------------------------------------------


async def test_values_are_stored_as_readable_json_text_not_pickle(store: RedisSessionStore) -> None:
    value = {"step": "consent", "text_len": 12, "fields": ["子ども"]}
    await store.put("sess:web:h1", value, ttl=60)
    raw = await store.client.get("intake:sess:web:h1")
    assert isinstance(raw, bytes)
    assert raw.startswith(b"{")  # a pickle starts with b"\x80"
    assert json.loads(raw.decode("utf-8")) == value
    assert "子ども" in raw.decode("utf-8")  # readable as is, not \u-escaped


async def test_every_key_carries_the_store_prefix(store: RedisSessionStore) -> None:
    other = RedisSessionStore(store.client, prefix="other:")
    await store.put("k", {"who": "intake"}, ttl=60)
    await other.put("k", {"who": "other"}, ttl=60)
    assert await store.get("k") == {"who": "intake"}
    assert await other.get("k") == {"who": "other"}
    await store.claim("line:evt:1", ttl=60)
    await store.incr("throttle:login:a", ttl=60)
    async with store.lock("user:h"):
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await store.client.keys("*"))
    assert keys == [
        "intake:k",
        "intake:line:evt:1",
        "intake:lock:user:h",
        "intake:throttle:login:a",
        "other:k",
    ]


# --- update: atomic read-modify-write -----------------------------------------------------------------------


async def test_update_creates_changes_and_deletes(store: RedisSessionStore) -> None:
    seen: list[Any] = []

    def first(old: dict[str, Any] | None) -> dict[str, Any]:
        seen.append(old)
        return {"n": 1}

    assert await store.update("k", first, ttl=60) == {"n": 1}
    assert seen == [None]
    assert await store.update("k", lambda old: {"n": (old or {})["n"] + 1}, ttl=60) == {"n": 2}
    assert await store.get("k") == {"n": 2}
    assert await store.update("k", lambda old: None, ttl=60) is None
    assert await store.get("k") is None


async def test_update_that_raises_leaves_the_value_alone(store: RedisSessionStore) -> None:
    await store.put("k", {"n": 1}, ttl=60)

    def broken(old: dict[str, Any] | None) -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.update("k", broken, ttl=60)
    assert await store.get("k") == {"n": 1}
    # The connection is usable afterwards.
    assert await store.update("k", lambda old: {"n": 2}, ttl=60) == {"n": 2}


def _increment(old: dict[str, Any] | None) -> dict[str, Any]:
    return {"n": (old or {"n": 0})["n"] + 1}


async def test_concurrent_updates_lose_no_increment(store: RedisSessionStore) -> None:
    async def worker() -> None:
        for _ in range(5):
            await store.update("counter", _increment, ttl=60)

    await asyncio.gather(*(worker() for _ in range(40)))
    assert await store.get("counter") == {"n": 200}


# --- claim (event deduplication) and incr (throttling) ------------------------------------------------------


async def test_claim_is_true_once_until_it_expires(store: RedisSessionStore) -> None:
    assert await store.claim("line:evt:01H", ttl=1) is True
    assert await store.claim("line:evt:01H", ttl=1) is False
    assert await store.claim("line:evt:02H", ttl=60) is True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not await store.claim("line:evt:01H", ttl=60):
        assert loop.time() < deadline, "claim did not expire"
        await asyncio.sleep(0.05)


async def test_concurrent_claims_have_exactly_one_winner(store: RedisSessionStore) -> None:
    results = await asyncio.gather(*(store.claim("line:evt:dup", ttl=60) for _ in range(30)))
    assert results.count(True) == 1


async def test_incr_counts_within_a_window_that_later_increments_do_not_extend(
    store: RedisSessionStore,
) -> None:
    assert [await store.incr("throttle:login:a", ttl=100) for _ in range(3)] == [1, 2, 3]
    assert 90 <= await store.client.ttl(store.key("throttle:login:a")) <= 100
    await store.incr("throttle:login:a", ttl=5000)
    assert await store.client.ttl(store.key("throttle:login:a")) <= 100
    assert await store.incr("throttle:login:b", ttl=60) == 1


async def test_incr_window_expires(store: RedisSessionStore) -> None:
    await store.incr("throttle:x", ttl=1)
    await store.incr("throttle:x", ttl=1)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await store.client.exists(store.key("throttle:x")):
        assert loop.time() < deadline, "counter did not expire"
        await asyncio.sleep(0.05)
    assert await store.incr("throttle:x", ttl=1) == 1


async def test_concurrent_incr_counts_every_call(store: RedisSessionStore) -> None:
    counts = await asyncio.gather(*(store.incr("throttle:c", ttl=60) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


# --- lock ---------------------------------------------------------------------------------------------------


async def _guarded_rmw(store: SessionStore, key: str, state: dict[str, int], rounds: int) -> None:
    """A non-atomic read-modify-write that is only correct under the lock; records any overlap."""
    for _ in range(rounds):
        async with store.lock("user:" + key, timeout=10, wait=20):
            state["inside"] += 1
            state["max_inside"] = max(state["max_inside"], state["inside"])
            value = await store.get(key)
            await asyncio.sleep(0)
            await store.put(key, {"n": (value or {"n": 0})["n"] + 1}, ttl=60)
            state["inside"] -= 1


async def test_lock_gives_mutual_exclusion(store: RedisSessionStore) -> None:
    state = {"inside": 0, "max_inside": 0}
    await asyncio.gather(*(_guarded_rmw(store, "acc", state, 5) for _ in range(8)))
    assert state["max_inside"] == 1
    assert await store.get("acc") == {"n": 40}


async def test_locks_on_different_keys_do_not_block_each_other(store: RedisSessionStore) -> None:
    async with store.lock("user:a", wait=0), store.lock("user:b", wait=0):
        pass


async def test_lock_under_its_contract_name_is_the_same_lock(store: RedisSessionStore) -> None:
    async with store.lock("lock:user:h"):
        with pytest.raises(LockTimeout):
            async with store.lock("user:h", wait=0.05):
                pass


async def test_waiting_past_wait_raises_lock_timeout(store: RedisSessionStore) -> None:
    async with store.lock("user:h", timeout=30):
        with pytest.raises(LockTimeout):
            async with store.lock("user:h", wait=0.2):
                pytest.fail("entered a lock that is held")
    # Released on exit: free again at once.
    async with store.lock("user:h", wait=0):
        pass


async def test_lock_is_released_when_the_body_raises(store: RedisSessionStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("user:h"):
            raise RuntimeError("boom")
    async with store.lock("user:h", wait=0):
        pass


async def test_lock_of_a_holder_that_never_returns_expires(store: RedisSessionStore) -> None:
    # A holder that dies: it took the lock and never leaves the block.
    dead = store.lock("user:h", timeout=0.5)
    await dead.__aenter__()
    with pytest.raises(LockTimeout):
        async with store.lock("user:h", wait=0.05):
            pass
    async with store.lock("user:h", timeout=30, wait=10):
        # The old holder waking up late must not release the lock it no longer owns.
        await dead.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with store.lock("user:h", wait=0.05):
                pass


async def test_cancelled_holder_releases_the_lock(store: RedisSessionStore) -> None:
    entered = asyncio.Event()

    async def holder() -> None:
        async with store.lock("user:h", timeout=30):
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(holder())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with store.lock("user:h", wait=2):
        pass


async def test_ping(store: RedisSessionStore) -> None:
    assert await store.ping() is True


async def test_ping_is_false_when_nothing_listens() -> None:
    s = redis_store(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        assert await s.ping() is False
    finally:
        await s.close()


async def test_embedded_stores_are_private_to_each_instance() -> None:
    a, b = embedded_store(), embedded_store()
    try:
        await a.put("k", {"v": 1}, ttl=60)
        assert await b.get("k") is None
    finally:
        await a.close()
        await b.close()


# --- real Redis only: several connection pools and several processes ----------------------------------------


@pytest.mark.redis
async def test_updates_from_two_connection_pools_lose_nothing(redis_url: str) -> None:
    a, b = redis_store(redis_url), redis_store(redis_url)
    try:

        async def worker(s: RedisSessionStore) -> None:
            for _ in range(10):
                await s.update("counter", _increment, ttl=60)

        await asyncio.gather(*(worker(a if i % 2 else b) for i in range(10)))
        assert await a.get("counter") == {"n": 100}
    finally:
        await a.close()
        await b.close()


@pytest.mark.redis
async def test_lock_excludes_holders_on_two_connection_pools(redis_url: str) -> None:
    a, b = redis_store(redis_url), redis_store(redis_url)
    try:
        state = {"inside": 0, "max_inside": 0}
        await asyncio.gather(*(_guarded_rmw(a if i % 2 else b, "acc", state, 5) for i in range(8)))
        assert state["max_inside"] == 1
        assert await b.get("acc") == {"n": 40}
    finally:
        await a.close()
        await b.close()


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from intake.store import redis_store

    async def main(url, mode, rounds):
        store = redis_store(url)
        if mode == "count":
            for _ in range(rounds):
                async with store.lock("user:shared", timeout=10, wait=30):
                    value = await store.get("acc")
                    await asyncio.sleep(0.001)
                    await store.put("acc", {"n": (value or {"n": 0})["n"] + 1}, ttl=60)
        else:
            held = store.lock("user:shared", timeout=1.5)  # kept referenced: never released
            await held.__aenter__()
            print("held", flush=True)
            await asyncio.sleep(600)
        await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def _spawn(redis_url: str, mode: str, rounds: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, redis_url, mode, str(rounds)],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.redis
async def test_lock_holds_across_processes(redis_url: str) -> None:
    procs = [_spawn(redis_url, "count", 15) for _ in range(3)]
    for p in procs:
        assert await asyncio.to_thread(p.wait, 120) == 0
    s = redis_store(redis_url)
    try:
        assert await s.get("acc") == {"n": 45}
    finally:
        await s.close()


@pytest.mark.redis
async def test_lock_of_a_killed_process_expires(redis_url: str) -> None:
    proc = _spawn(redis_url, "hold")
    s = redis_store(redis_url)
    try:
        assert proc.stdout is not None
        assert await asyncio.to_thread(proc.stdout.readline) == "held\n"
        with pytest.raises(LockTimeout):
            async with s.lock("user:shared", wait=0.1):
                pass
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
        async with s.lock("user:shared", wait=10):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        await s.close()


@pytest.mark.redis
async def test_redis_cli_reads_the_value_as_json(redis_url: str) -> None:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed (Debian package redis-tools)")
    s = redis_store(redis_url)
    try:
        await s.put("sess:line:h", {"step": "ask_field", "fields": ["障害"]}, ttl=60)
    finally:
        await s.close()
    out = subprocess.run(
        [cli, "-u", redis_url, "--no-raw", "GET", "intake:sess:line:h"], capture_output=True, check=True
    ).stdout
    raw = subprocess.run(
        [cli, "-u", redis_url, "--raw", "GET", "intake:sess:line:h"], capture_output=True, check=True
    ).stdout
    assert out.startswith(b'"{')
    assert json.loads(raw.decode("utf-8")) == {"step": "ask_field", "fields": ["障害"]}
