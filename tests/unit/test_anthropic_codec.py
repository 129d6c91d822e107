"""Anthropic Messages codec: wire transcripts -> canonical -> wire, checked by the grammar and the official SDK."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import make_mocked_request
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message as SDKMessage
from anthropic.types import RawMessageStreamEvent, ToolUseBlock
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
from pydantic import TypeAdapter

from lip.canonical import (
    Event,
    Image,
    Message,
    MessageEnd,
    MessageStart,
    Params,
    Reasoning,
    ReasoningDelta,
    ReasoningEnd,
    Request,
    StopReason,
    StreamError,
    Text,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolChoice,
    ToolResult,
    ToolSpec,
    Usage,
    check_sequence,
    collect,
)
from lip.errors import (
    BodyTooLarge,
    InvalidRequest,
    LipError,
    UnsupportedTranslation,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from lip.frontends.endpoint import forwarded_headers
from lip.protocols.anthropic_messages import (
    NAME,
    AnthropicMessagesCodec,
    AnthropicStreamDecoder,
    AnthropicStreamEncoder,
)
from lip.protocols.anthropic_messages.blocks import unverifiable_thinking
from lip.protocols.codec import Codec
from lip.protocols.sse import SSEDecoder, SSEEvent

TRANSCRIPTS = Path(__file__).parent / "transcripts"
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
CREATE: TypeAdapter[Any] = TypeAdapter(MessageCreateParamsNonStreaming)
codec = AnthropicMessagesCodec()


# ---------------------------------------------------------------- helpers


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode_stream(chunks: list[bytes], custom: frozenset[str] = frozenset()) -> list[Event]:
    sse, decoder = SSEDecoder(), AnthropicStreamDecoder(custom)
    events: list[Event] = []
    for chunk in chunks:
        for frame in sse.feed(chunk):
            events += decoder.feed(frame)
    for frame in sse.flush():
        events += decoder.feed(frame)
    return events + decoder.finish()


def encode_stream(events: list[Event], model: str = "claude-test") -> bytes:
    encoder = AnthropicStreamEncoder(model)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def frames(data: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    sse = SSEDecoder()
    return [(f.event, orjson.loads(f.data)) for f in sse.feed(data) + sse.flush()]


def sdk_message(data: bytes) -> SDKMessage:
    """Parse every frame with the SDK's event types and accumulate them with the SDK's own accumulator."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, payload in frames(data):
        assert name == payload["type"], "the SSE event name matches the payload type"
        if name == "ping":
            continue
        assert name != "error", payload
        event = EVENTS.validate_python(payload)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return SDKMessage.model_validate(snapshot.model_dump())


def check_indices(data: bytes) -> None:
    """Blocks open one at a time, with indices 0, 1, 2, ... and every delta inside its open block."""
    open_index, expected = None, 0
    for name, payload in frames(data):
        if name == "content_block_start":
            assert open_index is None and payload["index"] == expected
            open_index = expected
        elif name == "content_block_delta":
            assert payload["index"] == open_index
        elif name == "content_block_stop":
            assert payload["index"] == open_index
            open_index, expected = None, expected + 1
    assert open_index is None


def sse_bytes(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)


def message_start(**usage: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_01abc",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1, **usage},
    }
    return {"type": "message_start", "message": message}


def block_events(index: int, start: dict[str, Any], *deltas: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def end(stop: str | None, output: int = 7, **usage: int) -> list[dict[str, Any]]:
    delta = {"stop_reason": stop, "stop_sequence": None}
    return [
        {"type": "message_delta", "delta": delta, "usage": {"output_tokens": output, **usage}},
        {"type": "message_stop"},
    ]


def canonical(*events: Event) -> list[Event]:
    events_list = list(events)
    check_sequence(events_list)
    return events_list


# ---------------------------------------------------------------- recorded transcript: decode, re-encode, SDK


TRANSCRIPT = (TRANSCRIPTS / "anthropic_thinking_tools.txt").read_bytes()


def test_codec_satisfies_the_protocol() -> None:
    satisfied: Codec = codec
    assert satisfied.name == NAME == "anthropic_messages"


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000, len(TRANSCRIPT)])
def test_transcript_decodes_to_the_same_events_at_any_byte_boundary(size: int) -> None:
    assert decode_stream(split(TRANSCRIPT, size)) == decode_stream([TRANSCRIPT])


