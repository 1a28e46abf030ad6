"""Speed of ``intake triage`` against SudachiPy tokenisation alone, both as whole processes on the same texts.

Generates N messages (default 60,000) by varying the texts of a labelled file (prefixes, suffixes, numbers,
dialect endings, emoji), then times, in the same run and alternating, the best of R runs of:

* baseline: a Python process that loads the Sudachi dictionary, tokenises each line in mode C and writes the
  normalised forms (what any Sudachi-based pipeline does at the least);
* sudachipy command: ``sudachipy tokenize -m C`` (SudachiPy's own command line, every morpheme printed);
* triage: ``intake triage --pack P`` as shipped (one forked worker per usable core for inputs this large);
* triage on one core: ``intake triage --pack P --workers 1`` (its time is the CPU cost of triage);
* the same with the pure-Python pattern index instead of Hyperscan (``INTAKE_TRIAGE_PREFILTER=bigram``).

Wall-clock and CPU (user + system of the whole process tree) are printed for each.

Usage: ``.venv/bin/python benchmarks/triage_speed.py [--n 60000] [--runs 3] [--pack demo] [--source FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FALLBACK_TEXTS = [
    "母の物忘れがひどくて仕事との両立がもう限界です",
    "息子が不登校で家から出てきません",
    "家賃が払えなくて困っています",
    "障害者手帳の申請をしたいです",
    "住民票はどこで取れますか",
]

BASELINE = r"""
import sys
from sudachipy import Dictionary, SplitMode
tok = Dictionary().tokenizer(SplitMode.C)
out = sys.stdout
for line in sys.stdin:
    out.write(" ".join(m.normalized_form() for m in tok.tokenize(line.rstrip("\n"))))
    out.write("\n")
"""

PREFIXES = [
    "",
    "",
    "すみません、",
    "こんにちは。",
    "あの…",
    "相談です。",
    "初めて連絡します。",
    "夜分にすみません。",
]
SUFFIXES = ["", "", "。", "😢", "よろしくお願いします", "どうしたらいいですか", "！！", "…", "🙏"]


def messages(source: Path, n: int, seed: int = 7) -> list[str]:
    texts = FALLBACK_TEXTS
    if source.exists():
        texts = [
            json.loads(line)["text"]
            for line in source.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        text = texts[i % len(texts)]
        text = text.replace("3", str(rnd.randint(2, 9))).replace("80", str(rnd.randint(70, 95)))
        out.append(f"{rnd.choice(PREFIXES)}{text}{rnd.choice(SUFFIXES)}".replace("\n", " "))
    return out


def timed(cmd: list[str], stdin: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of the whole child process and its workers."""
    with stdin.open("rb") as fin:
        before = os.times()
        start = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=subprocess.DEVNULL, check=True, env=env)
        wall = time.perf_counter() - start
        after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pack", default="demo")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = ap.parse_args()

    intake = shutil.which("intake", path=str(Path(sys.executable).parent)) or "intake"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "messages.txt"
        msgs = messages(args.source, args.n)
        data.write_text("\n".join(msgs) + "\n", encoding="utf-8")
        chars = sum(len(m) for m in msgs)
        # warm-up: builds the user dictionary cache once (as a deployment does at first start)
        subprocess.run(
            [intake, "triage", "--pack", args.pack], input=b"warm up\n", stdout=subprocess.DEVNULL, check=True
        )
        sudachi_cmd = shutil.which("sudachipy", path=str(Path(sys.executable).parent)) or "sudachipy"
        bigram_env = {**os.environ, "INTAKE_TRIAGE_PREFILTER": "bigram"}
        rows: dict[str, list[tuple[float, float]]] = {
            "python loop: Sudachi mode C, normalised forms": [],
            "sudachipy tokenize -m C": [],
            f"intake triage --pack {args.pack} (as shipped)": [],
            "intake triage --workers 1 (one core)": [],
            "  same, pure-Python pattern index": [],
        }
        names = list(rows)
        for _ in range(args.runs):
            rows[names[0]].append(timed([sys.executable, "-c", BASELINE], data))
            rows[names[1]].append(timed([sudachi_cmd, "tokenize", "-m", "C", str(data)], Path(os.devnull)))
            rows[names[2]].append(timed([intake, "triage", "--pack", args.pack], data))
            rows[names[3]].append(timed([intake, "triage", "--pack", args.pack, "--workers", "1"], data))
            rows[names[4]].append(
                timed([intake, "triage", "--pack", args.pack, "--workers", "1"], data, bigram_env)
            )
    print(
        f"messages: {args.n:,}  characters: {chars:,}  runs: {args.runs} (best of)  cores: {os.cpu_count()}"
    )
    base_wall = min(t[0] for t in rows[names[0]])
    base_cpu = min(t[1] for t in rows[names[0]])
    print(f"{'process':48} {'wall s':>7} {'CPU s':>7} {'msgs/s':>8} {'wall ratio':>10} {'CPU ratio':>9}")
    for name, times in rows.items():
        wall = min(t[0] for t in times)
        cpu = min(t[1] for t in times)
        print(
            f"{name:48} {wall:7.2f} {cpu:7.2f} {args.n / wall:8,.0f} {wall / base_wall:10.2f} {cpu / base_cpu:9.2f}"
        )
    print("ratios: to the Python loop (target for triage: <= 1.50)")


if __name__ == "__main__":
    main()
