"""Speed of ``intake triage`` against SudachiPy tokenisation alone, both as whole processes on the same texts.

Generates N messages (default 60,000) by varying the texts of a labelled file (prefixes, suffixes, numbers,
dialect endings, emoji), then times, in the same run and alternating, the best of R runs of:

* baseline: a Python process that loads the Sudachi dictionary, tokenises each line in mode C and writes the
  normalised forms (what any Sudachi-based pipeline does at the least);
* sudachipy command: ``sudachipy tokenize -m C`` (SudachiPy's own command line, every morpheme printed);
* triage: ``intake triage --pack P`` on the same file (dictionary, vocabulary, user dictionary from cache);
* triage in 2 forked workers: ``intake triage --pack P --workers 2`` (wall-clock needs a second free core; its
  CPU time is the figure to compare for cost).

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


def timed(cmd: list[str], stdin: Path) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of the whole child process."""
    with stdin.open("rb") as fin:
        before = os.times()
        start = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=subprocess.DEVNULL, check=True)
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
        base_times, cli_times, triage_times, worker_times = [], [], [], []
        for _ in range(args.runs):
            base_times.append(timed([sys.executable, "-c", BASELINE], data))
            cli_times.append(timed([sudachi_cmd, "tokenize", "-m", "C", str(data)], Path(os.devnull)))
            triage_times.append(timed([intake, "triage", "--pack", args.pack], data))
            worker_times.append(timed([intake, "triage", "--pack", args.pack, "--workers", "2"], data))
    print(f"messages: {args.n:,}  characters: {chars:,}  runs: {args.runs} (best of)")
    for what, idx in (("wall-clock", 0), ("CPU (user+sys)", 1)):
        base = min(t[idx] for t in base_times)
        cli = min(t[idx] for t in cli_times)
        tri = min(t[idx] for t in triage_times)
        wrk = min(t[idx] for t in worker_times)
        print(f"[{what}]")
        print(
            f"  python loop: Sudachi mode C, normalised forms: {base:6.2f} s  {args.n / base:9,.0f} messages/s"
        )
        print(
            f"  sudachipy tokenize -m C:                       {cli:6.2f} s  {args.n / cli:9,.0f} messages/s"
        )
        print(
            f"  intake triage --pack {args.pack}:                   {tri:6.2f} s  {args.n / tri:9,.0f} messages/s"
        )
        print(
            f"  intake triage --workers 2:                     {wrk:6.2f} s  {args.n / wrk:9,.0f} messages/s"
        )
        print(
            f"  ratio triage / python loop: {tri / base:.2f} (target <= 1.50)"
            f"   triage / sudachipy command: {tri / cli:.2f}"
        )
        print(f"  ratio triage --workers 2 / python loop: {wrk / base:.2f}")


if __name__ == "__main__":
    main()
