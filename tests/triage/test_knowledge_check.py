"""The admins' regression check: schema problems with FILE:LINE, and examples triaged unlike their labels."""

from __future__ import annotations

import shutil
from pathlib import Path

from triage import Triager
from triage.lexicon import TriageKnowledgeError

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE / "_common" / "triage", dst / "_common" / "triage")
    return dst


def test_shipped_vocabulary_is_clean() -> None:
    for pack in (None, "demo", "nomi", "chuo", "iizuka", "daisen", "yuzawa"):
        assert Triager.check(KNOWLEDGE, pack) == [], pack


def test_schema_problems_carry_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    bad = root / "_common" / "triage" / "zz_bad.yaml"
    bad.write_text(
        "groups:\n"
        "  - id: dementia_signs\n"  # duplicate id
        "    terms: [x]\n"
        "  - id: new_group\n"
        "    fields: [介護, 医療]\n"  # unknown field
        "    colour: red\n"  # unknown key
        "    patterns: ['(unclosed']\n"
        "    suppressed_by: [nowhere]\n",
        encoding="utf-8",
    )
    problems = Triager.check(root, None)
    text = "\n".join(str(p) for p in problems)
    assert f"{bad}:2: group 'dementia_signs': duplicate id" in text
    assert f"{bad}:5: group 'new_group': unknown field '医療'" in text
    assert f"{bad}:6: group: unknown key 'colour'" in text
    assert "bad regular expression" in text
    assert "unknown group 'nowhere'" in text


def test_load_refuses_a_broken_vocabulary(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "_common" / "triage" / "kaigo.yaml").write_text("groups: [\n", encoding="utf-8")
    try:
        Triager.load(root, None, cache_dir=tmp_path / "cache")
    except TriageKnowledgeError as exc:
        assert exc.problems[0].file.endswith("kaigo.yaml")
    else:
        raise AssertionError("a broken vocabulary must not load")


def test_examples_triaged_unlike_their_labels_are_reported(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pack = root / "testpack" / "triage"
    pack.mkdir(parents=True)
    (pack / "examples.yaml").write_text(
        "examples:\n  - {text: 住民票がほしいです, fields: [介護]}\n", encoding="utf-8"
    )
    problems = Triager.check(root, "testpack")
    assert len(problems) == 1
    assert problems[0].line == 2
    assert "out_of_scope" in problems[0].message and "介護" in problems[0].message


def test_pack_additions_feed_the_user_dictionary(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pack = root / "town" / "triage"
    pack.mkdir(parents=True)
    (pack / "local.yaml").write_text(
        "user_dictionary:\n  - {word: ほげ相談センター, proper: true}\n"
        "groups:\n  - id: town_care\n    fields: [介護]\n    weight: 2\n    terms: [ほげ相談センター]\n",
        encoding="utf-8",
    )
    t = Triager.load(root, "town", cache_dir=tmp_path / "cache")
    assert t.analyzer.lemmas("ほげ相談センター") == ["ほげ相談センター"]
    assert [f.value for f in t.triage("ほげ相談センターに行きたい").fields] == ["介護"]
    assert list((tmp_path / "cache").glob("welfare-*.dic"))