def test_transcript_decodes_to_a_grammatical_stream_and_response() -> None:
    events = decode_stream(split(TRANSCRIPT, 5))
    check_sequence(events)
    assert events[0] == MessageStart(id="msg_01Xg4ZLq9m7Qh2Vb8KcJtR3p", model="claude-sonnet-4-5-20250929")
    assert ToolCallStart(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather") in events
    assert ToolCallStart(1, "toolu_01Bq7ZkR2mVn8XcW4yHs5LpD", "get_weather") in events
    response = collect(events)
    thinking, text, first, second = response.content
    assert isinstance(thinking, Reasoning) and thinking.signature and thinking.signature.startswith("EqQB")
    assert thinking.text.startswith("The user wants") and thinking.text.endswith("Température in °C.")
    assert text == Text("I'll check the weather in both cities — Paris and 東京 (Tokyo).")
    assert first == ToolCall("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", '{"city": "Paris", "unit": "celsius"}')
    assert second == ToolCall("toolu_01Bq7ZkR2mVn8XcW4yHs5LpD", "get_weather", '{"city":"Tōkyō","unit":"celsius"}')
    assert response.stop_reason == StopReason.TOOL_USE
    assert response.usage == Usage(
        input_tokens=472 + 1024 + 20480, output_tokens=189, cached_tokens=20480, cache_creation_tokens=1024
    )


def test_reencoded_transcript_is_what_the_sdk_reconstructs_from_the_original() -> None:
    events = decode_stream(split(TRANSCRIPT, 11))
    produced = encode_stream(events)
    check_indices(produced)
    original, again = sdk_message(TRANSCRIPT), sdk_message(produced)
    assert again.content == original.content
    assert (again.id, again.model, again.stop_reason, again.stop_sequence) == (
        original.id,
        original.model,
        original.stop_reason,
        original.stop_sequence,
    )
    for field in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        assert getattr(again.usage, field) == getattr(original.usage, field), field
    names = [name for name, _ in frames(produced)]
    assert names[:2] == ["message_start", "ping"] and names[-2:] == ["message_delta", "message_stop"]


def test_reencoded_stream_decodes_back_to_the_same_events() -> None:
    events = decode_stream([TRANSCRIPT])
    assert decode_stream(split(encode_stream(events), 3)) == events


def test_message_start_carries_the_input_usage_reported_with_it() -> None:
    produced = encode_stream(decode_stream([TRANSCRIPT]))
    (name, start), *_ = frames(produced)
    assert name == "message_start"
    assert start["message"]["usage"] == {
        "input_tokens": 472,
        "cache_creation_input_tokens": 1024,
        "cache_read_input_tokens": 20480,
        "output_tokens": 3,
    }


# ---------------------------------------------------------------- stream decoder: other shapes


def test_redacted_thinking_text_and_max_tokens() -> None:
    wire = sse_bytes(
        message_start(cache_read_input_tokens=5),
        *block_events(0, {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}),
        *block_events(1, {"type": "text", "text": ""}, {"type": "text_delta", "text": "Cut sh"}),
        *end("max_tokens", output=20, input_tokens=10, cache_read_input_tokens=5),
    )
    events = decode_stream(split(wire, 9))
    check_sequence(events)
    assert ReasoningEnd(redacted="EmwKAhgBEgy3va3pzix/LafPsn4a") in events
    response = collect(events)
    assert response.content == [Reasoning(redacted="EmwKAhgBEgy3va3pzix/LafPsn4a"), Text("Cut sh")]
    assert response.stop_reason == StopReason.MAX_TOKENS
    assert response.usage == Usage(input_tokens=15, output_tokens=20, cached_tokens=5)
    again = sdk_message(encode_stream(events))
    assert again.content[0].type == "redacted_thinking" and again.stop_reason == "max_tokens"


def test_stop_sequence_is_kept() -> None:
    wire = sse_bytes(message_start(), *block_events(0, {"type": "text", "text": "a"}))
    wire += sse_bytes(
        {"type": "message_delta", "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"}, "usage": {}},
        {"type": "message_stop"},
    )
    events = decode_stream([wire])
    assert events[-1] == MessageEnd(StopReason.STOP_SEQUENCE, "END")
    assert sdk_message(encode_stream(events)).stop_sequence == "END"


@pytest.mark.parametrize(
    ("stop", "tools", "expected"),
    [
        ("end_turn", True, StopReason.TOOL_USE),  # upstream said end_turn while calling tools
        (None, True, StopReason.TOOL_USE),
        (None, False, StopReason.END_TURN),
        ("refusal", False, StopReason.REFUSAL),
        ("pause_turn", False, StopReason.END_TURN),
        ("model_context_window_exceeded", False, StopReason.MAX_TOKENS),
        ("max_tokens", True, StopReason.MAX_TOKENS),
    ],
)
def test_stop_reasons_are_mapped_and_normalised(stop: str | None, tools: bool, expected: StopReason) -> None:
    content = block_events(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}) if tools else []
    events = decode_stream([sse_bytes(message_start(), *content, *end(stop))])
    check_sequence(events)
    assert events[-1] == MessageEnd(expected)


def test_tool_use_without_input_deltas_means_an_empty_object() -> None:
    wire = sse_bytes(
        message_start(), *block_events(0, {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}})
    )
    events = decode_stream([wire + sse_bytes(*end("tool_use"))])
    assert collect(events).content == [ToolCall("toolu_1", "now", "{}")]


def test_custom_tool_calls_are_unwrapped() -> None:
    start = {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {}}
    deltas = [{"type": "input_json_delta", "partial_json": p} for p in ('{"input": "*** Begin', ' Patch\\n"}')]
    wire = sse_bytes(message_start(), *block_events(0, start, *deltas), *end("tool_use"))
    events = decode_stream([wire], custom=frozenset({"apply_patch"}))
    check_sequence(events)
    assert events[2] == ToolCallStart(0, "toolu_1", "apply_patch", "custom")
    assert collect(events).content == [ToolCall("toolu_1", "apply_patch", "*** Begin Patch\n", kind="custom")]


def test_server_tool_blocks_and_unknown_events_are_skipped() -> None:
    server = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}}
    wire = sse_bytes(
        message_start(),
        *block_events(0, server),
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{}"}},
        *block_events(1, {"type": "text", "text": ""}, {"type": "text_delta", "text": "found"}),
        {"type": "some_future_event"},
        *end("end_turn"),
    )
    events = decode_stream([wire])
    check_sequence(events)
    assert collect(events).content == [Text("found")]


def test_error_event_mid_stream_is_a_stream_error_with_the_upstream_type() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    wire = sse_bytes(
        message_start(), *block_events(0, {"type": "text", "text": ""}, {"type": "text_delta", "text": "Hi"})
    )
    events = decode_stream([wire + sse_bytes(error)])
    check_sequence(events)
    failure = events[-1]
    assert isinstance(failure, StreamError) and isinstance(failure.error, UpstreamStatusError)
    assert failure.error.error_type == "overloaded_error" and failure.error.upstream_status == 529
    assert failure.error.message == "Overloaded"
    with pytest.raises(UpstreamStatusError):
        collect(events)
    name, payload = frames(encode_stream(events))[-1]
    assert (name, payload) == ("error", error)


