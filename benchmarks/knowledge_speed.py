"""Speed of the knowledge part: loading and checking packs, publishing a reload, and routing decisions.

Times, on the repository's ``knowledge/`` (best of R runs, each on a private copy where files are edited):

* load: ``load_pack`` of one pack (YAML with line numbers, schema, cross references);
* check: ``intake knowledge check`` of every pack in-process (includes the triage example sentences);
* reload: ``KnowledgeHolder.reload`` after an edit (check + triager build + swap), what a publish costs;
* poll: one content-hash poll with nothing changed (what every process does every few seconds);
* route: ``routing.route`` decisions per second over a mix of single-field, complex, area and crisis cases.

Usage: ``.venv/bin/python benchmarks/knowledge_speed.py [--runs 5] [--routes 20000]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.knowledge import KnowledgeHolder, check, list_packs, load_pack  # noqa: E402
from routing.route import route  # noqa: E402


def best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--routes", type=int, default=20000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        kdir = Path(tmp) / "knowledge"
        shutil.copytree(ROOT / "knowledge", kdir)
        packs = list_packs(kdir)
        print(f"packs: {', '.join(packs)}")
        rows = []
        load = best(args.runs, lambda: load_pack(kdir, "nomi"))
        rows.append(("load_pack (nomi)", f"{load * 1000:.0f} ms"))
        full = best(max(1, args.runs // 2), lambda: check(kdir))
        rows.append((f"knowledge check ({len(packs)} packs)", f"{full * 1000:.0f} ms"))

        holder = KnowledgeHolder.open(kdir, "nomi")
        path = kdir / "nomi" / "windows.yaml"
        original = path.read_text(encoding="utf-8")
        counter = iter(range(10**6))

        def publish() -> None:
            path.write_text(original + f"# edit {next(counter)}\n", encoding="utf-8")
            assert holder.reload().changed

        rows.append(("reload after an edit (nomi)", f"{best(args.runs, publish) * 1000:.0f} ms"))
        rows.append(("poll, nothing changed", f"{best(args.runs * 4, holder.poll_once) * 1000:.1f} ms"))

        pack = holder.current.pack
        cases: list[tuple[list[str], dict[str, object]]] = [
            (["介護"], {"area": "寺井"}),
            (["介護"], {}),
            (["障害"], {}),
            (["狭間"], {"area": "てらい"}),
            (["介護", "狭間"], {"area": "根上", "consent": True}),
            (["子ども", "困窮"], {"consent": False}),
            (["困窮"], {"crisis": True, "crisis_kinds": ["no_food"]}),
        ]
        started = time.perf_counter()
        for i in range(args.routes):
            fields, kw = cases[i % len(cases)]
            route(pack, fields, **kw)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        rows.append(
            (
                "route decisions",
                f"{args.routes / elapsed:,.0f} /s ({elapsed / args.routes * 1e6:.0f} µs each)",
            )
        )

    width = max(len(r[0]) for r in rows)
    for name, figure in rows:
        print(f"{name:<{width}}  {figure}")


if __name__ == "__main__":
    main()
