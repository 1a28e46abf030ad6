"""``intake knowledge check``: exit 0 when all is well, each problem as FILE:LINE: message, non-zero on errors."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge_helpers import KNOWLEDGE, edit, line_no
from typer.testing import CliRunner

from intake.cli import app


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_of_the_repository_passes_and_lists_the_gaps_as_warnings() -> None:
    code, out, err = run("knowledge", "check", str(KNOWLEDGE))
    assert code == 0, out
    lines = out.splitlines()
    assert lines and all(re.match(r"^\S+\.yaml:\d+: warning: ", ln) for ln in lines)
    assert "0 error(s)" in err and "demo" in err


def test_quiet_check_prints_nothing_when_all_is_well() -> None:
    code, out, _ = run("knowledge", "check", "--quiet", str(KNOWLEDGE))
    assert code == 0 and out == ""


def test_check_fails_on_a_broken_edit_and_prints_file_and_line(knowledge_copy: Path) -> None:
    path = knowledge_copy / "daisen" / "pack.yaml"
    edit(path, "      kind: without_consent\n", "      kind: no_consent\n")
    code, out, err = run("knowledge", "check", "-q", str(knowledge_copy))
    assert code == 1
    line = line_no(path, "kind: no_consent")
    assert f"{path}:{line}: municipality.collaboration.without_consent.kind: Input should be" in out
    assert "1 error(s)" in err


def test_check_of_a_missing_directory_fails(tmp_path: Path) -> None:
    code, out, _ = run("knowledge", "check", str(tmp_path / "nothing"))
    assert code == 1 and "no such knowledge directory" in out


def test_packs_lists_every_pack_with_its_version() -> None:
    code, out, _ = run("knowledge", "packs", str(KNOWLEDGE))
    assert code == 0
    listed = dict(line.split("\t") for line in out.splitlines())
    assert {"nomi", "chuo", "iizuka", "daisen", "yuzawa", "demo"} <= set(listed)
    assert all(len(v) == 16 for v in listed.values())