def test_error_event_before_anything_else_comes_first_so_the_backend_can_fail_over() -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    (event,) = decode_stream([sse_bytes(error)])
    assert isinstance(event, StreamError) and event.error.status == 429


def test_stream_that_ends_before_message_stop_is_an_error() -> None:
    wire = sse_bytes(
        message_start(), *block_events(0, {"type": "text", "text": ""}, {"type": "text_delta", "text": "x"})
    )
    events = decode_stream(split(wire, 4))
    check_sequence(events)
    assert isinstance(events[-1], StreamError) and isinstance(events[-1].error, UpstreamProtocolError)


def test_stream_that_ends_after_message_delta_without_message_stop_ends_normally() -> None:
    wire = sse_bytes(message_start(), *block_events(0, {"type": "text", "text": "x"}), *end("end_turn")[:1])
    events = decode_stream([wire])
    check_sequence(events)
    assert events[-1] == MessageEnd(StopReason.END_TURN)


def test_garbage_data_is_a_protocol_error() -> None:
    (event,) = decode_stream([b"event: message_start\ndata: {not json\n\n"])
    assert isinstance(event, StreamError) and isinstance(event.error, UpstreamProtocolError)


# ---------------------------------------------------------------- stream encoder: canonical streams from any backend


def test_interleaved_tool_calls_go_out_one_block_at_a_time() -> None:
    """A Chat upstream's tool calls stay open until its finish chunk; argument deltas may interleave."""
    events = canonical(
        MessageStart("chatcmpl-1", "gpt-x"),
        TextDelta("Let me look."),
        ToolCallStart(0, "call_a", "read"),
        ToolCallDelta(0, '{"path":'),
        ToolCallStart(1, "call_b", "grep"),
        ToolCallDelta(1, '{"pattern":"x"'),
        ToolCallDelta(0, '"a.py"}'),
        ToolCallDelta(1, "}"),
        ToolCallEnd(0),
        ToolCallEnd(1),
        Usage(input_tokens=30, output_tokens=12, cached_tokens=10),
        MessageEnd(StopReason.TOOL_USE),
    )
    produced = encode_stream(events)
    check_indices(produced)
    message = sdk_message(produced)
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    inputs = [b.input for b in message.content if isinstance(b, ToolUseBlock)]
    assert inputs == [{"path": "a.py"}, {"pattern": "x"}]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (
        20,
        10,
        12,
    )
    assert collect(decode_stream([produced])).content == collect(events).content


def test_text_after_an_open_tool_call_is_buffered_behind_it() -> None:
    events = canonical(
        MessageStart("m", "x"),
        ToolCallStart(0, "call_a", "f"),
        TextDelta("odd"),
        ToolCallDelta(0, "{}"),
        ToolCallEnd(0),
        MessageEnd(StopReason.TOOL_USE),
    )
    produced = encode_stream(events)
    check_indices(produced)
    assert [b.type for b in sdk_message(produced).content] == ["tool_use", "text"]


def test_reasoning_without_signature_is_a_thinking_block_with_an_empty_signature() -> None:
    events = canonical(
        MessageStart("m", "deepseek-reasoner"),
        ReasoningDelta("hmm"),
        ReasoningDelta(" ok"),
        TextDelta("answer"),
        MessageEnd(StopReason.END_TURN),
    )
    produced = encode_stream(events)
    check_indices(produced)
    message = sdk_message(produced)
    assert message.content[0].type == "thinking"
    assert (message.content[0].thinking, message.content[0].signature) == ("hmm ok", "")
    assert not any(p["delta"]["type"] == "signature_delta" for n, p in frames(produced) if n == "content_block_delta")


def test_an_empty_reasoning_end_emits_no_block() -> None:
    events = canonical(MessageStart("m", "x"), ReasoningEnd(), TextDelta("a"), MessageEnd(StopReason.END_TURN))
    assert [b.type for b in sdk_message(encode_stream(events)).content] == ["text"]


def test_responses_reasoning_round_trips_through_an_anthropic_client() -> None:
    events = canonical(
        MessageStart("resp_1", "gpt-5"),
        ReasoningDelta("summary"),
        ReasoningEnd(encrypted="gAAAAB3xyz==", id="rs_123"),
        TextDelta("hi"),
        MessageEnd(StopReason.END_TURN),
    )
    message = sdk_message(encode_stream(events))
    sent_back = {
        "model": "m",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [b.model_dump() for b in message.content]},
            {"role": "user", "content": "again"},
        ],
    }
    request = codec.decode_request(sent_back, {})
    assert request.messages[1].content[0] == Reasoning(text="summary", encrypted="gAAAAB3xyz==", id="rs_123")
    encoded = codec.encode_request(request, "claude-x")  # an Anthropic upstream never sees lip's wrapping
    assert encoded["messages"][1]["content"] == [{"type": "text", "text": "hi"}]


def test_empty_stream_and_message_start_without_content() -> None:
    produced = encode_stream(canonical(MessageStart("", ""), MessageEnd(StopReason.END_TURN)))
    message = sdk_message(produced)
    assert message.content == [] and message.id.startswith("msg_") and message.model == "claude-test"


def test_stream_error_is_an_error_event_and_finish_adds_nothing() -> None:
    encoder = AnthropicStreamEncoder("m")
    out = encoder.encode(MessageStart("m1", "x")) + encoder.encode(TextDelta("a"))
    out += encoder.encode(StreamError(UpstreamTimeout("the upstream stopped sending")))
    assert encoder.finish() == b""
    name, payload = frames(out)[-1]
    assert name == "error"
    assert payload == {"type": "error", "error": {"type": "api_error", "message": "the upstream stopped sending"}}


