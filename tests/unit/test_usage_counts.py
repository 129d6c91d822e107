"""Usage counts and orphan deltas as the decoders see them: byte lists in, events out."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from lip.canonical.events import MessageStart, Repair, TextDelta, Usage
from lip.protocols.anthropic_messages import AnthropicStreamDecoder
from lip.protocols.counts import MAX_COUNT, Counts
from lip.protocols.openai_chat import usage_from as chat_usage
from lip.protocols.openai_responses import usage_from as responses_usage
from lip.protocols.relay import body_usage
from lip.protocols.sse import SSEDecoder

BAD: list[Any] = [[1], -1, 1e30, "12", True, 12.0, MAX_COUNT + 1, {"n": 1}]


def anthropic_events(*frames: dict[str, Any]) -> list[Any]:
    sse, decoder = SSEDecoder(), AnthropicStreamDecoder()
    data = b"".join(b"event: " + f["type"].encode() + b"\ndata: " + orjson.dumps(f) + b"\n\n" for f in frames)
    return [e for s in sse.feed(data) + sse.flush() for e in decoder.feed(s)]


@pytest.mark.parametrize("value", BAD)
def test_a_value_that_is_not_a_count_is_dropped(value: Any) -> None:
    counts = Counts()
    assert counts.of({"n": value}, "n") == 0 and counts.dropped
    assert chat_usage({"prompt_tokens": value, "completion_tokens": 3}) == (Usage(output_tokens=3), True)
    assert responses_usage({"input_tokens": 4, "output_tokens": value}) == (Usage(input_tokens=4), True)
    assert body_usage("anthropic_messages", {"usage": {"input_tokens": value, "output_tokens": 2}}) == (
        Usage(output_tokens=2),
        True,
    )


def test_counts_absent_or_null_are_not_repairs() -> None:
    counts = Counts()
    assert counts.of({"n": None}, "n") == 0 and counts.of({}, "n") == 0 and counts.of({"n": MAX_COUNT}, "n")
    assert not counts.dropped


def test_anthropic_bad_usage_is_one_repair() -> None:
    start = {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {"input_tokens": -3}}}
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": "9"}}
    events = anthropic_events(start, delta, {"type": "message_stop"})
    assert [e for e in events if isinstance(e, Repair)] == [Repair("bad_usage")]
    assert [e for e in events if isinstance(e, Usage)][-1] == Usage()


def test_orphan_deltas_start_nothing_and_are_one_repair() -> None:
    orphan = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}
    assert anthropic_events(orphan, orphan, orphan) == [Repair("orphan_delta")]
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    events = anthropic_events({"type": "message_start", "message": {"id": "m"}}, block, orphan, {**orphan, "index": 1})
    assert [type(e) for e in events] == [MessageStart, TextDelta, Repair]


def test_deltas_of_a_dropped_block_kind_are_not_orphans() -> None:
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "s"}}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}}
    events = anthropic_events({"type": "message_start", "message": {"id": "m"}}, block, delta)
    assert [type(e) for e in events] == [MessageStart]
