"""Any string gives a valid result, never an exception (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import Triager
from triage.types import FIELD_ORDER, TriageResult


def _valid(r: TriageResult, text: str) -> None:
    assert r.text == text
    assert set(r.fields) <= set(FIELD_ORDER)
    assert r.complex == (len(r.fields) >= 2)
    if r.out_of_scope:
        assert r.fields == [] and not r.crisis
    else:
        assert r.fields
    for e in r.evidence:
        assert 0 <= e.start <= e.end <= len(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text(triager: Triager, text: str) -> None:
    _valid(triager.triage(text), text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            ["介護", "😢", "\u0000", "ｶﾞ", "！！！", "ーーー", "abc", "死にたい", "\u200d", " ", "\n", "家賃"]
        ),
        max_size=40,
    ).map("".join)
)
def test_mixed_fragments(triager: Triager, text: str) -> None:
    _valid(triager.triage(text), text)


def test_edge_cases(triager: Triager) -> None:
    for text in ["", "   ", "😢😢😢", "🙏", "\x00\x01\x7f", "abc xyz", "한국어 中文 русский 日本語"]:
        _valid(triager.triage(text), text)
    assert triager.triage("").out_of_scope is True


def test_very_long_text(triager: Triager) -> None:
    text = ("母の物忘れがひどい。" * 400) + "もう死にたい"
    assert len(text) > 4000
    r = triager.triage(text)
    _valid(r, text)
    assert r.crisis is True
    assert any(text[e.start : e.end] == "死にたい" for e in r.evidence)
    huge = "あ" * 60_000
    _valid(triager.triage(huge), huge)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_normalised_offsets_map_back_in_order(text: str) -> None:
    from triage.normalize import normalize

    nz = normalize(text)
    spans = [nz.original_span(i, i + 1) for i in range(len(nz.text))]
    last_end = 0
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert end > last_end or (end == last_end and start < end)  # spans never run backwards
        last_end = end