def test_usage_in_message_delta_leaves_unknown_input_counts_alone() -> None:
    events = canonical(MessageStart("m", "x"), TextDelta("a"), Usage(output_tokens=4), MessageEnd(StopReason.END_TURN))
    name, delta = frames(encode_stream(events))[-2]
    assert name == "message_delta" and delta["usage"] == {"output_tokens": 4}


def test_reasoning_tokens_go_out_as_thinking_tokens() -> None:
    events = canonical(
        MessageStart("m", "x"), TextDelta("a"), Usage(10, 40, reasoning_tokens=30), MessageEnd(StopReason.END_TURN)
    )
    message = sdk_message(encode_stream(events))
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == 30


@pytest.mark.parametrize(
    ("reason", "wire"),
    [
        (StopReason.END_TURN, "end_turn"),
        (StopReason.MAX_TOKENS, "max_tokens"),
        (StopReason.TOOL_USE, "tool_use"),
        (StopReason.STOP_SEQUENCE, "stop_sequence"),
        (StopReason.CONTENT_FILTER, "refusal"),
        (StopReason.REFUSAL, "refusal"),
    ],
)
def test_stop_reasons_out(reason: StopReason, wire: str) -> None:
    produced = encode_stream(canonical(MessageStart("m", "x"), TextDelta("a"), MessageEnd(reason)))
    assert sdk_message(produced).stop_reason == wire


# ---------------------------------------------------------------- non-streaming


def test_encode_response_is_an_sdk_message() -> None:
    response = collect(decode_stream([TRANSCRIPT]))
    body = codec.encode_response(response, Request(model="claude", messages=[]))
    message = SDKMessage.model_validate(body)
    assert message.content == sdk_message(TRANSCRIPT).content
    assert body["usage"]["cache_read_input_tokens"] == 20480 and body["stop_reason"] == "tool_use"


def test_decode_response_gives_the_events_the_stream_gives() -> None:
    body = sdk_message(TRANSCRIPT).model_dump(exclude_none=True)
    body["usage"]["output_tokens"] = 189
    events = codec.decode_response(body, Request(model="m", messages=[]))
    check_sequence(events)
    got, streamed = collect(events), collect(decode_stream([TRANSCRIPT]))
    assert (got.id, got.model, got.stop_reason, got.usage) == (
        streamed.id,
        streamed.model,
        streamed.stop_reason,
        streamed.usage,
    )
    assert got.content[:2] == streamed.content[:2]
    for call, expected in zip(got.content[2:], streamed.content[2:], strict=True):
        assert isinstance(call, ToolCall) and isinstance(expected, ToolCall)
        assert (call.id, call.name, orjson.loads(call.arguments)) == (
            expected.id,
            expected.name,
            orjson.loads(expected.arguments),
        )


def test_decode_response_of_an_error_body_raises_its_status() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(UpstreamStatusError) as caught:
        codec.decode_response(body, Request(model="m", messages=[]))
    assert caught.value.upstream_status == 529
    with pytest.raises(UpstreamProtocolError):
        codec.decode_response({"id": "x"}, Request(model="m", messages=[]))


# ---------------------------------------------------------------- request decode: Claude Code shapes

BIG_SCHEMA = {
    "type": "object",
    "properties": {
        f"field_{i}": {"type": "string", "description": "x" * 200, "enum": [f"v{j}" for j in range(20)]}
        for i in range(60)
    },
    "required": ["field_0"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
SIGNATURE = "EqMBCkgIBxABGAIqQK8m" + "A" * 200


def claude_code_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Tool use rules ...", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "fix the bug"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Look at main.py first.", "signature": SIGNATURE},
                    {"type": "redacted_thinking", "data": "EmwKAhgB"},
                    {"type": "text", "text": "Reading it."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "Read", "input": {"file_path": "/a/main.py"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A",
                        "content": [{"type": "text", "text": "print(1)"}],
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"},
                ],
            },
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01B", "name": "Bash", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "exit 1", "is_error": True},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
                ],
            },
            {"role": "assistant", "content": "Here is the fix: "},
        ],
        "tools": [
            {"name": "Read", "description": "Read a file", "input_schema": BIG_SCHEMA},
            {
                "name": "Bash",
                "description": "Run a command",
                "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
                "cache_control": {"type": "ephemeral"},
            },
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "metadata": {"user_id": "user_abc_account_def_session_123"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "max"},
        "temperature": 1,
        "top_k": 40,
        "stop_sequences": ["\n\nHuman:"],
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
    }
    body.update(overrides)
    return body


HEADERS = {
    "Anthropic-Version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07",
    "X-Api-Key": "sk-ant-secret",
    "User-Agent": "claude-cli/2.0",
}


def test_decode_head_is_cheap_and_the_anthropic_headers_are_forwarded() -> None:
    body = claude_code_body()
    request = codec.decode_head(body, HEADERS)
    assert (request.model, request.stream, request.protocol, request.raw) == ("claude-sonnet-4-5", True, NAME, body)
    assert request.messages == []
    # the request's context carries them (never the client's key): what the endpoint forwards
    http = make_mocked_request("POST", "/v1/messages", headers=HEADERS)
    assert forwarded_headers(http) == {
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,context-1m-2025-08-07",
    }


