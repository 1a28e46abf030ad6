"""Speed of the staff desk's hot paths on a database with many tickets.

Fills a fresh SQLite file (or ``--database-url``, e.g. a PostgreSQL URL) with N tickets over W windows, each with a
short transcript, then times:

* inbox: one window's open tickets, urgent first then oldest (``routing.desk.inbox``, 200 rows max, audited);
* ticket: the ticket page's data (transcript, history, notes, outbox; ``routing.desk.open_ticket``, audited);
* page: the whole inbox page over HTTP (session check, query, Jinja2 render) through the ASGI app;
* login: one argon2 password check (the cost of a login attempt);
* outbox: pushes delivered per second by ``routing.outbox.deliver_due`` to a fake LINE API on loopback.

Usage: ``.venv/bin/python benchmarks/desk_speed.py [--tickets 20000] [--windows 10] [--runs 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # fakeline

from sqlalchemy import select  # noqa: E402

from intake.crypto import encrypt, secret_key  # noqa: E402
from intake.db import make_engine, make_sessionmaker, session_scope, utcnow  # noqa: E402
from intake.desk import accounts  # noqa: E402
from intake.knowledge.schema import Pack  # noqa: E402
from intake.migrate import upgrade  # noqa: E402
from intake.settings import Settings  # noqa: E402
from routing import desk, outbox  # noqa: E402
from routing.models import (  # noqa: E402
    Channel,
    Conversation,
    Direction,
    Message,
    Resident,
    Role,
    Sender,
    StaffUser,
    Ticket,
    Urgency,
)

SECRET = "benchmark-secret-" + "b" * 32
TEXTS = [
    "母の物忘れがひどくて仕事との両立がもう限界です",
    "息子が不登校で家から出てきません",
    "家賃が払えなくて困っています",
]


def make_pack(windows: int) -> Pack:
    return Pack.model_validate(
        {
            "municipality": {
                "id": "bench",
                "name": "ベンチ市",
                "general_window_id": "w0",
                "collaboration": {
                    "window_id": "w0",
                    "with_consent": {"name": "重層的支援会議", "kind": "with_consent"},
                    "without_consent": {"name": "支援会議", "kind": "without_consent"},
                },
            },
            "windows": [{"id": f"w{i}", "name": f"窓口{i}", "fields": ["介護"]} for i in range(windows)],
            "crisis_contacts": [{"id": "c", "name": "いのちの電話", "phone": "0120-000-000"}],
            "messages": {},
        }
    )


def fill(url: str, *, tickets: int, windows: int) -> None:
    sessions = make_sessionmaker(make_engine(url))
    key = secret_key(Settings(intake_secret_key=SECRET))  # type: ignore[arg-type]
    enc = encrypt(key, "U" + "a" * 32)
    rng = random.Random(7)
    now = utcnow()
    batch = 1000
    for start in range(0, tickets, batch):
        with session_scope(sessions) as s:
            for i in range(start, min(tickets, start + batch)):
                resident = Resident(
                    pack="bench", channel=Channel.LINE, subject_hash=uuid.uuid4().hex, line_user_id_enc=enc
                )
                conv = Conversation(resident=resident, pack="bench")
                s.add(conv)
                s.flush()
                t = Ticket(
                    number=f"B{i:07d}",
                    pack="bench",
                    knowledge_version="bench",
                    resident_id=resident.id,
                    conversation_id=conv.id,
                    fields=["介護"],
                    urgency=Urgency.URGENT if rng.random() < 0.05 else Urgency.NORMAL,
                    window_id=f"w{rng.randrange(windows)}",
                    created_at=now - timedelta(minutes=rng.randrange(60 * 24 * 365)),
                )
                s.add(t)
                s.flush()
                for j in range(6):
                    s.add(
                        Message(
                            conversation_id=conv.id,
                            ticket_id=t.id,
                            direction=Direction.INBOUND if j % 2 == 0 else Direction.OUTBOUND,
                            sender=Sender.RESIDENT if j % 2 == 0 else Sender.BOT,
                            kind="text",
                            text=TEXTS[j % 3],
                        )
                    )
    with session_scope(sessions) as s:
        accounts.create_staff(
            s,
            login="bench",
            password="benchmark password",
            window_ids=["w1"],
            valid_windows=[f"w{i}" for i in range(windows)],
            pack="bench",
            role=Role.STAFF,
        )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="desk-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    upgrade(url)
    t0 = time.perf_counter()
    fill(url, tickets=args.tickets, windows=args.windows)
    print(
        f"filled {args.tickets} tickets over {args.windows} windows in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})"
    )

    pack = make_pack(args.windows)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as s:
        staff = s.scalars(select(StaffUser)).one()
        actor = desk.Actor.of(staff)
        staff_hash = staff.password_hash
        number = s.scalars(select(Ticket.number).where(Ticket.window_id == "w1")).first()
        assert number is not None

    def inbox() -> object:
        with session_scope(sessions) as s:
            return desk.inbox(s, actor, pack=pack, window_id="w1")

    def ticket() -> object:
        with session_scope(sessions) as s:
            return desk.open_ticket(s, actor, number, pack=pack)

    rows = len(inbox())  # type: ignore[arg-type]
    p50, p95 = timed(inbox, args.runs)
    print(f"inbox ({rows} rows):      p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")
    p50, p95 = timed(ticket, args.runs)
    print(f"ticket page data:     p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")

    p50, p95 = timed(lambda: accounts.verify_password(staff_hash, "benchmark password"), 20)
    print(f"login (argon2 check): p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")

    page_p50, page_p95 = asyncio.run(_page(url, pack, args.runs))
    print(f"inbox page over HTTP: p50 {page_p50:6.2f} ms   p95 {page_p95:6.2f} ms")

    rate = asyncio.run(_outbox(url, args.pushes))
    print(f"outbox to fake LINE:  {rate:6.0f} pushes/s ({args.pushes} pushes)")
    engine.dispose()


class _Holder:
    """Just what the desk reads from the knowledge holder."""

    def __init__(self, pack: Pack) -> None:
        self.current = type("Knowledge", (), {"pack": pack, "version": "bench"})()


async def _page(url: str, pack: Pack, runs: int) -> tuple[float, float]:
    import httpx

    from intake.app import create_app

    app = create_app(Settings(database_url=url, intake_secret_key=SECRET))  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        app.state.resources.knowledge = _Holder(pack)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            form = await client.get("/staff/login")
            csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            done = await client.post(
                "/staff/login", data={"login": "bench", "password": "benchmark password", "csrf": csrf}
            )
            assert done.status_code == 303, done.status_code
            samples = []
            for _ in range(runs):
                t0 = time.perf_counter()
                page = await client.get("/staff/inbox?window=w1")
                samples.append((time.perf_counter() - t0) * 1000)
                assert page.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def _outbox(url: str, pushes: int) -> float:
    from fakeline import FakeLine

    from bot.line import LineGateway
    from intake.app import Resources
    from intake.store import embedded_store

    with FakeLine() as fake:
        settings = Settings(
            database_url=url,
            intake_secret_key=SECRET,  # type: ignore[arg-type]
            line_channel_secret="s",  # type: ignore[arg-type]
            line_channel_access_token="t",  # type: ignore[arg-type]
            line_api_base_url=fake.base_url,
        )
        engine = make_engine(url)
        line = LineGateway(settings)
        res = Resources(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            store=embedded_store(),
            line=line,
        )
        with session_scope(res.sessions) as s:
            residents = s.scalars(select(Resident.id).limit(pushes)).all()
            for rid in residents:
                outbox.enqueue_push(
                    s, resident_id=rid, ticket_id=None, messages=[{"type": "text", "text": "お返事です"}]
                )
        t0 = time.perf_counter()
        done = 0
        while done < len(residents):
            done += await outbox.deliver_due(res)
        elapsed = time.perf_counter() - t0
        await line.close()
        await res.store.close()
        engine.dispose()
    return len(residents) / elapsed


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
