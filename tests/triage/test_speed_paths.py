"""The fast paths give the same answers as the plain ones: the CLI's JSON (no pydantic models), forked workers
and the cached vocabulary (the pattern prefilter: test_prefilter.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from intake.cli import app
from triage import Triager
from triage.lexicon import read_vocabulary, read_vocabulary_cached

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

# Written for these tests: every kind of evidence (terms, phrases, patterns, negations, ages, crisis, fallback,
# out of scope) and the inputs that take the slow normalisation path (emoji, repeated marks, half-width kana).
MESSAGES = [
    "母の物忘れがひどくて、夜中に出て行こうとします",
    "80歳の父と15歳の娘のことで相談です🙏",
    "介護は必要ないけど、家賃が3か月払えない！！！",
    "もう消えたい…",
    "息子が何年も部屋から出てこない",
    "夫に殴られて、何日も食べていません",
    "住民票を取りたいです",
    "ｶﾞｯｺｳに行けない　ﾑｽﾒ😢😢",
    "かいごのそうだんをしたい",
    "",
    "😭😭😭",
    "障害者手帳ありません。ＡＢＣ",
    "x" * 5000,
]


def _dev_texts(n: int) -> list[str]:
    if not DEV.exists():
        return []
    lines = DEV.read_text(encoding="utf-8").splitlines()
    return [json.loads(x)["text"] for x in lines[:n] if x.strip()]


def _stdin(texts: list[str]) -> str:
    # one JSON line per message, so that texts with newlines stay one message
    return "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)


def test_cli_lines_equal_the_library_result(triager: Triager) -> None:
    texts = MESSAGES + _dev_texts(120)
    result = CliRunner().invoke(app, ["triage", "--pack", "demo"], input=_stdin(texts))
    assert result.exit_code == 0, result.output
    got = [json.loads(x) for x in result.output.splitlines()]
    want = [json.loads(json.dumps(triager.triage(t).contract_dict())) for t in texts]
    assert len(got) == len(texts)
    for text, g, w in zip(texts, got, want, strict=True):
        assert g == w, text[:40]


def test_forked_workers_keep_order_and_results() -> None:
    from intake.commands.triage_cmd import _AUTO_MIN_LINES

    texts = [
        f"{MESSAGES[i % len(MESSAGES)][:300]} {i}" for i in range(_AUTO_MIN_LINES + 100)
    ]  # several batches
    one = CliRunner().invoke(app, ["triage", "--pack", "demo", "--workers", "1"], input=_stdin(texts))
    two = CliRunner().invoke(app, ["triage", "--pack", "demo", "--workers", "2"], input=_stdin(texts))
    auto = CliRunner().invoke(app, ["triage", "--pack", "demo"], input=_stdin(texts))  # one worker per core
    assert one.exit_code == 0 and two.exit_code == 0 and auto.exit_code == 0, two.output
    assert two.output == one.output
    assert auto.output == one.output
    assert [json.loads(x)["text"] for x in two.output.splitlines()] == texts


def test_cached_vocabulary_equals_a_fresh_read_and_follows_edits(tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge" / "_common" / "triage", root / "_common" / "triage")
    cache = tmp_path / "cache"
    fresh, problems = read_vocabulary(root, None)
    assert problems == []
    first, _ = read_vocabulary_cached(root, None, cache)
    again, _ = read_vocabulary_cached(root, None, cache)
    assert list(cache.glob("vocab-*.pickle"))
    assert first == fresh and again == fresh

    extra = root / "_common" / "triage" / "zz_extra.yaml"
    extra.write_text(
        "groups:\n  - id: zz_test_group\n    fields: [困窮]\n    weight: 2\n    terms: [電気代]\n",
        encoding="utf-8",
    )
    edited, _ = read_vocabulary_cached(root, None, cache)
    assert "zz_test_group" in {g.id for g in edited.groups}
    t = Triager.load(root, None, cache_dir=cache)
    assert any(e.rule == "zz_test_group" for e in t.triage("電気代がたまっています").evidence)

    extra.write_text("groups: [\n", encoding="utf-8")  # broken: reported, never served from the cache
    _, problems = read_vocabulary_cached(root, None, cache)
    assert problems and problems[0].file.endswith("zz_extra.yaml")


def test_required_parts_of_a_group_that_stops_early_are_not_extended() -> None:
    """A repeat inside a group ends what is known of the match's start: 「3日目」 must still select the pattern
    (the prefilter once filed it under 「3目」, which never occurs, so the pattern silently never ran)."""
    import re

    from triage.regexes import required_parts

    pattern = "([0-9二三]+\\s?日|みっか)(目|に)"
    parts = required_parts(pattern)
    for text in ("もう3日目です", "三日目になります", "みっかめ", "みっかに一回"):
        if re.search(pattern, text):
            assert all(any(p in text for p in part) for part in parts), (text, parts)
    assert required_parts("(親|母)[^。]{0,10}(嫌味|暴言)") == [
        frozenset({"親", "母"}),
        frozenset({"嫌味", "暴言"}),
    ]


def test_a_batch_triaged_stage_by_stage_equals_one_message_at_a_time(triager: Triager) -> None:
    texts = MESSAGES + _dev_texts(240) + ["\x00\x01", " ", "😭" * 3]
    assert triager.triage_contracts(texts) == [triager.triage_contract(t) for t in texts]
    assert triager.triage_contracts([]) == []


def test_a_person_typing_at_a_terminal_gets_each_answer_before_the_next_line() -> None:
    """Batches and workers are for files and pipes: at a terminal the answer to a line comes at once."""
    import os
    import pty
    import select
    import subprocess
    import sys

    primary, secondary = pty.openpty()
    intake = Path(sys.executable).parent / "intake"
    proc = subprocess.Popen(
        [str(intake), "triage", "--pack", "demo"], stdin=secondary, stdout=subprocess.PIPE, cwd=ROOT
    )
    os.close(secondary)
    try:
        os.write(primary, "家賃が払えません\n".encode())
        assert proc.stdout is not None
        ready, _, _ = select.select(
            [proc.stdout], [], [], 60
        )  # generous: start-up, not speed, is measured here
        assert ready, "no answer while the terminal is still open"
        answer = json.loads(proc.stdout.readline())
        assert answer["text"] == "家賃が払えません" and "困窮" in answer["fields"]
    finally:
        os.write(primary, b"\x04")  # end of input
        proc.wait(timeout=60)
        os.close(primary)
