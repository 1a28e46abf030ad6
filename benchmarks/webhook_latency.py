"""Webhook latency on this machine: a real server (uvicorn, the demo pack) on loopback and the fake LINE API.

Prints p50/p95 of
- the webhook's answer time (target < 100 ms): POST /callback until its 200;
- webhook → reply at LINE (target p50 < 1 s): POST /callback sent until the reply request reaches the fake LINE API.

Usage: .venv/bin/python benchmarks/webhook_latency.py [--users 30] [--messages 3] [--burst 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from fakeline import REPLY, FakeLine  # noqa: E402

SECRET = "bench-channel-secret"
TEXTS = ["母の介護のことで困っています", "夜も眠れなくて", "これで送る"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed(events: list[dict[str, object]]) -> tuple[bytes, str]:
    body = json.dumps({"destination": "U" + "f" * 32, "events": events}, ensure_ascii=False).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, sig


def text_event(user: str, text: str) -> dict[str, object]:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {
            "type": "text",
            "id": str(uuid.uuid4().int)[:18],
            "quoteToken": uuid.uuid4().hex,
            "text": text,
        },
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def one(client: httpx.Client, url: str, fake: FakeLine, user: str, text: str) -> tuple[float, float]:
    event = text_event(user, text)
    body, sig = signed([event])
    start = time.monotonic()
    r = client.post(url + "/callback", content=body, headers={"x-line-signature": sig})
    answered = time.monotonic() - start
    assert r.status_code == 200, r.text
    token = event["replyToken"]
    rec = fake.wait_for(REPLY, where=lambda q: q.json.get("replyToken") == token, timeout=30)
    return answered, rec.at - start


async def burst(url: str, fake: FakeLine, n: int) -> tuple[list[float], list[float]]:
    """``n`` users write at the same moment (one asyncio client, so the client itself adds little)."""
    events = [text_event(f"U{10_000 + i:032x}", TEXTS[0]) for i in range(n)]
    signed_bodies = [signed([e]) for e in events]
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        await asyncio.gather(*(client.get(url + "/healthz") for _ in range(n)))  # open the connections

        async def post(body: bytes, sig: str) -> tuple[float, float]:
            start = time.monotonic()
            r = await client.post(url + "/callback", content=body, headers={"x-line-signature": sig})
            assert r.status_code == 200, r.text
            return start, time.monotonic() - start

        results = await asyncio.gather(*(post(b, s) for b, s in signed_bodies))
    answers = [a for _, a in results]
    replies = []
    for (start, _), event in zip(results, events, strict=True):
        token = event["replyToken"]
        rec = await asyncio.to_thread(
            fake.wait_for, REPLY, where=lambda q, t=token: q.json.get("replyToken") == t, timeout=60
        )
        replies.append(rec.at - start)
    return answers, replies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--messages", type=int, default=3)
    ap.add_argument("--burst", type=int, default=30, help="users writing at the same moment")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    db = f"sqlite:///{tmp / 'intake.db'}"
    from intake.migrate import upgrade

    upgrade(db)
    with FakeLine() as fake:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": db,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
            "LINE_API_BASE_URL": fake.base_url,
            "LINE_DATA_API_BASE_URL": fake.base_url,
            "INTAKE_SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "INTAKE_LOG_LEVEL": "WARNING",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "intake.app:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=(tmp / "server.log").open("wb"),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"server did not start; see {tmp / 'server.log'}")
                time.sleep(0.1)

            answer, reply = [], []
            with httpx.Client(timeout=30) as client:
                one(client, url, fake, "U" + "0" * 32, "こんにちは")  # warm-up
                for u in range(args.users):
                    user = f"U{u + 1:032x}"
                    for text in TEXTS[: args.messages]:
                        a, r = one(client, url, fake, user, text)
                        answer.append(a)
                        reply.append(r)

            burst_answer, burst_reply = asyncio.run(burst(url, fake, args.burst))
        finally:
            server.terminate()
            server.wait(20)

    def row(name: str, values: list[float], target: str) -> str:
        return (
            f"| {name} | {len(values)} | {pct(values, 0.5) * 1000:.1f} ms | {pct(values, 0.95) * 1000:.1f} ms "
            f"| {target} |"
        )

    print(f"webhook latency, {os.cpu_count()} cores, store: {'redis' if env.get('REDIS_URL') else 'embedded'}, "
          f"database: SQLite, LINE: fake on loopback")  # fmt: skip
    print("| measure | n | p50 | p95 | target |")
    print("|---|---|---|---|---|")
    print(row("webhook answer (one at a time)", answer, "< 100 ms"))
    print(row("webhook → reply at LINE (one at a time)", reply, "p50 < 1 s"))
    print(row(f"webhook answer ({args.burst} users at once)", burst_answer, "< 100 ms"))
    print(row(f"webhook → reply at LINE ({args.burst} users at once)", burst_reply, "p50 < 1 s"))
    print(f"(mean answer {statistics.mean(answer) * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
