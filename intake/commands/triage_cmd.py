"""``intake triage`` and ``intake eval`` (owned by the triage part). Heavy imports stay inside the commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import typer


def _triager(pack: str | None) -> object:
    from intake.settings import get_settings
    from triage import Triager
    from triage.lexicon import TriageKnowledgeError

    settings = get_settings()
    try:
        return Triager.load(settings.knowledge_dir(), pack or settings.intake_pack)
    except TriageKnowledgeError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from exc


def _encoder() -> Callable[[dict[str, object]], bytes]:
    """One JSON line as UTF-8 bytes: orjson (about 4x faster than json here), json when it is missing."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; keep the CLI working without it
        import json

        return lambda d: (json.dumps(d, ensure_ascii=False) + "\n").encode()
    import json as std_json

    dumps = orjson.dumps

    def encode(d: dict[str, object]) -> bytes:
        try:
            return dumps(d) + b"\n"
        except TypeError:  # e.g. a lone surrogate from a JSON "\\ud800" escape: plain json escapes it
            return (std_json.dumps(d) + "\n").encode()

    return encode


def _fork_available() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


# The batch function of the current command, inherited by forked workers (set just before they start).
_MANY: Callable[[list[bytes]], bytes] | None = None


def _triage_batch(lines: list[bytes]) -> bytes:
    assert _MANY is not None
    return _MANY(lines)


def _in_workers(
    many: Callable[[list[bytes]], bytes], lines: Iterator[bytes], out: BinaryIO, workers: int
) -> None:
    """Batches of lines to ``workers`` forked processes (the loaded Triager and the Sudachi dictionary are
    inherited, not loaded again); answers are written in input order."""
    import gc
    import multiprocessing
    from itertools import islice

    global _MANY
    _MANY = many
    batches = iter(lambda: list(islice(lines, _BATCH)), [])
    # the loaded vocabulary and model (hundreds of MB of objects) move to the collector's permanent generation: the
    # workers' collections then never walk them, and their pages stay shared with this process (copy-on-write)
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for chunk in pool.imap(_triage_batch, batches):
                out.write(chunk)
    finally:
        gc.unfreeze()


_BATCH = 500  # lines per task of a worker
_STAGE = 256  # lines triaged stage by stage in the command's own process
_AUTO_MIN_LINES = 4 * _BATCH  # fewer lines than this are triaged in the command's own process


def _usable_cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def register(app: typer.Typer) -> None:
    @app.command("triage")
    def triage_cmd(
        pack: str = typer.Option(None, "--pack", help="Knowledge pack id (default: INTAKE_PACK)."),
        threads: int = typer.Option(
            1,
            "--threads",
            min=1,
            max=32,
            help="Tokenise on N threads (Sudachi releases the GIL); output order kept.",
        ),
        workers: int = typer.Option(
            0,
            "--workers",
            min=0,
            max=32,
            help="Triage in N forked processes (one core each; dictionary shared); output order kept. "
            f"0 (default): one per usable core when the input has {_AUTO_MIN_LINES:,} lines or more.",
        ),
    ) -> None:
        """Triage messages from stdin (one per line, text or JSON with "text"); one JSON object per line out."""
        import json
        import sys
        from itertools import chain, islice

        from triage import Triager

        triager = _triager(pack)
        assert isinstance(triager, Triager)
        triage_many = triager.triage_contracts
        encode = _encoder()

        def text_of(raw: bytes) -> str:
            # invalid UTF-8 from a pipe is replaced, never fatal: every line gets its answer
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                        return str(obj["text"])
                except ValueError:
                    pass  # not JSON after all: triage the line as written
            return line

        def many(raw: list[bytes]) -> bytes:
            # a batch goes through triage stage by stage (Triager.triage_contracts): same answers, faster
            return b"".join([encode(d) for d in triage_many([text_of(x) for x in raw])])

        stdin = sys.stdin.buffer
        out = sys.stdout.buffer
        lines: Iterator[bytes] = iter(stdin)
        interactive = stdin.isatty()
        if workers == 0 and (threads > 1 or interactive):
            workers = 1  # a person typing gets each answer at once, never waits for 2,000 lines
        if workers == 0:
            # a batch of many lines is worth the machine's cores; a few lines are not worth a fork
            head = list(islice(lines, _AUTO_MIN_LINES))
            many_lines = len(head) == _AUTO_MIN_LINES
            workers = _usable_cores() if many_lines else 1
            lines = chain(head, lines)
        if workers > 1 and _fork_available():
            _in_workers(many, lines, out, workers)
        elif threads == 1:
            # someone typing at a terminal gets each answer at once; a file or a pipe goes in batches
            size = 1 if interactive else _STAGE
            while batch := list(islice(lines, size)):
                out.write(many(batch))
                if size == 1:
                    out.flush()
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads) as pool:
                while batch := list(islice(lines, 256 * threads)):
                    size = -(-len(batch) // threads)
                    parts = [batch[i : i + size] for i in range(0, len(batch), size)]
                    for chunk in pool.map(many, parts):
                        out.write(chunk)
        out.flush()

    @app.command("eval")
    def eval_cmd(
        file: str = typer.Argument(..., help="Labelled JSONL file (eval/LABELS.md)."),
        pack: str = typer.Option(None, "--pack", help="Knowledge pack id (default: INTAKE_PACK)."),
        split: str = typer.Option(
            None, "--split", help="tune or held: the ~70/30 part by sha256(id) (held-out part: figures only)."
        ),
    ) -> None:
        """Triage metrics on a labelled file: per-field P/R/F1, macro-F1, complex, crisis, out-of-scope, misses."""
        from pathlib import Path

        from triage import Triager
        from triage.evaluate import LabelError, evaluate, in_split, read_labelled

        try:
            rows = read_labelled(Path(file))
        except (OSError, LabelError) as exc:
            typer.echo(f"cannot read {file}: {exc}", err=True)
            raise typer.Exit(2) from exc
        if split is not None:
            if split not in ("tune", "held"):
                raise typer.BadParameter("use tune or held", param_hint="--split")
            rows = [r for r in rows if in_split(r.id) == split]
        triager = _triager(pack)
        assert isinstance(triager, Triager)
        report = evaluate(rows, triager.triage)
        for line in report.lines():
            typer.echo(line)
        if split == "held":
            typer.echo(f"{len(report.misses)} misses (not shown for the held-out part)")
            return
        for line in report.misses:
            typer.echo(line)