def test_decode_request_of_a_claude_code_body() -> None:
    request = codec.decode_request(claude_code_body(), HEADERS)
    assert request.system == [
        Text("You are Claude Code, Anthropic's official CLI for Claude."),
        Text("Tool use rules ...", {"cache_control": {"type": "ephemeral", "ttl": "1h"}}),
    ]
    roles = [m.role for m in request.messages]
    assert roles == ["user", "assistant", "user", "system", "assistant", "user", "assistant"]
    assistant = request.messages[1].content
    assert assistant[0] == Reasoning(text="Look at main.py first.", signature=SIGNATURE)
    assert assistant[1] == Reasoning(redacted="EmwKAhgB")
    assert assistant[3] == ToolCall("toolu_01A", "Read", '{"file_path":"/a/main.py"}')
    assert request.messages[2].content[0] == ToolResult("toolu_01A", [Text("print(1)")])
    assert request.messages[3].content == [Text("The user switched to plan mode.")]
    assert request.messages[5].content == [
        ToolResult("toolu_01B", [Text("exit 1")], is_error=True),
        Image(data="iVBORw0K", media_type="image/png"),
    ]
    assert request.messages[6] == Message("assistant", [Text("Here is the fix: ")])
    assert [t.name for t in request.tools] == ["Read", "Bash"]  # the server tool has no canonical equivalent
    assert request.tools[0].parameters == BIG_SCHEMA
    assert request.tools[1].extra == {"cache_control": {"type": "ephemeral"}}
    assert request.tool_choice == ToolChoice(mode="auto", parallel=False)
    assert request.params == Params(
        max_tokens=32000,
        temperature=1.0,
        stop=["\n\nHuman:"],
        reasoning_effort="xhigh",
        user="user_abc_account_def_session_123",
    )


def test_decode_request_params_variants() -> None:
    body = claude_code_body(
        thinking={"type": "enabled", "budget_tokens": 10000},
        output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}},
        tools=[],
        tool_choice={"type": "any"},
        system="plain system",
    )
    request = codec.decode_request(body, {})
    assert request.params.reasoning_budget == 10000 and request.params.reasoning_effort is None
    assert request.params.response_format == {
        "type": "json_schema",
        "name": "response",
        "schema": {"type": "object"},
        "strict": True,
    }
    assert request.tools == [] and request.tool_choice == ToolChoice(mode="required")
    assert request.system == [Text("plain system")]
    named = codec.decode_request(claude_code_body(tool_choice={"type": "tool", "name": "Read"}), {})
    assert named.tool_choice == ToolChoice(mode="tool", name="Read")


def test_a_leading_system_message_joins_the_system_prompt() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "be brief"}, user("hi")]}
    request = codec.decode_request(body, {})
    assert request.system == [Text("be brief")] and [m.role for m in request.messages] == ["user"]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": "10", "messages": [user("hi")]}, "max_tokens"),
        ({"model": "m", "max_tokens": 10}, "messages"),
        ({"model": "m", "max_tokens": 10, "messages": []}, "messages"),
        ({"max_tokens": 10, "messages": [user("hi")]}, "model"),
        ({"model": "m", "max_tokens": 10, "messages": [user("hi")], "stream": "yes"}, "stream"),
    ],
)
def test_decode_head_rejects_with_the_field_named(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_head(body, {})
    assert caught.value.param == param and caught.value.status == 400
    assert param in caught.value.message


def test_count_tokens_bodies_need_no_max_tokens() -> None:
    request = codec.decode_count_tokens({"model": "m", "messages": [user("hi")]}, {})
    assert request.messages == [Message("user", [Text("hi")])]


@pytest.mark.parametrize(
    ("content", "param"),
    [
        ([{"type": "text", "text": "a"}, {"type": "document", "source": {}}], "messages[0].content[1].source.type"),
        ([{"type": "text", "text": "a"}, {"type": "search_result"}], "messages[0].content[1].type"),
        ([{"type": "image", "source": {"type": "file", "file_id": "f"}}], "messages[0].content[0].source.type"),
        ([{"type": "text"}], "messages[0].content[0].text"),
        ([{"type": "tool_result", "content": "x"}], "messages[0].content[0].tool_use_id"),
        ([{"type": "tool_use", "id": "t", "name": "f", "input": [1]}], "messages[0].content[0].input"),
        (
            [{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "search_result"}]}],
            "messages[0].content[0].content[0].type",
        ),
        ("ok", None),
    ],
)
def test_decode_request_rejects_blocks_it_cannot_translate(content: Any, param: str | None) -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": content}]}
    if param is None:
        codec.decode_request(body, {})
        return
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body, {})
    assert caught.value.param == param
    assert param in caught.value.message


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"system": [{"type": "image"}]}, "system[0].type"),
        ({"tools": [{"description": "no name", "input_schema": {}}]}, "tools[0].name"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
        ({"output_config": {"effort": "extreme"}}, "output_config.effort"),
        ({"metadata": {"user_id": 7}}, "metadata.user_id"),
        ({"top_k": "many"}, "top_k"),
        ({"temperature": "hot"}, "temperature"),
    ],
)
def test_decode_request_rejects_bad_fields(overrides: dict[str, Any], param: str) -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [user("hi")], **overrides}
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body, {})
    assert caught.value.param == param


# ---------------------------------------------------------------- request encode: what the real API accepts

TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def assert_acceptable(body: dict[str, Any]) -> None:
    """What the Messages API checks before it runs a model (the rules the fake provider enforces too)."""
    CREATE.validate_python({k: v for k, v in body.items() if k != "stream"})  # the SDK's own request types
    assert isinstance(body["model"], str) and body["model"]
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] >= 1
    messages = body["messages"]
    assert messages and messages[0]["role"] == "user"
    for i, message in enumerate(messages):
        assert message["role"] in ("user", "assistant"), message
        assert i == 0 or messages[i - 1]["role"] != message["role"], "turns alternate"
        content = message["content"]
        assert content and isinstance(content, list)
        for block in content:
            if block["type"] == "text":
                assert block["text"], "no empty text blocks"
            if block["type"] == "thinking":
                assert block["signature"]
            if block["type"] in ("tool_use", "tool_result"):
                assert TOOL_ID.match(block.get("id") or block.get("tool_use_id"))
            if block["type"] == "tool_use":
                assert isinstance(block["input"], dict)
        kinds = [b["type"] for b in content]
        if "tool_result" in kinds:
            assert kinds == sorted(kinds, key=lambda k: k != "tool_result"), "tool results come first"
        offered = [b["id"] for b in messages[i - 1]["content"] if b["type"] == "tool_use"] if i else []
        if message["role"] == "user":
            assert sorted(b["tool_use_id"] for b in content if b["type"] == "tool_result") == sorted(offered)
    last = messages[-1]
    if last["role"] == "assistant" and last["content"][-1]["type"] == "text":
        assert last["content"][-1]["text"] == last["content"][-1]["text"].rstrip()
    if any(b["type"] in ("tool_use", "tool_result") for m in messages for b in m["content"]):
        assert body.get("tools"), "tool history needs tool definitions"
    for tool in body.get("tools", []):
        assert tool.get("type", "custom") != "function"
        if tool.get("type", "custom") == "custom":
            assert tool["name"] and tool["input_schema"]["type"] == "object"
    thinking = body.get("thinking")
    if thinking and thinking["type"] == "enabled":
        assert 1024 <= thinking["budget_tokens"] < body["max_tokens"]
        assert body.get("temperature", 1) == 1
        assert body.get("tool_choice", {"type": "auto"})["type"] in ("auto", "none")
    assert 0 <= body.get("temperature", 0) <= 1
    for stop in body.get("stop_sequences", []):
        assert stop.strip()


