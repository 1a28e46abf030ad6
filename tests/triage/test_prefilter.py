"""The pattern prefilter names every pattern that matches (a superset, never fewer), so that triage answers exactly
as if every pattern ran: with Hyperscan, with the pure-Python bigram index, and for patterns Hyperscan refuses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage import Triager, prefilter
from triage.normalize import normalize

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "knowledge" / "_common" / "triage"
needs_hyperscan = pytest.mark.skipif(prefilter._hs is None, reason="hyperscan wheel not installed here")


@pytest.fixture(scope="module")
def patterns(triager: Triager) -> list[str]:
    return [pat for pat, _gi in triager._patterns]


def _assert_superset(pf: prefilter.Prefilter, patterns: list[str], texts: list[str]) -> int:
    compiled = [re.compile(p) for p in patterns]
    checked = 0
    for text in texts:
        norm = normalize(text).text
        names = set(pf.candidates(norm))
        for pid, rx in enumerate(compiled):
            if rx.search(norm) is not None:
                checked += 1
                assert pid in names, (pf.kind, rx.pattern, text[:40])
    return checked


@needs_hyperscan
def test_hyperscan_names_every_pattern_that_matches_any_labelled_message(
    triager: Triager, patterns: list[str], labelled_texts: list[str]
) -> None:
    pf = triager._prefilter  # built as the product builds it (and cached for the other tests)
    assert pf.kind == "hyperscan"
    assert _assert_superset(pf, patterns, labelled_texts) > 2000  # the messages do exercise the patterns


def test_bigram_index_names_every_pattern_that_matches_any_labelled_message(
    patterns: list[str], labelled_texts: list[str]
) -> None:
    pf = prefilter.BigramPrefilter(patterns)
    assert _assert_superset(pf, patterns, labelled_texts) > 2000


@needs_hyperscan
def test_both_prefilters_give_the_same_triage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, labelled_texts: list[str]
) -> None:
    fast = Triager.load(ROOT / "knowledge", "demo", cache_dir=tmp_path)
    monkeypatch.setenv("INTAKE_TRIAGE_PREFILTER", "bigram")
    plain = Triager.load(ROOT / "knowledge", "demo", cache_dir=tmp_path)
    assert (fast._prefilter.kind, plain._prefilter.kind) == ("hyperscan", "bigram")
    for text in labelled_texts[::3]:
        assert fast.triage_contract(text) == plain.triage_contract(text), text[:40]


@needs_hyperscan
def test_the_compiled_database_is_cached_and_a_broken_cache_is_compiled_again(
    tmp_path: Path, patterns: list[str]
) -> None:
    some = patterns[:40]
    first = prefilter.build(some, tmp_path)
    cached = list(tmp_path.glob("patterns-*.pickle"))
    assert len(cached) == 1
    again = prefilter.build(some, tmp_path)
    text = normalize("もう死にたい。家賃も払えない、母の介護も限界").text
    assert again.candidates(text) == first.candidates(text)
    cached[0].write_bytes(b"not a pickle")
    rebuilt = prefilter.build(some, tmp_path)
    assert rebuilt.kind == "hyperscan" and rebuilt.candidates(text) == first.candidates(text)
    # another pattern list is another database
    prefilter.build(some[:-1], tmp_path)
    assert len(list(tmp_path.glob("patterns-*.pickle"))) == 2


@needs_hyperscan
def test_a_pattern_hyperscan_refuses_still_runs_through_the_bigram_index() -> None:
    # \u escapes are Python's, not PCRE's: Hyperscan refuses the pattern, the bigram index takes it
    pats = ["家賃(が|を)?(払え|はらえ)", "\\u6bba(す|される)", "介護"]
    pf = prefilter.build(pats)
    assert pf.kind == "hyperscan"
    assert pf.candidates("殺される") == [1]
    assert pf.candidates("家賃が払えない、介護も") == [0, 2]
    assert pf.candidates("") == []


@pytest.mark.parametrize(
    ("pattern", "loose"),
    [
        ("(^|[^0-9])([2-5][0-9])歳", "(|[^0-9])([2-5][0-9])歳"),  # an anchor inside a group
        ("^(?!.*介護)仕事", "^(?!.*介護)仕事"),  # a start anchor stays
        ("死ぬ(?=$|。)", "死ぬ(?=|。)"),
        ("[^。]{0,12}(話|聞いて)", "[^。]*(話|聞いて)"),
        ("[0-9]{2,3}歳", "[0-9]{2,}歳"),
        ("[{^$]{1,2}", "[{^$]{1,}"),  # inside a class nothing changes
        ("\\bhelp\\b", "help"),
        ("a{3}b{2,}", "a{3}b{2,}"),
        ("母[^。]?死", "母[^。]*死"),  # an optional element: any number of it
        ("(?:ab)?c\\?", "(?:ab)*c\\?"),  # group syntax and an escaped ? stay
        ("a+?b{3}?c??", "a+b{3}c*"),  # lazy quantifiers: the same matches exist
    ],
)
def test_loosen_drops_anchors_and_opens_bounded_repeats(pattern: str, loose: str) -> None:
    assert prefilter.loosen(pattern) == loose


_PIECES = ["死", "に", "た", "い", "。", "母", "0", "5", "歳", " ", "\n", "a", "が", "[", "^", "$", "{"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_a_loosened_pattern_matches_wherever_the_pattern_does(text: str) -> None:
    for pattern in (
        "(^|[^0-9])([2-5][0-9])歳",
        "(?<![がの])死に(?=たい|。|$)",
        "母[^。]{0,3}死",
        "^[^\\n]{0,5}(いたい|たい)$",
        "母[^。]?死に?た+?い",
    ):
        if re.search(pattern, text) is not None:
            assert re.search(prefilter.loosen(pattern), text) is not None, (pattern, text)


@needs_hyperscan
def test_an_optional_element_of_varying_length_does_not_hide_a_pattern() -> None:
    """Hyperscan 5.4 in UTF-8 mode did not report these patterns on this text although ``no insurance`` matches
    (found on a foreign resident's message in round 12); loosen() writes ``X?`` as ``X*``, which it reports."""
    patterns = [
        "(病院|びょういん)",
        "(?<![a-z])(no|without|don.?t have) (health )?insurance(?![a-z])",
        "(no|without|don[^。]?t have) (health )?insurance",
        "(no|without|don\\s?t have) (health )?insurance",
    ]
    pf = prefilter.build(patterns)
    assert pf.kind == "hyperscan"
    assert pf.candidates("i am pregnant 5 month. no insurance. hospital very expensive.") == [1, 2, 3]


@needs_hyperscan
def test_threads_scan_at_once_with_their_own_scratch_space(
    triager: Triager, labelled_texts: list[str]
) -> None:
    """The server triages on several threads; Hyperscan forbids two scans sharing a scratch space."""
    from concurrent.futures import ThreadPoolExecutor

    pf = triager._prefilter
    assert pf.kind == "hyperscan"
    texts = [normalize(t).text for t in labelled_texts[:400]]
    want = [pf.candidates(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(pf.candidates, texts * 4))
    assert got == want * 4
