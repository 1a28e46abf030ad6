"""``intake triage`` and ``intake eval`` as in CONTRACT.md."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from intake.cli import app


def test_triage_reads_text_and_json_lines() -> None:
    result = CliRunner().invoke(
        app, ["triage", "--pack", "demo"], input='母の物忘れがひどい\n{"text": "もう消えたい"}\n\n'
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert len(lines) == 3
    assert lines[0]["fields"] == ["介護"] and lines[0]["complex"] is False
    assert lines[1]["crisis"] is True and lines[1]["text"] == "もう消えたい"
    assert lines[2]["out_of_scope"] is True
    for line in lines:
        assert {"text", "fields", "complex", "crisis", "out_of_scope", "evidence"} <= set(line)


def test_eval_prints_metrics_and_misses(tmp_path: Path) -> None:
    f = tmp_path / "mini.jsonl"
    rows = [
        {"id": "a", "text": "母の物忘れがひどい", "fields": ["介護"], "crisis": False, "out_of_scope": False},
        {"id": "b", "text": "住民票がほしい", "fields": [], "crisis": False, "out_of_scope": True},
        {"id": "c", "text": "住民票がほしい!", "fields": ["困窮"], "crisis": False, "out_of_scope": False},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(f), "--pack", "demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "macro-F1" in out and "complex" in out and "crisis   recall" in out and "out_of_scope" in out
    misses = [x for x in out.splitlines() if x.startswith("MISS ")]
    assert len(misses) == 1 and misses[0].startswith("MISS c ")


def test_eval_rejects_a_malformed_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text("{not json\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(f)])
    assert result.exit_code == 2


def test_threads_keep_order_and_results() -> None:
    lines = [f"母の物忘れ{i}回目" if i % 3 else f"家賃が{i}か月払えない" for i in range(700)]
    stdin = "\n".join(lines) + "\n"
    one = CliRunner().invoke(app, ["triage", "--pack", "demo"], input=stdin)
    two = CliRunner().invoke(app, ["triage", "--pack", "demo", "--threads", "3"], input=stdin)
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert one.output == two.output
    assert [json.loads(x)["text"] for x in two.output.splitlines()] == lines


def test_bad_bytes_and_odd_json_still_get_one_line_each() -> None:
    stdin = (
        b"\xff\xfe broken utf-8 \xe3\x81\n" + b'{"text": "\\ud800 lone surrogate"}\n' + b'{"not": "text"}\n'
    )
    result = CliRunner().invoke(app, ["triage", "--pack", "demo"], input=stdin)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert len(lines) == 3
    assert all(isinstance(x["fields"], list) for x in lines)