def test_same_protocol_translation_keeps_what_must_survive() -> None:
    body = claude_code_body()
    request = codec.decode_request(body, HEADERS)
    encoded = codec.encode_request(request, "claude-sonnet-4-5-20250929")
    assert encoded["model"] == "claude-sonnet-4-5-20250929"
    assert encoded["system"] == body["system"]
    assert encoded["tools"] == body["tools"]  # server tool, cache_control and the big schema, verbatim
    assert encoded["thinking"] == {"type": "adaptive"} and encoded["output_config"] == {"effort": "max"}
    assert encoded["top_k"] == 40 and encoded["context_management"] == body["context_management"]
    assert encoded["metadata"] == {"user_id": "user_abc_account_def_session_123"}
    assert encoded["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert (encoded["max_tokens"], encoded["temperature"], encoded["stream"]) == (32000, 1.0, True)
    assert encoded["stop_sequences"] == ["\n\nHuman:"]
    messages = encoded["messages"]
    assert messages[1]["content"][:2] == body["messages"][1]["content"][:2]  # signed and redacted thinking
    assert messages[1]["content"][3] == body["messages"][1]["content"][3]
    wrapped = {"type": "text", "text": "<system>\nThe user switched to plan mode.\n</system>"}
    assert messages[2]["content"][-1] == wrapped  # in place, in the user turn it falls into
    assert messages[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Here is the fix:"}]}
    assert messages[4]["content"][1]["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}
    assert_acceptable(encoded)


def test_claude_code_body_towards_another_protocol_drops_only_what_it_must() -> None:
    request = codec.decode_request(claude_code_body(), HEADERS)
    request.protocol = "openai_chat"  # as if it had come from elsewhere: no raw fields may ride along
    encoded = codec.encode_request(request, "claude-x")
    assert [t["name"] for t in encoded["tools"]] == ["Read", "Bash"]
    assert encoded["tools"][1]["cache_control"] == {"type": "ephemeral"}
    assert "top_k" not in encoded and "context_management" not in encoded
    assert encoded["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert "thinking" not in encoded  # a prefill is last: the API would refuse thinking
    assert_acceptable(encoded)


def chat_like_request(**params: Any) -> Request:
    """A conversation as the Chat or Responses codec would build it."""
    return Request(
        model="anthropic:claude",
        protocol="openai_chat",
        system=[Text("You are terse.")],
        messages=[
            Message("assistant", [Text("Hello! How can I help?")]),
            Message("user", [Text("What is in these?"), Image(url="https://x.test/a.png", detail="high")]),
            Message("user", [Image(data="/9j/4AAQSkZJRg")]),
            Message(
                "assistant",
                [
                    Reasoning(text="from deepseek, unsigned"),
                    Text(""),
                    ToolCall("call_1", "lookup", '{"q": "cats"}'),
                    ToolCall("functions.lookup:1", "lookup", "not json"),
                    ToolCall("call_3", "apply_patch", "*** Begin Patch", kind="custom"),
                    ToolCall("call_4", "lookup", ""),
                ],
            ),
            Message("developer", [Text("Prefer short answers.")]),
            Message("user", [ToolResult("call_1", [Text("a cat")])]),
            Message("user", [ToolResult("functions.lookup:1", [Text("bad input")], is_error=True)]),
            Message("user", [ToolResult("call_3", [Text("ok"), Image(url="https://x.test/b.png")], kind="custom")]),
            Message("user", [ToolResult("call_9", [Text("stray")])]),
            Message("assistant", []),
            Message("user", [Text("thanks   ")]),
        ],
        tools=[
            ToolSpec(
                "lookup", "Look things up", {"type": "object", "properties": {"q": {"type": "string"}}}, strict=True
            ),
            ToolSpec("apply_patch", "Patch files", kind="custom", extra={"format": {"type": "grammar"}}),
        ],
        tool_choice=ToolChoice(mode="required", parallel=False),
        params=Params(**params),
        stream=True,
    )


def test_a_chat_conversation_becomes_a_body_the_api_accepts() -> None:
    encoded = codec.encode_request(chat_like_request(temperature=1.7, stop=["\n", "END"], user="u-1", seed=3), "c")
    assert_acceptable(encoded)
    assert encoded["max_tokens"] == 4096 and encoded["stream"] is True
    assert encoded["system"] == [{"type": "text", "text": "You are terse."}]
    assert encoded["temperature"] == 1.0 and encoded["stop_sequences"] == ["END"]
    assert encoded["metadata"] == {"user_id": "u-1"} and "seed" not in encoded
    assert encoded["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    messages = encoded["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == [{"type": "text", "text": "(continue)"}]
    assert messages[2]["content"][1:] == [
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg"}},
    ]
    calls = messages[3]["content"]
    assert [b["type"] for b in calls] == ["tool_use"] * 4  # unsigned reasoning and empty text dropped
    assert [b["input"] for b in calls] == [{"q": "cats"}, {"input": "not json"}, {"input": "*** Begin Patch"}, {}]
    assert calls[1]["id"] == "functions_lookup_1"
    results = messages[4]["content"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "call_1", "content": "a cat"}
    assert results[1] == {
        "type": "tool_result",
        "tool_use_id": "functions_lookup_1",
        "content": "bad input",
        "is_error": True,
    }
    assert results[2]["content"][1]["source"]["url"] == "https://x.test/b.png"
    assert results[3] == {
        "type": "tool_result",
        "tool_use_id": "call_4",
        "content": "No result was provided for this tool call.",
        "is_error": True,
    }
    texts = [b["text"] for b in results[4:]]
    assert texts == ["[tool result call_9]: stray", "<system>\nPrefer short answers.\n</system>", "thanks   "]
    tools = encoded["tools"]
    assert tools[0] == {
        "name": "lookup",
        "description": "Look things up",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    assert tools[1]["input_schema"]["properties"]["input"]["type"] == "string"


def test_custom_tool_calls_round_trip_through_an_anthropic_upstream() -> None:
    request = chat_like_request()
    start = {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {}}
    delta = {"type": "input_json_delta", "partial_json": '{"input": "*** End Patch"}'}
    wire = sse_bytes(message_start(), *block_events(0, start, delta), *end("tool_use"))
    sse, decoder = SSEDecoder(), codec.stream_decoder(request)
    events = [e for f in sse.feed(wire) for e in decoder.feed(f)] + decoder.finish()
    assert collect(events).content == [ToolCall("toolu_1", "apply_patch", "*** End Patch", kind="custom")]


@pytest.mark.parametrize(
    ("params", "expected_thinking", "expected_max"),
    [
        ({"reasoning_effort": "high"}, {"type": "enabled", "budget_tokens": 16384}, 16384 + 4096),
        ({"reasoning_effort": "low", "max_tokens": 10000}, {"type": "enabled", "budget_tokens": 2048}, 10000),
        ({"reasoning_effort": "high", "max_tokens": 8000}, {"type": "enabled", "budget_tokens": 4000}, 8000),
        ({"reasoning_effort": "medium", "max_tokens": 1500}, None, 1500),
        ({"reasoning_effort": "none"}, None, 4096),
        ({"reasoning_budget": 3000, "max_tokens": 5000}, {"type": "enabled", "budget_tokens": 3000}, 5000),
        ({"reasoning_budget": 100}, {"type": "enabled", "budget_tokens": 1024}, 1024 + 4096),
    ],
)
def test_reasoning_effort_and_budget_become_a_thinking_budget(
    params: dict[str, Any], expected_thinking: dict[str, Any] | None, expected_max: int
) -> None:
    request = Request(model="m", messages=[Message("user", [Text("hi")])], params=Params(temperature=0.2, **params))
    encoded = codec.encode_request(request, "c")
    assert encoded.get("thinking") == expected_thinking and encoded["max_tokens"] == expected_max
    assert ("temperature" in encoded) is (expected_thinking is None)
    assert_acceptable(encoded)


def test_thinking_stays_off_where_the_api_would_refuse_it() -> None:
    forced = chat_like_request(reasoning_effort="high")
    assert "thinking" not in codec.encode_request(forced, "c")  # tool use is forced
    loop = Request(
        model="m",
        protocol="openai_chat",
        messages=[
            Message("user", [Text("go")]),
            Message("assistant", [ToolCall("call_1", "f", "{}")]),
            Message("user", [ToolResult("call_1", [Text("done")])]),
        ],
        tools=[ToolSpec("f")],
        params=Params(reasoning_effort="medium"),
    )
    assert "thinking" not in codec.encode_request(loop, "c")  # the tool loop has no signed thinking to carry
    loop.messages[1].content.insert(0, Reasoning(text="t", signature="sig"))
    assert codec.encode_request(loop, "c")["thinking"] == {"type": "enabled", "budget_tokens": 8192}


def test_tool_history_without_tools_declares_them_and_forbids_calls() -> None:
    request = Request(
        model="m",
        messages=[
            Message("user", [Text("go")]),
            Message("assistant", [ToolCall("call_1", "f", "{}")]),
            Message("user", [ToolResult("call_1", [Text("done")]), Text("summarise")]),
        ],
    )
    encoded = codec.encode_request(request, "c")
    assert encoded["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    assert encoded["tool_choice"] == {"type": "none"}
    assert_acceptable(encoded)


def test_response_format_json_schema_becomes_structured_output() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    request = Request(
        model="m",
        messages=[Message("user", [Text("hi")])],
        params=Params(response_format={"type": "json_schema", "name": "x", "schema": schema, "strict": True}),
    )
    assert codec.encode_request(request, "c")["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    request.params.response_format = {"type": "json_object"}
    assert "output_config" not in codec.encode_request(request, "c")


def test_same_protocol_structured_output_is_not_sent_twice() -> None:
    schema = {"type": "object", "properties": {}}
    for field, value in (
        ("output_format", {"type": "json_schema", "schema": schema}),
        ("output_config", {"format": {"type": "json_schema", "schema": schema}, "effort": "low"}),
    ):
        body = {"model": "m", "max_tokens": 10, "messages": [user("hi")], field: value}
        encoded = codec.encode_request(codec.decode_request(body, {}), "c")
        assert encoded[field] == value
        assert ("output_config" in encoded) is (field == "output_config")


def test_n_greater_than_one_is_refused() -> None:
    request = Request(model="m", messages=[Message("user", [Text("hi")])], params=Params(n=2))
    with pytest.raises(InvalidRequest) as caught:
        codec.encode_request(request, "c")
    assert caught.value.param == "n"


def test_default_max_tokens_is_configurable() -> None:
    request = Request(model="m", messages=[Message("user", [Text("hi")])])
    assert AnthropicMessagesCodec(default_max_tokens=64000).encode_request(request, "c")["max_tokens"] == 64000


def test_with_model_rewrites_only_the_model() -> None:
    body = claude_code_body()
    assert codec.with_model(body, "other") == {**body, "model": "other"}
    assert body["model"] == "claude-sonnet-4-5"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequest("bad 'x'", param="x"), 400, "invalid_request_error"),
        (LipError("nope", status=401, code="unauthorized"), 401, "authentication_error"),
        (LipError("nope", status=403), 403, "permission_error"),
        (LipError("no such model", status=404), 404, "not_found_error"),
        (BodyTooLarge("too big"), 413, "request_too_large"),
        (LipError("busy", status=429), 429, "rate_limit_error"),
        (LipError("boom"), 500, "api_error"),
        (UnsupportedTranslation("cannot"), 501, "invalid_request_error"),
        (UpstreamProtocolError("garbled"), 502, "api_error"),
        (UpstreamTimeout("slow"), 504, "api_error"),
        (
            UpstreamStatusError("Overloaded", upstream_status=529, error_type="overloaded_error"),
            502,
            "overloaded_error",
        ),
        (UpstreamStatusError("quota", upstream_status=429, error_type="insufficient_quota"), 429, "rate_limit_error"),
        (
            UpstreamStatusError("bad", upstream_status=400, error_type="invalid_request_error"),
            400,
            "invalid_request_error",
        ),
    ],
)
def test_error_body_shapes(error: LipError, status: int, kind: str) -> None:
    assert error.status == status
    body = codec.error_body(error)
    assert body == {"type": "error", "error": {"type": kind, "message": error.message}}
    name, payload = frames(codec.error_frame(error))[0]
    assert (name, payload) == ("error", body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ("Overloaded", "overloaded_error"),
        ),
        ({"error": {"message": "bad key", "type": "authentication_error"}}, ("bad key", "authentication_error")),
        ({"error": "plain"}, ("plain", None)),
        ({"message": "flat"}, ("flat", None)),
        (b'{"type":"error","error":{"type":"api_error","message":"x"}}', ("x", "api_error")),
        (b"<html>502 Bad Gateway</html>", ("<html>502 Bad Gateway</html>", None)),
        (None, ("the upstream answered HTTP 503", None)),
        ([1, 2], ("the upstream answered HTTP 503", None)),
    ],
)
def test_upstream_error_is_tolerant(body: Any, expected: tuple[str, str | None]) -> None:
    assert codec.upstream_error(503, body) == expected


# ---------------------------------------------------------------- thinking from another provider (a failover)

OTHER_THINKING = [
    {"type": "thinking", "thinking": "from a Chat upstream", "signature": ""},
    {"type": "thinking", "thinking": "from a Responses upstream", "signature": "lip-encrypted:rs_1:gAAAA"},
    {"type": "thinking", "thinking": "no signature at all"},
]


@pytest.mark.parametrize("block", OTHER_THINKING)
def test_thinking_an_anthropic_upstream_cannot_verify_is_found(block: dict[str, Any]) -> None:
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [block, {"type": "text", "text": "a"}]},
    ]
    assert unverifiable_thinking(messages)
    signed = {"type": "thinking", "thinking": "t", "signature": "EqQBsig"}
    assert not unverifiable_thinking([{"role": "assistant", "content": [signed, {"type": "redacted_thinking"}]}])
    assert not unverifiable_thinking([{"role": "assistant", "content": "text"}, "junk"])


def test_same_protocol_translation_turns_thinking_off_when_the_loop_lost_its_thinking_block() -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}
    body = {
        "model": "m",
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [OTHER_THINKING[0], call]},
            {"role": "user", "content": [result]},
        ],
    }
    encoded = codec.encode_request(codec.decode_request(body, HEADERS), "m")
    assert encoded["messages"][1]["content"] == [call] and "thinking" not in encoded
    signed = {"type": "thinking", "thinking": "t", "signature": "EqQBsig"}
    body["messages"][1]["content"] = [signed, call]  # type: ignore[index]
    encoded = codec.encode_request(codec.decode_request(body, HEADERS), "m")
    assert encoded["thinking"] == {"type": "enabled", "budget_tokens": 2048}


FAST_PATH_EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 3}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": 7}},
    {"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "no such block"}},
    {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "no index"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "after stop"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]


def test_the_text_delta_fast_path_decodes_as_the_general_path_does() -> None:
    fast, general = AnthropicStreamDecoder(), AnthropicStreamDecoder()
    for event in FAST_PATH_EVENTS:
        sse = SSEEvent(orjson.dumps(event), event["type"])
        assert fast.feed(sse) == general.handle(event, sse.event), event
