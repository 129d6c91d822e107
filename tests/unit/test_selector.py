"""The selector grammar: examples, errors that point at the offending position, and properties over any input."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lip.routing.selector import Choice, Leaf, Race, Selector, SelectorError, parse_selector

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


def test_a_race_and_its_handicaps() -> None:
    selector = parse_selector("a:m ! [handicap=2]b:m!c:m|d:m")
    assert selector.chain == (
        Race((Leaf("a", "m"), Leaf("b", "m", handicap=2), Leaf("c", "m"))),
        Choice((Leaf("d", "m"),)),
    )
    assert selector.races
    assert str(selector) == "a:m![handicap=2]b:m!c:m|d:m"


def test_a_race_of_sixteen_legs_is_the_largest() -> None:
    assert len(parse_selector("!".join(f"p{i}:m" for i in range(16))).leaves()) == 16


def test_the_global_block() -> None:
    selector = parse_selector("{ttft_timeout=60, affinity=Session} [ttft_timeout=30]a:m^b:m")
    assert (selector.ttft_timeout, selector.affinity) == (60, "session")
    assert selector.leaves()[0].ttft_timeout == 30
    assert parse_selector("{session_sticky}a:m").affinity == "session"
    assert parse_selector("{client_sticky}a:m").affinity == "client"
    assert str(parse_selector("{client_sticky,ttft_timeout=5}a:m")) == "{ttft_timeout=5,affinity=client}a:m"


def test_leaf_annotations() -> None:
    selector = parse_selector("[weight=2][first, max_context=128k]a:m ^ [thinker=yes,min_context=1M]b:m")
    assert selector.leaves() == [
        Leaf("a", "m", 2.0, first=True, max_context=128_000),
        Leaf("b", "m", thinker=True, min_context=1_000_000),
    ]
    assert str(selector) == "[weight=2,first,max_context=128000]a:m^[thinker,min_context=1000000]b:m"
    assert parse_selector("[WEIGHT=3]a:m").leaves()[0].weight == 3.0  # keys are case-insensitive, as in Go


def test_parameter_values_take_percent_escapes() -> None:
    leaf = parse_selector("a:m?stop=%21%7C&x=caf%C3%A9").leaves()[0]
    assert leaf.params == (("stop", "!|"), ("x", "café"))
    assert str(leaf) == "a:m?stop=%21%7C&x=café"


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
        ("a:m\nb", 3, "expected '|', '^', '!' or the end"),
        ("a:m]", 3, "unexpected ']'"),
        ("[weight=3a:m", 0, "unclosed '['"),
        ("[]a:m", 1, "an empty entry in the annotation block"),
        ("[w=3]a:m", 1, "unknown annotation 'w'"),
        ("[weight=x]a:m", 8, "not a number"),
        ("[weight=0]a:m", 8, "positive"),
        ("[weight=1e3]a:m", 8, "not a number"),
        ("a:m?temperature", 4, "not key=value"),
        ("a:m?t=1&", 8, "not key=value"),
        ("a:m?=1", 4, "not key=value"),
        ("a:m\x00", 3, "unexpected"),
        # the Go project's placement rules
        ("a:m!b:m^c:m", 7, "cannot be mixed"),
        ("[thinker]a:m^b:m!c:m", 16, "interleaved thinking"),
        ("[weight=2]a:m!b:m", 1, "[weight] is not valid on a race leg"),
        ("a:m![first]b:m", 5, "[first] is not valid on a race leg"),
        ("a:m![thinker]b:m", 5, "[thinker] is only valid on a leaf of a weighted arm"),
        ("[handicap=3]a:m", 1, "[handicap] is only valid on a race leg"),
        ("[handicap=3]a:m^b:m", 1, "[handicap] is only valid on a race leg"),
        ("[first]a:m^[first]b:m", 12, "at most one [first]"),
        ("[thinker]a:m^[thinker]b:m", 14, "at most one [thinker]"),
        ("[thinker]a:m", 1, "needs a non-thinker leaf"),
        ("[first,thinker]a:m^b:m", 7, "cannot be on the same leaf"),
        ("[thinker=no]a:m^b:m", 1, "[thinker] must be bare or true"),
        ("[first=1]a:m", 1, "[first] takes no value"),
        ("[weight=2][weight=3]a:m", 11, "given twice"),
        ("[handicap=0]a:m!b:m", 1, "positive whole number of seconds"),
        ("[ttft_timeout=1.5]a:m", 1, "positive whole number of seconds"),
        ("[max_context=12q]a:m", 1, "positive token count"),
        ("[min_context=8k,max_context=4k]a:m", 1, "min_context must be less than max_context"),
        ("a:m!" * 16 + "a:m", 0, "at most 16 legs"),
        # the global block
        ("{ttft_timeout=5", 0, "unclosed '{'"),
        ("{}a:m", 1, "an empty entry in the global block"),
        ("{ttft_timeout=5}{affinity=client}a:m", 16, "only one {...} global block"),
        ("{ttft_timeout=5,ttft_timeout=6}a:m", 16, "given twice"),
        ("{affinity=client,session_sticky}a:m", 17, "affinity is given twice"),
        ("{affinity=sometimes}a:m", 1, "affinity must be session or client"),
        ("{session_sticky=1}a:m", 1, "takes no value"),
        ("{weight=3}a:m", 1, "unknown global parameter 'weight'"),
        ("a:m|{ttft_timeout=5}b:m", 4, "must come before the first leaf"),
        ("a:m{ttft_timeout=5}", 3, "must come before the first leaf"),
        ("a:m?x=%2", 6, "'%' must start an escape"),
        ("a:m?x=%FF", 6, "do not spell UTF-8"),
    ],
)
def test_errors_point_at_the_offending_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert caught.value.position == position
    assert reason in caught.value.reason
    assert f"at position {position}" in str(caught.value)


# ---------------------------------------------------------------- properties

PLAIN = st.characters(codec="utf-8", categories=("L", "N", "P", "S"), exclude_characters="|^!?[]{}&:/=%")
WORD = st.text(PLAIN, min_size=1, max_size=12)
MODEL = st.builds(
    lambda parts: ":".join(parts),
    st.lists(st.text(PLAIN | st.sampled_from("/=%,"), min_size=1, max_size=8), min_size=1, max_size=3),
)
BARE = WORD | st.builds(lambda a, b, c: f"{a}/{b}:{c}", WORD, WORD, WORD)
WEIGHT = st.just(1.0) | st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
SECONDS = st.none() | st.integers(min_value=1, max_value=10**6)
VALUE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
PARAMS = st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_.-]{1,10}", fullmatch=True), VALUE), max_size=3).map(tuple)
TARGET = st.tuples(WORD.filter(lambda p: "/" not in p), MODEL) | st.tuples(st.none(), BARE)


@st.composite
def leaf(draw: st.DrawFn, race: bool) -> Leaf:
    """A leaf with the annotations an arm of its kind allows ([first]/[thinker] are placed by ``choice``)."""
    prefix, model = draw(TARGET)
    low, high = draw(st.none() | st.integers(1, 10**9)), draw(st.none() | st.integers(1, 10**9))
    if low is not None and high is not None and low >= high:
        low, high = (high, low) if low > high else (None, high)
    return Leaf(
        prefix,
        model,
        1.0 if race else draw(WEIGHT),
        draw(PARAMS),
        handicap=draw(st.integers(min_value=0, max_value=600)) if race else 0,
        ttft_timeout=draw(SECONDS),
        min_context=low,
        max_context=high,
    )


@st.composite
def choice(draw: st.DrawFn) -> Choice:
    leaves = draw(st.lists(leaf(race=False), min_size=1, max_size=3))
    if draw(st.booleans()):
        first = draw(st.integers(0, len(leaves) - 1))
        leaves[first] = dataclasses.replace(leaves[first], first=True)
    if len(leaves) > 1 and draw(st.booleans()):
        thinker = draw(st.sampled_from([i for i, x in enumerate(leaves) if not x.first]))
        leaves[thinker] = dataclasses.replace(leaves[thinker], thinker=True)
    return Choice(tuple(leaves))


RACE = st.lists(leaf(race=True), min_size=2, max_size=4).map(lambda legs: Race(tuple(legs)))
SELECTOR = st.builds(
    Selector,
    st.lists(choice() | RACE, min_size=1, max_size=2).map(tuple),
    SECONDS,
    st.sampled_from([None, "session", "client"]),
)


@settings(suppress_health_check=[HealthCheck.too_slow])  # rich inputs; slow only on a machine under load
@given(SELECTOR)
def test_print_then_parse_is_identity(selector: Selector) -> None:
    assert parse_selector(str(selector)) == selector


ALPHABET = st.sampled_from([*"ab:|^!?[]{}=&/ ,.3%", "weight", "first", "handicap", "ttft_timeout", "affinity"])


@given(st.text(max_size=60) | st.lists(ALPHABET, max_size=24).map("".join))
@example("[weight=")
@example("a:m?")
@example("[]")
@example("{")
@example("{}a:m")
@example("a:m!")
@example("a:m?x=%")
def test_any_string_parses_or_raises_selector_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except SelectorError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.reason
        return
    assert parse_selector(str(selector)) == selector  # what parses has a canonical spelling that parses the same


# ---------------------------------------------------------------- the Go project's own test cases

# Selectors from the Go project's internal/core/routing/parser_test.go (github.com/matdev83/go-llm-interactive-proxy),
# with the outcome its parser gives them.
GO_VALID = [
    "[first]cheap:fast",
    "[first]openai-codex:gpt-5.3-codex-spark?reasoning_effort=high^[weight=4]openai-codex:gpt-5.3-codex-spark"
    "?reasoning_effort=low|[weight=2]openai-codex:gpt-5.3-codex-spark?reasoning_effort=medium",
    "[max_context=200K]openai:gpt-4o-mini",
    "[max_context=4096]openai:gpt?temperature=0.2",
    "[min_context=200K,max_context=250K]openai:gpt",
    "[min_context=1M]anthropic:claude",
    "[weight=2][max_context=4096]a:m^[weight=1][min_context=4096]b:m",
    "a|b:c|anthropic:opus",
    "{ttft_timeout=60,affinity=session}a:m",
    "{ttft_timeout=60}[ttft_timeout=30]openai:gpt-5.5^[weight=2,ttft_timeout=20]gemini:gemini-3",
    "{session_sticky}a:m",
    "{client_sticky}a:m",
]
GO_INVALID = [
    "[client_sticky]a:m",
    "[session_sticky]a:m",
    "[first]a:b^[first]c:d",
    "[max_context=0]a:b",
    "[max_context=10][max_context=20]a:b",
    "[max_context=abc]a:b",
    "[max_context]a:b",
    "[min_context=-1]a:b",
    "[min_context=10,max_context=10]a:b",
    "[ttft_timeout=-1]a:b",
    "[ttft_timeout=0]a:b",
    "[ttft_timeout=1][ttft_timeout=2]a:b",
    "[ttft_timeout]a:b",
    "[unknown=1]a:b",
    "a:b{ ttft_timeout=1}",
    "a:b{TTFT_TIMEOUT=1}",
    "{affinity=session,affinity=client}a:m",
    "{affinity=tenant}a:m",
    "{affinity}a:m",
    "{client_sticky=}a:m",
    "{session_sticky,client_sticky}a:m",
    "{session_sticky=true}a:m",
    "{ttft_timeout=-1}a:b",
    "{ttft_timeout=0}a:b",
    "{ttft_timeout=1}{ttft_timeout=2}a:b",
    "{ttft_timeout}a:b",
    "{}a:b",
]


@pytest.mark.parametrize("text", GO_VALID)
def test_what_the_go_project_accepts_parses_and_round_trips(text: str) -> None:
    selector = parse_selector(text)
    assert parse_selector(str(selector)) == selector


@pytest.mark.parametrize("text", GO_INVALID)
def test_what_the_go_project_refuses_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert caught.value.reason
