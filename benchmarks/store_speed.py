"""Speed of the session store, embedded (fakeredis in process) and on a real redis-server.

Times the operations one LINE event costs (``claim`` for deduplication, ``lock`` on the resident, ``update`` of the
dialog session) one after another and with many residents at once, plus the same update contended by many tasks
on one key (the atomic retry loop). A private ``redis-server`` is started on a free port when the binary is there.

Usage: ``.venv/bin/python benchmarks/store_speed.py [--ops 2000] [--concurrency 50] [--redis-url URL]``
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.store import RedisSessionStore, embedded_store, redis_store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = _free_port()
    tmp = tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def _step(old: dict[str, Any] | None) -> dict[str, Any]:
    state = old or {"step": "greet", "turns": 0, "fields": []}
    return {**state, "step": "ask_field", "turns": state["turns"] + 1}


async def one_event(store: RedisSessionStore, i: int) -> None:
    """What the webhook does per event: dedup, lock the resident, update the dialog session."""
    await store.claim(f"line:evt:{i}", ttl=86400)
    async with store.lock(f"user:{i % 500}", timeout=10, wait=30):
        await store.update(f"sess:line:{i % 500}", _step, ttl=86400)


async def timed(n: int, concurrency: int, op: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def run(i: int) -> None:
        async with sem:
            t = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(n)))
    return time.perf_counter() - start, latencies


def _row(name: str, backend: str, n: int, total: float, lat: list[float]) -> str:
    lat = sorted(lat)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return f"| {name} | {backend} | {n / total:,.0f} | {p50:.2f} | {p99:.2f} |"


async def bench(store: RedisSessionStore, backend: str, ops: int, concurrency: int) -> list[str]:
    rows = []
    total, lat = await timed(ops, 1, lambda i: one_event(store, i))
    rows.append(_row("event (claim+lock+update), sequential", backend, ops, total, lat))
    total, lat = await timed(ops, concurrency, lambda i: one_event(store, ops + i))
    rows.append(_row(f"event, {concurrency} residents at once", backend, ops, total, lat))

    async def contended(i: int) -> None:
        await store.update("sess:line:hot", _step, ttl=86400)

    total, lat = await timed(ops, concurrency, contended)
    final = await store.get("sess:line:hot")
    assert final is not None and final["turns"] == ops, "lost an update"
    rows.append(_row(f"update of one key by {concurrency} tasks", backend, ops, total, lat))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--redis-url", default=None, help="an existing server (its database is flushed)")
    args = parser.parse_args()

    print("| operation | store | ops/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    store = embedded_store()
    for row in await bench(store, "embedded", args.ops, args.concurrency):
        print(row, flush=True)
    await store.close()

    with private_redis() as url:
        url = args.redis_url or url
        if url is None:
            print("(redis-server not installed: real Redis skipped)")
            return
        store = redis_store(url)
        await store.client.flushdb()
        for row in await bench(store, "redis-server", args.ops, args.concurrency):
            print(row, flush=True)
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
