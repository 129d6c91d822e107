"""ThinkTags: ``<think>...</think>`` at the start of an answer's text becomes reasoning, wherever the chunks split the
tags; text without a leading tag, and a tag later in the text, stay text."""

from __future__ import annotations

import pytest

from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    StopReason,
    TextDelta,
    ToolCallStart,
)
from lip.canonical.think_tags import ThinkTags

LEAKED = "  <think>\nweigh it up\n</think>\n\nThe answer."


def run(pieces: list[str], tail: list[Event] | None = None) -> list[Event]:
    tags = ThinkTags()
    out = tags.feed([MessageStart("m", "x")])
    for piece in pieces:
        out += tags.feed([TextDelta(piece)])
    return out + tags.feed(tail if tail is not None else [MessageEnd(StopReason.END_TURN)])


def summary(events: list[Event]) -> tuple[str, str, list[str]]:
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, text, [type(e).__name__ for e in events if not isinstance(e, ReasoningDelta | TextDelta)]


@pytest.mark.parametrize("cut", range(1, len(LEAKED)))
def test_every_split_point(cut: int) -> None:
    events = run([LEAKED[:cut], LEAKED[cut:]])
    assert summary(events) == ("\nweigh it up\n", "The answer.", ["MessageStart", "ReasoningEnd", "MessageEnd"])
    assert all(e.text for e in events if isinstance(e, ReasoningDelta | TextDelta))  # no empty deltas


def test_one_character_at_a_time() -> None:
    assert summary(run(list(LEAKED)))[:2] == ("\nweigh it up\n", "The answer.")


@pytest.mark.parametrize("text", ["Plain answer.", "<thin>k", "a <think>b</think>", "<", "  "])
def test_text_without_a_leading_tag_is_text(text: str) -> None:
    assert summary(run([text[:1], text[1:]])) == ("", text if text.strip() else "", ["MessageStart", "MessageEnd"])


def test_reasoning_cut_short_by_a_tool_call_ends_before_it() -> None:
    events = run(["<think>plan</thi"], [ToolCallStart(0, "c1", "f"), MessageEnd(StopReason.TOOL_USE)])
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["MessageStart", "ReasoningDelta", "ReasoningDelta", "ReasoningEnd", "ToolCallStart", "MessageEnd"]
    assert summary(events)[0] == "plan</thi"


def test_a_held_prefix_is_text_when_the_answer_ends() -> None:
    assert summary(run(["<thi"]))[1] == "<thi"


def test_upstream_reasoning_passes_and_later_tags_stay_text() -> None:
    tags = ThinkTags()
    events = tags.feed([MessageStart("m", "x"), ReasoningDelta("real"), ReasoningEnd(), TextDelta("ok <think>")])
    assert summary(events) == ("real", "ok <think>", ["MessageStart", "ReasoningEnd"])
