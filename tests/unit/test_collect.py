"""The collector: a canonical stream becomes one Response, whatever order the pieces come in."""

from __future__ import annotations

from lip.canonical.collect import Collector, collect
from lip.canonical.events import (
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    StopReason,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import Reasoning, Text, ToolCall


def test_blocks_in_order_with_interleaved_tool_arguments() -> None:
    response = collect(
        [
            MessageStart("m1", "model"),
            ReasoningDelta("thin"),
            ReasoningDelta("king"),
            ReasoningEnd(signature="sig"),
            TextDelta("Hel"),
            TextDelta("lo"),
            ToolCallStart(0, "call_a", "a"),
            ToolCallStart(1, "call_b", "b"),
            ToolCallDelta(0, '{"x":'),
            ToolCallDelta(1, '{"y":'),
            ToolCallDelta(0, "1}"),
            ToolCallDelta(1, "2}"),
            ToolCallEnd(0),
            ToolCallEnd(1),
            TextDelta("after"),
            Usage(input_tokens=3),
            Usage(output_tokens=4),
            MessageEnd(StopReason.TOOL_USE),
        ]
    )
    assert response.content == [
        Reasoning(text="thinking", signature="sig"),
        Text("Hello"),
        ToolCall(id="call_a", name="a", arguments='{"x":1}'),
        ToolCall(id="call_b", name="b", arguments='{"y":2}'),
        Text("after"),
    ]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 4)
    assert response.stop_reason is StopReason.TOOL_USE


def test_reading_the_response_midway_does_not_stop_the_collection() -> None:
    collector = Collector()
    collector.feed(MessageStart("m1", "model"))
    collector.feed(TextDelta("a"))
    assert collector.response.content == [Text("a")]
    collector.feed(TextDelta("b"))
    assert collector.response.content == [Text("ab")]


def test_a_long_answer_is_collected_whole() -> None:
    pieces = [f"{i} " for i in range(50_000)]
    response = collect([MessageStart("m1", "model"), *map(TextDelta, pieces), MessageEnd(StopReason.END_TURN)])
    assert response.content == [Text("".join(pieces))]


def test_events_that_break_the_grammar_are_counted_as_sequence_errors_not_raised() -> None:
    """In production the collector notes each break of the grammar (lip_stream_repairs_total{kind="sequence_error"})
    where ``check_sequence`` would raise; a delta for a call that never started is dropped, not a crash."""
    collector = Collector()
    for event in [
        MessageStart("m1", "gpt", 0),
        ToolCallDelta(3, "{}"),  # never started
        ToolCallStart(0, "call_1", "f"),
        ToolCallStart(0, "call_2", "f"),  # index 0 again
        ToolCallEnd(1),  # never started
        MessageStart("m2", "gpt", 0),  # a second start
        MessageEnd(StopReason.TOOL_USE),  # call 0 still open
    ]:
        collector.feed(event)
    assert collector.repairs == ["sequence_error"] * 5
    assert collector.response.stop_reason is StopReason.TOOL_USE


def test_a_valid_stream_counts_no_sequence_error() -> None:
    collector = Collector()
    for event in [
        MessageStart("m1", "gpt", 0),
        TextDelta("hi"),
        ToolCallStart(0, "call_1", "f"),
        ToolCallDelta(0, "{}"),
        ToolCallEnd(0),
        MessageEnd(StopReason.TOOL_USE),
        Usage(1, 2),
    ]:
        collector.feed(event)
    assert collector.repairs == []
