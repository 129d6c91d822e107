"""The selector grammar: examples, errors that point at the offending position, and properties over any input."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lip.routing.selector import Choice, Leaf, Selector, SelectorError, parse_selector

# ---------------------------------------------------------------- examples


def test_single_leaf() -> None:
    assert parse_selector("provider123:deepseek-chat") == Selector((Choice((Leaf("provider123", "deepseek-chat"),)),))


def test_model_may_contain_colons_and_slashes() -> None:
    assert parse_selector("my-ollama:llama3:8b").leaves() == [Leaf("my-ollama", "llama3:8b")]
    assert parse_selector("openrouter:meta-llama/llama-3-8b:free").leaves() == [
        Leaf("openrouter", "meta-llama/llama-3-8b:free")
    ]


def test_bare_names() -> None:
    assert parse_selector("gpt-4o").leaves() == [Leaf(None, "gpt-4o")]
    # a prefix never contains '/', so a ':' after a '/' belongs to a bare model name
    assert parse_selector("meta-llama/llama-3-8b:free").leaves() == [Leaf(None, "meta-llama/llama-3-8b:free")]


def test_failover_chain_and_weighted_choice_compose() -> None:
    selector = parse_selector("[weight=3]a:m^[weight=1]b:m|c:m3")
    assert selector.chain == (
        Choice((Leaf("a", "m", 3.0), Leaf("b", "m", 1.0))),
        Choice((Leaf("c", "m3"),)),
    )


def test_parameters_per_leaf() -> None:
    selector = parse_selector("a:m?temperature=0.2&reasoning_effort=high&max_tokens=2000|b:m")
    assert selector.leaves()[0].params == (("temperature", "0.2"), ("reasoning_effort", "high"), ("max_tokens", "2000"))
    assert selector.leaves()[1].params == ()


def test_spaces_around_operators_are_allowed() -> None:
    assert parse_selector(" a:m1 | [weight=2]b:m2 ^ c:m3 ") == parse_selector("a:m1|[weight=2]b:m2^c:m3")


def test_canonical_spelling() -> None:
    assert str(parse_selector("a:m | [weight=1]b:m?x=1 ^ [weight=0.50]c:m")) == "a:m|b:m?x=1^[weight=0.5]c:m"
    assert str(Selector((Choice((Leaf("a", "m", 1e-05),)),))) == "[weight=0.00001]a:m"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty selector"),
        ("a:m|", 4, "expected a model selector"),
        ("|a:m", 0, "expected a model selector"),
        ("a:m^^b:m", 4, "expected a model selector"),
        (":m", 0, "empty backend prefix"),
        ("a:", 2, "empty model name"),
        ("a:m b:m", 3, "a space inside a selector"),
        ("a:m?x=1 b", 7, "a space inside a selector"),
        ("a:m\nb", 3, "expected '|', '^' or the end"),
        ("a:m]", 3, "unexpected ']'"),
        ("[weight=3a:m", 0, "unclosed '['"),
        ("[w=3]a:m", 0, "only [weight=N]"),
        ("[weight=x]a:m", 8, "not a number"),
        ("[weight=0]a:m", 8, "positive"),
        ("[weight=1e3]a:m", 8, "not a number"),
        ("a:m?temperature", 4, "not key=value"),
        ("a:m?t=1&", 8, "not key=value"),
        ("a:m?=1", 4, "not key=value"),
        ("a:m\x00", 3, "unexpected"),
    ],
)
def test_errors_point_at_the_offending_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert caught.value.position == position
    assert reason in caught.value.reason
    assert f"at position {position}" in str(caught.value)


# ---------------------------------------------------------------- properties

PLAIN = st.characters(codec="utf-8", categories=("L", "N", "P", "S"), exclude_characters="|^?[]&:/=")
WORD = st.text(PLAIN, min_size=1, max_size=12)
MODEL = st.builds(
    lambda parts: ":".join(parts),
    st.lists(st.text(PLAIN | st.sampled_from("/="), min_size=1, max_size=8), min_size=1, max_size=3),
)
BARE = WORD | st.builds(lambda a, b, c: f"{a}/{b}:{c}", WORD, WORD, WORD)
WEIGHT = st.just(1.0) | st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
PARAMS = st.lists(
    st.tuples(
        st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True),
        st.text(PLAIN | st.sampled_from("=?:/"), min_size=1, max_size=8),
    ),
    max_size=3,
).map(tuple)
LEAF = st.builds(Leaf, WORD.filter(lambda p: "/" not in p), MODEL, WEIGHT, PARAMS) | st.builds(
    Leaf, st.none(), BARE, WEIGHT, PARAMS
)
SELECTOR = st.builds(
    lambda chain: Selector(tuple(Choice(tuple(leaves)) for leaves in chain)),
    st.lists(st.lists(LEAF, min_size=1, max_size=3), min_size=1, max_size=3),
)


@given(SELECTOR)
def test_print_then_parse_is_identity(selector: Selector) -> None:
    assert parse_selector(str(selector)) == selector


@given(st.text(max_size=60) | st.text(st.sampled_from("ab:|^?[]=&/ .3weight\t"), max_size=40))
@example("[weight=")
@example("a:m?")
@example("[]")
def test_any_string_parses_or_raises_selector_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except SelectorError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert parse_selector(str(selector)) == selector  # what parses has a canonical spelling that parses the same
