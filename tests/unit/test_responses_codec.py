"""OpenAI Responses codec: wire transcripts -> canonical -> wire, checked by the grammar and the official SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import openai
import orjson
import pytest
from openai._types import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent
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
    Response,
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
from lip.errors import InvalidRequest, LipError, UpstreamProtocolError, UpstreamStatusError
from lip.protocols.codec import Codec
from lip.protocols.openai_responses import (
    NAME,
    OpenAIResponsesCodec,
    ResponsesStreamDecoder,
    conversation_to_store,
    prepend_previous,
    previous_response_id,
    previous_response_not_found,
    response_id_for,
    should_store,
)
from lip.protocols.openai_responses.items import unverifiable_reasoning
from lip.protocols.openai_responses.output import minted_by_lip, new_id
from lip.protocols.sse import SSEDecoder, SSEEvent
from lip.response_store import ResponseStore, StoredConversation
from lip.store import MemoryStore
from tests.fakes.openai_responses import OpenAIResponses
from tests.fakes.script import ErrorMidStream, FakeToolCall, FakeUsage, Turn

TRANSCRIPTS = Path(__file__).parent / "transcripts"
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
codec = OpenAIResponsesCodec()

REASONING_1 = "**Planning weather lookups**\n\nThe user wants Paris and Tokyo; I'll call the tool twice."
REASONING_2 = "**Answering**\n\nI'll tell them I'm checking."
ENCRYPTED = (
    "gAAAAABowfCnQ2x8vT1kR9mZp0LqWs3eYb4NcHuJd6Fa7Gi8Ko9Pr0St1Uv2Wx3Yz4Ab5Cd6Ef7Gh8Ij9Kl0Mn1Op2Qr3St4Uv5Wx6Yz7=="
)


# ---------------------------------------------------------------- helpers


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode_stream(chunks: list[bytes], model: str = "") -> list[Event]:
    sse, decoder = SSEDecoder(), ResponsesStreamDecoder(model)
    events: list[Event] = []
    for chunk in chunks:
        for frame in sse.feed(chunk):
            events += decoder.feed(frame)
    for frame in sse.flush():
        events += decoder.feed(frame)
    return events + decoder.finish()


def transcript(name: str) -> bytes:
    return (TRANSCRIPTS / name).read_bytes()


def frames_of(wire: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    sse = SSEDecoder()
    frames = sse.feed(wire) + sse.flush()
    return [(f.event, orjson.loads(f.data)) for f in frames]


def responses_request(**body: Any) -> Request:
    return codec.decode_request({"model": "lip-model", "input": "hi", **body}, {})


def encode_stream(events: list[Event], request: Request | None = None) -> bytes:
    encoder = codec.stream_encoder(request or responses_request(stream=True))
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def sdk_replay(wire: bytes) -> tuple[list[Any], Any]:
    """Every frame validated as the SDK's event union, then run through the SDK's own stream accumulator."""
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    parsed: list[Any] = []
    for name, data in frames_of(wire):
        assert name == data["type"], "the event: line names the payload's type"
        event = EVENTS.validate_python(data)
        parsed.append(event)
        state.handle_event(event)
    numbers = [e.sequence_number for e in parsed]
    assert numbers == list(range(len(parsed))), "sequence_number counts 0, 1, 2, ..."
    return parsed, state._completed_response


def sdk_client(wire: bytes, content_type: str = "text/event-stream") -> tuple[openai.OpenAI, list[Any]]:
    seen: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(orjson.loads(request.content))
        return httpx2.Response(200, headers={"content-type": content_type}, content=wire)

    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://lip.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    return client, seen


def two_call_events(start: list[Event] | None = None) -> list[Event]:
    return [
        MessageStart("chatcmpl-abc", "some-model", 1700000000),
        *(start or []),
        TextDelta("Checking."),
        ToolCallStart(0, "call_a", "get_weather"),
        ToolCallDelta(0, '{"city":'),
        ToolCallDelta(0, '"Paris"}'),
        ToolCallEnd(0),
        ToolCallStart(1, "call_b", "get_weather"),
        ToolCallDelta(1, '{"city":"Tokyo"}'),
        ToolCallEnd(1),
        Usage(input_tokens=50, output_tokens=20, cached_tokens=10, reasoning_tokens=5),
        MessageEnd(StopReason.TOOL_USE),
    ]


def test_codec_satisfies_the_protocol() -> None:
    checked: Codec = codec
    assert checked.name == NAME == "openai_responses"


# ---------------------------------------------------------------- upstream stream -> canonical


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 509, 1 << 20])
def test_transcript_decodes_at_any_split(size: int) -> None:
    events = decode_stream(split(transcript("responses_reasoning_text_two_calls.txt"), size), "gpt-5")
    check_sequence(events)
    assert events == decode_stream([transcript("responses_reasoning_text_two_calls.txt")], "gpt-5")
    response = collect(events)
    assert response.id == "resp_68c1f0a2b3d48190a5e3c1f2d4b6a8c00b1e2f3a4c5d6e7f"
    assert response.model == "gpt-5-2025-08-07" and response.created == 1757540514
    reasoning, text, first, second = response.content
    assert reasoning == Reasoning(
        text=REASONING_1 + "\n\n" + REASONING_2,
        encrypted=ENCRYPTED,
        id="rs_68c1f0a3c4d58190b6f4d2e3c5a7b9d10c2f3a4b5d6e7f80",
    )
    assert text == Text("Let me check the weather in both cities.")
    assert first == ToolCall("call_PJ6tUo3hY1mWq8rZ2xK4vN0a", "get_weather", '{"city":"Paris"}')
    assert second == ToolCall("call_Qw7eRt9yU2iOp4aS6dF8gH1j", "get_weather", '{"city":"Tokyo"}')
    assert response.stop_reason is StopReason.TOOL_USE
    assert response.usage == Usage(input_tokens=412, output_tokens=187, cached_tokens=256, reasoning_tokens=128)


def test_transcript_event_order() -> None:
    events = decode_stream([transcript("responses_reasoning_text_two_calls.txt")])
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "MessageStart" and kinds[-2:] == ["Usage", "MessageEnd"]
    assert kinds.index("ReasoningEnd") < kinds.index("TextDelta") < kinds.index("ToolCallStart")
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [s.index for s in starts] == [0, 1], "tool call indices count tool calls, not output items"


def test_non_streamed_body_collects_to_the_same_response() -> None:
    last = frames_of(transcript("responses_reasoning_text_two_calls.txt"))[-1][1]
    events = codec.decode_response(last["response"], responses_request())
    check_sequence(events)
    streamed = collect(decode_stream([transcript("responses_reasoning_text_two_calls.txt")]))
    assert collect(events) == streamed


def _fake_stream(turn: Turn, fault: ErrorMidStream | None = None, **body: Any) -> bytes:
    fake = OpenAIResponses()
    request = {"model": "gpt-5", "input": "hi", **body}
    return b"".join(frame.encode() for frame in fake.frames(request, turn, fault))


def test_fake_provider_stream_with_reasoning_and_calls() -> None:
    turn = Turn(
        text="On it.",
        reasoning="thinking hard",
        tool_calls=[FakeToolCall("a", '{"x":1}', id="call_1"), FakeToolCall("b", '{"y":2}', id="call_2")],
        usage=FakeUsage(input_tokens=30, output_tokens=9, cached=4, reasoning=3),
    )
    events = decode_stream(split(_fake_stream(turn, include=["reasoning.encrypted_content"]), 5))
    check_sequence(events)
    response = collect(events)
    reasoning = response.content[0]
    assert isinstance(reasoning, Reasoning) and reasoning.text == "thinking hard" and reasoning.encrypted
    assert response.content[1:] == [
        Text("On it."),
        ToolCall("call_1", "a", '{"x":1}'),
        ToolCall("call_2", "b", '{"y":2}'),
    ]
    assert response.stop_reason is StopReason.TOOL_USE
    assert response.usage == Usage(input_tokens=30, output_tokens=9, cached_tokens=4, reasoning_tokens=3)


@pytest.mark.parametrize(
    ("finish", "reason"), [("max_tokens", StopReason.MAX_TOKENS), ("content_filter", StopReason.CONTENT_FILTER)]
)
def test_incomplete_maps_to_stop_reason(finish: Any, reason: StopReason) -> None:
    events = decode_stream([_fake_stream(Turn(text="partial", finish=finish))])
    check_sequence(events)
    response = collect(events)
    assert response.stop_reason is reason and response.content == [Text("partial")]


@pytest.mark.parametrize(("event", "status", "expected"), [("response.failed", 429, 429), ("error", 500, 502)])
def test_upstream_failure_mid_stream(event: Any, status: int, expected: int) -> None:
    fault = ErrorMidStream(after_chunks=4, status=status, responses_event=event, turn=Turn(text="abcdef"))
    events = decode_stream([_fake_stream(fault.turn, fault)])
    check_sequence(events)
    error = events[-1]
    assert isinstance(error, StreamError) and isinstance(error.error, UpstreamStatusError)
    assert error.error.status == expected
    with pytest.raises(UpstreamStatusError):
        collect(events)


def test_stream_without_terminal_event_is_a_protocol_error() -> None:
    events = decode_stream([_fake_stream(Turn(text="cut", omit_finish_reason=True))])
    check_sequence(events)
    assert isinstance(events[-1], StreamError) and isinstance(events[-1].error, UpstreamProtocolError)
    nothing = decode_stream([b""])
    assert len(nothing) == 1 and isinstance(nothing[0], StreamError)


def test_items_without_deltas_and_custom_tool_calls() -> None:
    """An upstream that sends only finished items (or only the final response) still yields every block."""
    call = {"id": "ctc_1", "type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": "*** Begin"}
    message = {
        "id": "msg_1",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Patched.", "annotations": []}],
    }
    wire = b"".join(
        f"event: {kind}\ndata: {orjson.dumps(data).decode()}\n\n".encode()
        for kind, data in [
            (
                "response.output_item.added",
                {"type": "response.output_item.added", "output_index": 0, "item": {**call, "input": ""}},
            ),
            (
                "response.custom_tool_call_input.delta",
                {
                    "type": "response.custom_tool_call_input.delta",
                    "output_index": 0,
                    "item_id": "ctc_1",
                    "delta": "*** ",
                },
            ),
            ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": call}),
            (
                "response.completed",
                {
                    "type": "response.completed",
                    "response": {"id": "resp_x", "model": "m", "status": "completed", "output": [call, message]},
                },
            ),
        ]
    )
    events = decode_stream(split(wire, 11))
    check_sequence(events)
    response = collect(events)
    assert response.content == [ToolCall("call_p", "apply_patch", "*** Begin", kind="custom"), Text("Patched.")]
    assert response.stop_reason is StopReason.TOOL_USE


def test_decoder_tolerates_noise() -> None:
    decoder = ResponsesStreamDecoder("m")
    assert decoder.feed(SSEEvent(b"[DONE]")) == []
    bad = decoder.feed(SSEEvent(b"{not json"))
    assert isinstance(bad[0], StreamError) and isinstance(bad[0].error, UpstreamProtocolError)
    assert decoder.finish() == []


# ---------------------------------------------------------------- canonical -> client stream (the SDK's view)


def test_encoder_output_is_what_the_sdk_reconstructs() -> None:
    events = decode_stream([transcript("responses_reasoning_text_two_calls.txt")])
    wire = encode_stream(events)
    parsed, final = sdk_replay(wire)
    types = [e.type for e in parsed]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert final.id == "resp_68c1f0a2b3d48190a5e3c1f2d4b6a8c00b1e2f3a4c5d6e7f"
    reasoning, message, first, second = final.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content == ENCRYPTED
    assert [s.text for s in reasoning.summary] == [REASONING_1 + "\n\n" + REASONING_2]
    assert message.type == "message" and message.content[0].text == "Let me check the weather in both cities."
    assert (first.type, first.call_id, first.arguments) == (
        "function_call",
        "call_PJ6tUo3hY1mWq8rZ2xK4vN0a",
        '{"city":"Paris"}',
    )
    assert (second.call_id, second.arguments) == ("call_Qw7eRt9yU2iOp4aS6dF8gH1j", '{"city":"Tokyo"}')
    assert final.usage.input_tokens == 412 and final.usage.input_tokens_details.cached_tokens == 256
    assert final.usage.output_tokens_details.reasoning_tokens == 128 and final.usage.total_tokens == 599
    assert final.status == "completed"
    SDKResponse.model_validate(final.model_dump())
    # the item shapes the brief names
    added = [e.item for e in parsed if e.type == "response.output_item.added"]
    assert added[1].status == "in_progress" and added[1].content == []
    assert added[2].status == "in_progress" and added[2].arguments == ""
    deltas = [e for e in parsed if e.type == "response.output_text.delta"]
    assert all(d.logprobs == [] and d.content_index == 0 and d.output_index == 1 for d in deltas)


def test_encoder_round_trips_through_the_decoder() -> None:
    original = decode_stream([transcript("responses_reasoning_text_two_calls.txt")])
    again = decode_stream(split(encode_stream(original), 13))
    check_sequence(again)
    back, expected = collect(again), collect(original)
    reasoning = back.content[0]
    assert isinstance(reasoning, Reasoning) and reasoning.id and reasoning.id.startswith("rs_")
    reasoning.id = None  # minted at output_item.added: the upstream's id only arrives with ReasoningEnd
    expected.content[0].id = None  # type: ignore[union-attr]
    assert back == expected


def test_official_sdk_stream_helper_and_create() -> None:
    events = two_call_events([ReasoningDelta("hmm"), ReasoningEnd(signature="sig-abc")])
    client, seen = sdk_client(encode_stream(events))
    with client.responses.stream(model="lip-model", input="weather?") as stream:
        kinds = [event.type for event in stream]
        final: Any = stream.get_final_response()  # the output union has no common attributes to type against
    assert seen[0]["stream"] is True
    assert kinds.count("response.function_call_arguments.delta") == 3
    assert final.id == "resp_chatcmpl-abc"
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "function_call"]
    assert final.output[0].encrypted_content == "lip-signature:sig-abc"
    assert final.output_text == "Checking."
    assert [(c.call_id, c.arguments) for c in final.output[2:]] == [
        ("call_a", '{"city":"Paris"}'),
        ("call_b", '{"city":"Tokyo"}'),
    ]

    body = codec.encode_response(collect(events), responses_request())
    client, _ = sdk_client(orjson.dumps(body), "application/json")
    created = client.responses.create(model="lip-model", input="weather?")
    assert created.id == final.id and created.output_text == "Checking."
    assert [item.type for item in created.output] == [item.type for item in final.output]
    assert created.usage is not None and created.usage.input_tokens == 50


def test_interleaved_tool_calls_become_well_formed_items() -> None:
    events: list[Event] = [
        MessageStart("msg_01", "claude", 1),
        ToolCallStart(0, "toolu_a", "read"),
        ToolCallStart(1, "toolu_b", "apply_patch", kind="custom"),
        ToolCallDelta(1, "*** Begin"),
        ToolCallDelta(0, '{"path":'),
        ToolCallStart(2, "toolu_c", "read"),
        ToolCallDelta(2, '{"path":"c"}'),
        ToolCallEnd(2),
        ToolCallDelta(1, " Patch"),
        ToolCallEnd(1),
        ToolCallDelta(0, '"a"}'),
        ToolCallEnd(0),
        MessageEnd(StopReason.TOOL_USE),
    ]
    check_sequence(events)
    wire = encode_stream(events)
    parsed, final = sdk_replay(wire)
    items = [(o.type, o.call_id) for o in final.output]
    assert items == [("function_call", "toolu_a"), ("custom_tool_call", "toolu_b"), ("function_call", "toolu_c")]
    assert final.output[0].arguments == '{"path":"a"}' and final.output[1].input == "*** Begin Patch"
    # each item is added, streamed and done before the next one is added
    open_items: set[int] = set()
    for event in parsed:
        if event.type == "response.output_item.added":
            assert not open_items
            open_items.add(event.output_index)
        elif event.type == "response.output_item.done":
            open_items.discard(event.output_index)
        elif hasattr(event, "output_index"):
            assert event.output_index in open_items
    assert any(e.type == "response.custom_tool_call_input.delta" for e in parsed)
    decoded = collect(decode_stream([wire]))
    assert [p.arguments for p in decoded.content if isinstance(p, ToolCall)] == [
        '{"path":"a"}',
        "*** Begin Patch",
        '{"path":"c"}',
    ]


@pytest.mark.parametrize(
    ("reason", "detail"), [(StopReason.MAX_TOKENS, "max_output_tokens"), (StopReason.CONTENT_FILTER, "content_filter")]
)
def test_incomplete_response(reason: StopReason, detail: str) -> None:
    events: list[Event] = [MessageStart("x", "m"), TextDelta("par"), TextDelta("tial"), MessageEnd(reason)]
    parsed, _ = sdk_replay(encode_stream(events))
    last = parsed[-1]
    assert last.type == "response.incomplete" and last.response.incomplete_details.reason == detail
    assert last.response.output[0].status == "incomplete" and last.response.output[0].content[0].text == "partial"
    assert collect(decode_stream([encode_stream(events)])).stop_reason is reason


def test_an_anthropic_refusal_is_incomplete_for_content_filter() -> None:
    events: list[Event] = [MessageStart("x", "m"), TextDelta("I can't"), MessageEnd(StopReason.REFUSAL)]
    last = sdk_replay(encode_stream(events))[0][-1]
    assert last.type == "response.incomplete" and last.response.incomplete_details.reason == "content_filter"
    body = OpenAIResponsesCodec().encode_response(collect(events), Request(model="m", messages=[]))
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "content_filter"}


def test_stream_error_becomes_response_failed() -> None:
    error = UpstreamStatusError("slow down", upstream_status=429, error_type="rate_limit_error")
    events: list[Event] = [MessageStart("x", "m"), TextDelta("a"), StreamError(error)]
    parsed, completed = sdk_replay(encode_stream(events))
    failed = parsed[-1]
    assert failed.type == "response.failed" and completed is None
    assert failed.response.status == "failed"
    assert (failed.response.error.code, failed.response.error.message) == ("rate_limit_exceeded", "slow down")
    assert isinstance(collect_error(decode_stream([encode_stream(events)])), UpstreamStatusError)
    # before anything was sent: an `error` event
    lone = frames_of(encode_stream([StreamError(LipError("boom"))]))
    assert lone == [
        ("error", {"type": "error", "sequence_number": 0, "code": "server_error", "message": "boom", "param": None})
    ]
    EVENTS.validate_python(lone[0][1])
    ((name, data),) = frames_of(codec.error_frame(InvalidRequest("bad", param="input")))
    assert name == "error" and EVENTS.validate_python(data).message == "bad"


def collect_error(events: list[Event]) -> LipError | None:
    try:
        collect(events)
    except LipError as exc:
        return exc
    return None


def test_response_head_echoes_the_request() -> None:
    request = responses_request(
        instructions="be brief",
        max_output_tokens=300,
        parallel_tool_calls=False,
        reasoning={"effort": "low", "summary": "auto"},
        text={"format": {"type": "json_object"}, "verbosity": "low"},
        tools=[{"type": "web_search"}, {"type": "function", "name": "f", "parameters": {"type": "object"}}],
        tool_choice="required",
        store=False,
        metadata={"k": "v"},
    )
    body = codec.encode_response(collect(two_call_events()), request)
    sdk = SDKResponse.model_validate(body)
    assert sdk.instructions == "be brief" and sdk.max_output_tokens == 300 and sdk.parallel_tool_calls is False
    assert sdk.reasoning is not None and sdk.reasoning.effort == "low"
    assert sdk.text is not None and sdk.text.verbosity == "low" and sdk.tool_choice == "required"
    assert [t.type for t in sdk.tools] == ["web_search", "function"] and body["store"] is False
    assert sdk.metadata == {"k": "v"} and sdk.status == "completed"


def test_response_id_mapping() -> None:
    assert response_id_for("resp_abc") == "resp_abc"
    assert response_id_for("msg_01X:y") == "resp_msg_01X_y"
    assert response_id_for("").startswith("resp_")
    encoder = codec.stream_encoder(responses_request(stream=True))
    encoder.encode(MessageStart("chatcmpl-1", "m"))
    assert encoder.response_id == "resp_chatcmpl-1"


# ---------------------------------------------------------------- client requests -> canonical


CODEX_BODY: dict[str, Any] = {
    "model": "gpt-5-codex",
    "instructions": "You are Codex, a coding agent.",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "<permissions>sandboxed</permissions>"}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]},
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Looking**"}],
            "content": None,
            "encrypted_content": ENCRYPTED,
        },
        {"type": "function_call", "name": "shell", "arguments": '{"command":["ls"]}', "call_id": "call_1"},
        {"type": "function_call_output", "call_id": "call_1", "output": "src\ntests"},
        {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAAB-second"},
        {
            "type": "custom_tool_call",
            "status": "completed",
            "call_id": "call_2",
            "name": "apply_patch",
            "input": "*** Begin Patch\n*** End Patch",
        },
        {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Done!"},
        {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "lark grammar"}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Fixed it."}]},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "thanks, and this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            ],
        },
    ],
    "tools": [
        {
            "type": "function",
            "name": "shell",
            "description": "Runs a shell command",
            "strict": False,
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                "required": ["command"],
            },
        },
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Edit files",
            "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"},
        },
        {"type": "web_search"},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "0199a1b2-c3d4-7e8f-9a0b-1c2d3e4f5a6b",
    "text": {
        "verbosity": "low",
        "format": {
            "type": "json_schema",
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": False,
            },
        },
    },
    "client_metadata": {"originator": "codex_cli_rs"},
}


def test_codex_request_decodes() -> None:
    request = codec.decode_request(CODEX_BODY, {})
    assert request.protocol == NAME and request.stream and request.model == "gpt-5-codex"
    assert [t.text for t in request.system] == [
        "You are Codex, a coding agent.",
        "<permissions>sandboxed</permissions>",
    ]
    user, assistant, results, assistant2, results2, last_assistant, last_user = request.messages
    assert user == Message("user", [Text("<environment_context>cwd=/repo</environment_context>"), Text("fix the bug")])
    assert assistant.role == "assistant" and assistant.content == [
        Reasoning(text="**Looking**", encrypted=ENCRYPTED),
        ToolCall("call_1", "shell", '{"command":["ls"]}'),
    ]
    assert results == Message("user", [ToolResult("call_1", [Text("src\ntests")])])
    assert assistant2.content == [
        Reasoning(encrypted="gAAAAAB-second"),
        ToolCall("call_2", "apply_patch", "*** Begin Patch\n*** End Patch", kind="custom"),
    ]
    assert results2 == Message("user", [ToolResult("call_2", [Text("Done!")], kind="custom")])
    assert last_assistant == Message("assistant", [Text("Fixed it.")])
    assert last_user.content[1] == Image(data="iVBORw0KGgo=", media_type="image/png")
    shell, patch = request.tools
    assert shell.name == "shell" and shell.strict is False and shell.parameters is not None
    assert patch == ToolSpec(
        "apply_patch", "Edit files", kind="custom", extra={"format": CODEX_BODY["tools"][1]["format"]}
    )
    assert request.tool_choice == ToolChoice("auto", parallel=False)
    assert request.params.reasoning_effort == "medium"
    assert request.params.response_format == {
        "type": "json_schema",
        "name": "answer",
        "schema": CODEX_BODY["text"]["format"]["schema"],
        "strict": True,
        "description": None,
    }


def test_codex_request_encodes_for_a_strict_responses_upstream() -> None:
    request = codec.decode_request(CODEX_BODY, {})
    body = orjson.loads(orjson.dumps(codec.encode_request(request, "gpt-5-codex-upstream")))
    OpenAIResponses().validate(body, {})  # the fake rejects what OpenAI rejects (pairs, tool names, ...)
    assert body["model"] == "gpt-5-codex-upstream" and body["store"] is False and body["stream"] is True
    assert body["instructions"] == "You are Codex, a coding agent.\n\n<permissions>sandboxed</permissions>"
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["tools"] == CODEX_BODY["tools"], "same protocol: built-in tools and formats survive verbatim"
    assert body["text"] == CODEX_BODY["text"] and body["prompt_cache_key"] == CODEX_BODY["prompt_cache_key"]
    assert body["client_metadata"] == CODEX_BODY["client_metadata"] and body["parallel_tool_calls"] is False
    assert "previous_response_id" not in body
    types = [item["type"] for item in body["input"]]
    assert types == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "custom_tool_call",
        "custom_tool_call_output",
        "message",
        "message",
    ]
    assert body["input"][1] == {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "**Looking**"}],
        "encrypted_content": ENCRYPTED,
    }
    assert body["input"][5] == {
        "type": "custom_tool_call",
        "call_id": "call_2",
        "name": "apply_patch",
        "input": "*** Begin Patch\n*** End Patch",
    }
    assert body["input"][7] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Fixed it."}],
    }
    assert body["input"][8]["content"][1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
        "detail": "auto",
    }
    for item in body["input"]:
        assert "id" not in item


def test_translated_request_for_a_responses_upstream() -> None:
    """A request from another protocol (Anthropic/Chat-like canonical) in the shape strict upstreams accept."""
    request = Request(
        model="sel",
        protocol="anthropic_messages",
        system=[Text("sys one"), Text("sys two")],
        messages=[
            Message("user", [Text("hi"), Image(url="https://x.test/a.png", detail="high")]),
            Message(
                "assistant",
                [
                    Reasoning(text="t", signature="sig"),
                    Text("calling"),
                    ToolCall("toolu_1", "get", '{"q":1}'),
                    ToolCall("toolu_2", "apply_patch", "raw text", kind="custom"),
                ],
            ),
            Message(
                "user",
                [
                    ToolResult("toolu_1", [Text("boom")], is_error=True),
                    ToolResult("toolu_2", [Image(data="AAA", media_type="image/jpeg")]),
                    Text("go on"),
                ],
            ),
            Message("system", [Text("be careful now")]),
            Message("assistant", [Text("ok")]),
        ],
        tools=[
            ToolSpec("get", "Get a thing", {"type": "object", "properties": {"q": {"type": "integer"}}}),
            ToolSpec("apply_patch", None, kind="custom"),
        ],
        tool_choice=ToolChoice("tool", name="get", parallel=True),
        params=Params(
            max_tokens=1,
            temperature=0.3,
            stop=["END"],
            reasoning_budget=10000,
            seed=7,
            user="u" * 80,
            response_format={"type": "json_object"},
        ),
        metadata={"user_id": "abc"},
        stream=False,
    )
    body = codec.encode_request(request, "gpt-5")
    OpenAIResponses().validate(orjson.loads(orjson.dumps(body)), {})
    assert body["instructions"] == "sys one\n\nsys two"
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get",
            "description": "Get a thing",
            "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}},
            "strict": False,
        },
        {"type": "custom", "name": "apply_patch"},
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get"} and body["parallel_tool_calls"] is True
    assert body["max_output_tokens"] == 16 and body["temperature"] == 0.3
    assert body["reasoning"] == {"effort": "medium"} and body["include"] == ["reasoning.encrypted_content"]
    assert body["text"] == {"format": {"type": "json_object"}} and body["metadata"] == {"user_id": "abc"}
    assert "stop" not in body and "seed" not in body and "stream" not in body
    assert body["user"].startswith("lip-") and len(body["user"]) == 64  # 80 characters: hashed to fit
    assert body["store"] is False
    user, assistant_text, call, custom_call, error_result, custom_result, go_on, system, ok = body["input"]
    assert user["content"][1] == {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "high"}
    assert assistant_text == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "calling"}],
    }
    assert call == {"type": "function_call", "call_id": "toolu_1", "name": "get", "arguments": '{"q":1}'}
    assert custom_call == {"type": "custom_tool_call", "call_id": "toolu_2", "name": "apply_patch", "input": "raw text"}
    assert error_result == {"type": "function_call_output", "call_id": "toolu_1", "output": "Error: boom"}
    assert custom_result["type"] == "custom_tool_call_output"
    assert custom_result["output"] == [
        {"type": "input_image", "image_url": "data:image/jpeg;base64,AAA", "detail": "auto"}
    ]
    assert go_on["role"] == "user" and system == {
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "be careful now"}],
    }
    assert ok["role"] == "assistant"


def test_translated_request_edges() -> None:
    request = Request(model="m", messages=[Message("user", [Text("x")])], params=Params(n=2))
    with pytest.raises(InvalidRequest) as caught:
        codec.encode_request(request, "m")
    assert caught.value.param == "n"
    plain = codec.encode_request(
        Request(model="m", messages=[Message("user", [Text("x")])], tool_choice=ToolChoice("none")), "m"
    )
    assert plain == {
        "model": "m",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}],
        "tool_choice": "none",
        "store": False,
    }
    for budget, effort in ((1024, "low"), (4096, "medium"), (16384, "high")):
        turns = [Message("user", [Text("x")])]
        with_budget = Request(model="m", messages=turns, params=Params(reasoning_budget=budget))
        assert codec.encode_request(with_budget, "m")["reasoning"] == {"effort": effort}


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"input": "x"}, "model", "required"),
        ({"model": "m"}, "input", "required"),
        ({"model": "m", "input": 5}, "input", "string or an array"),
        ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type", "item_reference"),
        ({"model": "m", "input": [{"type": "computer_call_output"}]}, "input[0]", "computer_call_output"),
        ({"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input[0].role", "tool"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]},
            "input[0].content[0].file_id",
            "file",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "filename": "a.pdf"}]}]},
            "input[0].content[0]",
            "file_data, file_url or file_id",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
            "required",
        ),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name", "required"),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice", "auto"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type", "json_schema"),
        ({"model": "m", "input": "x", "max_output_tokens": "9"}, "max_output_tokens", "integer"),
        ({"model": "m", "input": "x", "conversation": "conv_1"}, "conversation", "not supported"),
    ],
)
def test_bad_requests_name_the_param(body: dict[str, Any], param: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body, {})
    assert caught.value.param == param and words in caught.value.message
    shape = codec.error_body(caught.value)["error"]
    assert set(shape) == {"message", "type", "param", "code"} and shape["type"] == "invalid_request_error"


def test_simple_request_params() -> None:
    request = responses_request(
        input=[
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
            {"role": "developer", "content": "later"},
        ],
        max_output_tokens=100,
        temperature=0.5,
        top_p=0.9,
        user="alice",
        metadata={"a": "b"},
        tools=[{"type": "function", "name": "f"}],
        tool_choice={"type": "function", "name": "f"},
    )
    assert request.system == [Text("s")]
    assert request.messages == [Message("user", [Text("u")]), Message("system", [Text("later")])]
    assert request.params == Params(max_tokens=100, temperature=0.5, top_p=0.9, user="alice")
    assert request.metadata == {"a": "b"} and request.tool_choice == ToolChoice("tool", "f")
    assert responses_request(safety_identifier="sid").params.user == "sid"
    head = codec.decode_head({"model": " m ", "input": [], "stream": True}, {})
    assert head.model == "m" and head.stream and head.messages == [] and head.raw["input"] == []
    assert codec.with_model({"model": "a", "input": "x"}, "b") == {"model": "b", "input": "x"}
    assert codec.upstream_error(400, {"error": {"message": "nope", "type": "invalid_request_error"}}) == (
        "nope",
        "invalid_request_error",
    )


def test_reasoning_proofs_come_home_through_a_responses_client() -> None:
    """Anthropic thinking (signature, redacted) reaches a Responses client and returns unchanged when sent back."""
    events: list[Event] = [
        MessageStart("msg_1", "claude"),
        ReasoningDelta("let me think"),
        ReasoningEnd(signature="EqQBCkgIARAB"),
        ReasoningEnd(redacted="ErcBCkgIARAB"),
        TextDelta("done"),
        MessageEnd(StopReason.END_TURN),
    ]
    _, final = sdk_replay(encode_stream(events))
    sent_back = [item.model_dump(exclude_none=True) for item in final.output]
    request = responses_request(
        input=[{"role": "user", "content": "q"}, *sent_back, {"role": "user", "content": "more"}]
    )
    assert request.messages[1].content == [
        Reasoning(text="let me think", signature="EqQBCkgIARAB", id=sent_back[0]["id"]),
        Reasoning(redacted="ErcBCkgIARAB", id=sent_back[1]["id"]),
        Text("done"),
    ]
    encoded = codec.encode_request(request, "gpt-5")["input"]
    assert [i["type"] for i in encoded] == ["message", "message", "message"], "Anthropic proofs never go to OpenAI"


# ---------------------------------------------------------------- previous_response_id and the store


async def test_previous_response_id_flow() -> None:
    store = ResponseStore(MemoryStore(max_items=8), ttl_s=60)
    first = responses_request(
        instructions="old rules", input=[{"role": "developer", "content": "dev"}, {"role": "user", "content": "q1"}]
    )
    answer = collect(
        [
            MessageStart("chatcmpl-1", "m"),
            TextDelta("a1"),
            ToolCallStart(0, "call_1", "f"),
            ToolCallEnd(0),
            MessageEnd(StopReason.TOOL_USE),
        ]
    )
    response_id = codec.encode_response(answer, first)["id"]
    assert response_id == response_id_for(answer.id) and should_store(first)
    await store.put(response_id, conversation_to_store(first, answer))

    second = responses_request(
        instructions="new rules",
        previous_response_id=response_id,
        input=[
            {"role": "system", "content": "note"},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        ],
    )
    assert previous_response_id(second) == response_id
    stored = await store.get(response_id)
    assert stored is not None
    prepend_previous(second, stored)
    assert second.system == [Text("new rules"), Text("dev")], "instructions do not carry over; developer input does"
    assert second.messages == [
        Message("user", [Text("q1")]),
        Message("assistant", [Text("a1"), ToolCall("call_1", "f", "")]),
        Message("system", [Text("note")]),
        Message("user", [ToolResult("call_1", [Text("42")])]),
    ]
    assert stored.messages[1].content == [Text("a1"), ToolCall("call_1", "f", "")], "the stored turns are not mutated"
    body = codec.encode_request(second, "gpt-5")
    OpenAIResponses().validate(orjson.loads(orjson.dumps(body)), {})
    assert "previous_response_id" not in body and body["instructions"] == "new rules\n\ndev"

    # the chain goes on: the second answer stores everything so far
    answer2 = collect([MessageStart("chatcmpl-2", "m"), TextDelta("a2"), MessageEnd(StopReason.END_TURN)])
    chained = conversation_to_store(second, answer2)
    assert chained.system == [Text("dev")] and len(chained.messages) == 5

    assert not should_store(responses_request(store=False))
    missing = previous_response_not_found("resp_nope")
    assert missing.status == 400
    assert codec.error_body(missing) == {
        "error": {
            "message": "Previous response with id 'resp_nope' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
    }
    assert previous_response_id(responses_request()) is None


async def test_memory_store_evicts_least_recently_used() -> None:
    backing = MemoryStore(max_items=2)
    store = ResponseStore(backing, ttl_s=60)
    conversation = StoredConversation(system=[], messages=[Message("user", [Text("x")])])
    await store.put("a", conversation)
    await store.put("b", conversation)
    assert await store.get("a") == conversation  # a is now the most recently used
    await store.put("c", conversation)
    assert await store.get("b") is None
    assert await store.get("a") == conversation and await store.get("c") == conversation
    assert len(backing) == 2
    with pytest.raises(ValueError):
        MemoryStore(max_items=0)


async def test_stored_conversations_expire() -> None:
    now = [0.0]
    store = ResponseStore(MemoryStore(clock=lambda: now[0]), ttl_s=60)
    await store.put("a", StoredConversation(system=[], messages=[Message("user", [Text("x")])]))
    now[0] = 59.0
    assert await store.get("a") is not None
    now[0] = 60.0
    assert await store.get("a") is None


async def test_every_part_survives_the_store_and_garbage_is_missing() -> None:
    conversation = StoredConversation(
        system=[Text("sys", extra={"cache_control": {"type": "ephemeral"}})],
        messages=[
            Message(
                "user", [Text("q"), Image(url="https://x/y.png", detail="low"), Image(data="AAAA", media_type="a/b")]
            ),
            Message(
                "assistant",
                [
                    Reasoning("think", signature="sig", encrypted="enc", redacted="red", id="rs_1"),
                    ToolCall("call_1", "f", '{"a": 1}'),
                    ToolCall("call_2", "g", "free", kind="custom"),
                ],
            ),
            Message("user", [ToolResult("call_1", [Text("42"), Image(url="https://x/z.png")], is_error=True)]),
        ],
    )
    backing = MemoryStore()
    store = ResponseStore(backing, ttl_s=60)
    await store.put("r", conversation)
    assert await store.get("r") == conversation
    for garbage in (b"not json", b'{"v": 99}', b'{"v": 1, "system": [{"type": "nope"}], "messages": []}', b"[]"):
        await backing.set("resp:g", garbage, 60)
        assert await store.get("g") is None


def test_empty_response_still_encodes() -> None:
    body = codec.encode_response(Response(id="resp_1", model="m"), responses_request())
    assert SDKResponse.model_validate(body).output == [] and body["status"] == "completed"


@pytest.mark.parametrize(
    ("item", "unverifiable"),
    [
        ({"type": "reasoning", "summary": [], "encrypted_content": "gAAAAABx"}, False),  # OpenAI's own
        ({"type": "reasoning", "id": "rs_68af0c", "summary": []}, False),  # stored upstream (store: true)
        ({"type": "reasoning", "summary": [], "encrypted_content": "lip-signature:EqQB"}, True),  # Anthropic's
        ({"type": "reasoning", "summary": [], "encrypted_content": "lip-redacted:abc"}, True),
        ({"type": "reasoning", "summary": [], "encrypted_content": "lip-gemini:CiQB"}, True),  # a Gemini signature
        ({"type": "reasoning", "id": "rs_lip0123", "summary": [{"type": "summary_text", "text": "t"}]}, True),
        ({"type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}]}, True),  # neither id nor proof
        ({"type": "message", "role": "user", "content": "lip-signature:x"}, False),
    ],
)
def test_reasoning_a_responses_upstream_cannot_verify_is_found(item: dict[str, Any], unverifiable: bool) -> None:
    assert unverifiable_reasoning([{"type": "message", "role": "user", "content": "q"}, item]) is unverifiable


def test_only_a_responses_upstreams_own_encrypted_content_goes_back_to_one() -> None:
    proofs = {
        "gAAAAABown": "gAAAAABown",  # a Responses upstream's own
        "lip-gemini:CiQB": None,  # a Gemini thought signature (a failover from a Gemini leaf)
        "lip-signature:EqQB": None,
    }
    for payload, sent in proofs.items():
        turn = Message("assistant", [Reasoning(text="thought", encrypted=payload), Text("answer")])
        request = Request(model="m", messages=[Message("user", [Text("q")]), turn, Message("user", [Text("more")])])
        items = OpenAIResponsesCodec().encode_request(request, "m")["input"]
        found = [item.get("encrypted_content") for item in items if item.get("type") == "reasoning"]
        assert found == ([sent] if sent else []), payload


def test_ids_lip_mints_are_marked() -> None:
    item_id = new_id("rs_")
    assert item_id.startswith("rs_lip") and minted_by_lip(item_id) and not minted_by_lip("rs_68af0c")
