"""The OpenAI Chat codec: request decode (400s naming the field), passthrough model rewrite, stream decode of
upstream chunks, stream encode for clients (usage when asked, [DONE]), collected responses and the error shape."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from lip.canonical.collect import check_sequence, collect
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    Repair,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import Image, Message, Params, Reasoning, Request, Text, ToolCall, ToolResult
from lip.errors import (
    AdmissionRejected,
    InvalidJSON,
    InvalidRequest,
    LipError,
    UnknownBackend,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from lip.protocols.anthropic_messages import AnthropicStreamEncoder
from lip.protocols.openai_chat import OpenAIChatCodec
from lip.protocols.openai_chat.spelling import place_reasoning
from lip.protocols.openai_responses import ResponsesStreamEncoder
from lip.protocols.sse import SSEDecoder, SSEEvent
from tests.fakes import ErrorMidStream, FakeToolCall, FakeUsage, Turn
from tests.fakes.errors import ApiError
from tests.fakes.openai_chat import OpenAIChat

CODEC = OpenAIChatCodec()
USER = [{"role": "user", "content": "hi"}]
BASE: dict[str, Any] = {"model": "p:m", "messages": USER}


# ---------------------------------------------------------------- client request -> canonical


def test_decode_head_reads_only_what_routing_needs() -> None:
    body = {**BASE, "model": "  p:m  ", "stream": True, "stream_options": {"include_usage": True}, "x_extra": 1}
    head = CODEC.decode_head(body, {})
    assert (head.model, head.stream, head.include_usage, head.protocol) == ("p:m", True, True, "openai_chat")
    assert head.raw is body and head.messages == []


def test_decode_request_builds_the_conversation() -> None:
    body = {
        **BASE,
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": "required",
        "temperature": 0.5,
        "max_completion_tokens": 100,
        "stop": "END",
    }
    request = CODEC.decode_request(body, {})
    assert [t.text for t in request.system] == ["be brief"]
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    assert request.messages[0].content == [Text("look"), Image(data="AAAA", media_type="image/png", detail="low")]
    assert request.messages[1].content == [ToolCall("call_1", "f", '{"a":1}')]
    assert request.messages[2].content == [ToolResult("call_1", [Text("42")])]
    assert [t.name for t in request.tools] == ["f"]
    assert request.tool_choice is not None and request.tool_choice.mode == "required"
    assert (request.params.temperature, request.params.max_tokens, request.params.stop) == (0.5, 100, ["END"])


BAD_BODIES: list[tuple[Any, str | None]] = [
    ([], None),
    ("text", None),
    (None, None),
    ({"messages": USER}, "model"),
    ({**BASE, "model": 5}, "model"),
    ({**BASE, "model": "  "}, "model"),
    ({"model": "p:m"}, "messages"),
    ({**BASE, "messages": "hi"}, "messages"),
    ({**BASE, "messages": []}, "messages"),
    ({**BASE, "messages": [5]}, "messages[0]"),
    ({**BASE, "messages": [{"content": "x"}]}, "messages[0].role"),
    ({**BASE, "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({**BASE, "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
    ({**BASE, "messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "messages[0].content[0].type"),
    (
        {**BASE, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 1}}]}]},
        "messages[0].content[0].image_url.url",
    ),
    (
        {**BASE, "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}]},
        "messages[0].tool_calls[0].id",
    ),
    ({**BASE, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({**BASE, "stream": "yes"}, "stream"),
    ({**BASE, "stream": 1}, "stream"),
    ({**BASE, "stream_options": 5}, "stream_options"),
    ({**BASE, "tools": 5}, "tools"),
    ({**BASE, "tools": [{"type": "function"}]}, "tools[0].function"),
    ({**BASE, "tools": [{"function": {"name": 5}}]}, "tools[0].function.name"),
    ({**BASE, "tool_choice": "maybe"}, "tool_choice"),
    ({**BASE, "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ({**BASE, "response_format": {"type": "xml"}}, "response_format.type"),
    ({**BASE, "temperature": "hot"}, "temperature"),
    ({**BASE, "temperature": True}, "temperature"),
    ({**BASE, "max_tokens": 1.5}, "max_tokens"),
    ({**BASE, "top_p": {}}, "top_p"),
    ({**BASE, "stop": [5]}, "stop[0]"),
    ({**BASE, "n": "2"}, "n"),
    ({**BASE, "metadata": []}, "metadata"),
]


@pytest.mark.parametrize(("body", "param"), BAD_BODIES, ids=[str(i) for i in range(len(BAD_BODIES))])
def test_bad_input_is_a_400_naming_the_field(body: Any, param: str | None) -> None:
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode_request(body, {})
    assert caught.value.status == 400
    assert caught.value.param == param
    if param is not None:
        assert f"'{param}'" in caught.value.message


def test_with_model_rewrites_only_the_model() -> None:
    body = {**BASE, "unknown_field": {"kept": [1, 2]}, "logit_bias": {"42": -100}}
    rewritten = CODEC.with_model(body, "deepseek-chat")
    assert rewritten == {**body, "model": "deepseek-chat"}
    assert body["model"] == "p:m"  # the original is untouched


# ---------------------------------------------------------------- canonical -> upstream request


def test_encode_request_asks_upstream_for_usage_when_streaming() -> None:
    request = CODEC.decode_request({**BASE, "stream": True, "max_tokens": 9}, {})
    body = CODEC.encode_request(request, "native-model")
    assert body["model"] == "native-model" and body["messages"] == USER
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 9


def test_images_in_tool_results_follow_the_tool_messages() -> None:
    """A Chat tool message takes text only, so a result's images go in a user message right after the results."""
    screenshot = Image(data="iVBORw0KGgo=", media_type="image/png")
    request = Request(
        model="m",
        messages=[
            Message("assistant", [ToolCall("call_1", "read", "{}"), ToolCall("call_2", "read", "{}")]),
            Message(
                "user",
                [ToolResult("call_1", [Text("a screenshot"), screenshot]), ToolResult("call_2", [Text("no image")])],
            ),
        ],
    )
    messages = CODEC.encode_request(request, "m")["messages"]
    assert messages[1:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "a screenshot"},
        {"role": "tool", "tool_call_id": "call_2", "content": "no image"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "[image from tool call call_1]"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
    ]


def test_a_tool_call_id_longer_than_openai_takes_goes_as_its_digest_in_the_call_and_its_result() -> None:
    signed = "call_lip0123456789abcdef_s" + "A" * 300  # a Gemini call id carrying its thought signature
    short = "call_1"
    request = Request(
        model="m",
        messages=[
            Message("user", [Text("read both")]),
            Message("assistant", [ToolCall(signed, "read", "{}"), ToolCall(short, "read", "{}")]),
            Message("user", [ToolResult(signed, [Text("one")]), ToolResult(short, [Text("two")])]),
        ],
    )
    body = CODEC.encode_request(request, "m")
    messages = body["messages"]
    sent = messages[1]["tool_calls"][0]["id"]
    assert len(sent) == 40 and sent.startswith("call_") and sent != signed[:40]
    assert messages[1]["tool_calls"][1]["id"] == short  # a short id is left as the client sent it
    assert [m["tool_call_id"] for m in messages[2:4]] == [sent, short]  # the result names the same id
    assert CODEC.encode_request(request, "m")["messages"][1]["tool_calls"][0]["id"] == sent  # the same every time
    OpenAIChat().validate(body, {})  # the fake refuses an id over 40 characters, as OpenAI does
    too_long = orjson.loads(orjson.dumps(body))
    too_long["messages"][1]["tool_calls"][0]["id"] = signed
    with pytest.raises(ApiError, match="string too long"):
        OpenAIChat().validate(too_long, {})


@pytest.mark.parametrize(("budget", "effort"), [(1024, "low"), (4096, "medium"), (16384, "high"), (31999, "high")])
def test_a_thinking_budget_becomes_a_reasoning_effort(budget: int, effort: str) -> None:
    """Claude Code's ``thinking.budget_tokens`` reaches a Chat reasoning model as ``reasoning_effort``."""
    turns = [Message("user", [Text("x")])]
    request = Request(model="m", messages=turns, params=Params(reasoning_budget=budget))
    assert CODEC.encode_request(request, "m")["reasoning_effort"] == effort
    both = Request(model="m", messages=turns, params=Params(reasoning_budget=budget, reasoning_effort="minimal"))
    assert CODEC.encode_request(both, "m")["reasoning_effort"] == "minimal"  # an explicit effort wins


# ---------------------------------------------------------------- upstream stream -> canonical


def decode_frames(body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Event]:
    """The fake provider's exact SSE bytes, through the SSE decoder and the Chat stream decoder."""
    data = b"".join(frame.encode() for frame in OpenAIChat().frames(body, turn, fault))
    request = CODEC.decode_request(body, {})
    decoder = CODEC.stream_decoder(request)
    sse = SSEDecoder()
    events = [e for i in range(0, len(data), 7) for s in sse.feed(data[i : i + 7]) for e in decoder.feed(s)]
    return events + [e for s in sse.flush() for e in decoder.feed(s)] + decoder.finish()


def test_decode_a_text_stream_with_usage() -> None:
    body = {**BASE, "stream": True, "stream_options": {"include_usage": True}}
    events = decode_frames(body, Turn(text="Hello there", chunks=3, usage=FakeUsage(11, 4, cached=2)))
    check_sequence(events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there"
    assert sum(isinstance(e, TextDelta) for e in events) == 3
    assert Usage(11, 4, cached_tokens=2) in events
    assert events[-1] == MessageEnd(StopReason.END_TURN)


def test_decode_tool_calls_and_reasoning() -> None:
    turn = Turn(text="", reasoning="thinking", tool_calls=[FakeToolCall("get", '{"city":"Paris"}', "call_a")])
    events = decode_frames({**BASE, "stream": True}, turn)
    check_sequence(events)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "thinking"
    assert ToolCallStart(0, "call_a", "get") in events
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == '{"city":"Paris"}'
    assert ToolCallEnd(0) in events
    assert events[-1] == MessageEnd(StopReason.TOOL_USE)


def test_decode_normalises_stop_while_calling_tools() -> None:
    turn = Turn(text="", tool_calls=[FakeToolCall("get")], chat_finish_override="stop")
    events = decode_frames({**BASE, "stream": True}, turn)
    assert events[-1] == MessageEnd(StopReason.TOOL_USE)


@pytest.mark.parametrize(
    ("finish", "reason"), [("length", StopReason.MAX_TOKENS), ("content_filter", StopReason.CONTENT_FILTER)]
)
def test_decode_finish_reasons(finish: str, reason: StopReason) -> None:
    events = decode_frames({**BASE, "stream": True}, Turn(finish=finish))  # type: ignore[arg-type]
    assert events[-1] == MessageEnd(reason)


def test_decode_a_mid_stream_error_event() -> None:
    events = decode_frames({**BASE, "stream": True}, Turn(), ErrorMidStream(after_chunks=2, status=500, message="boom"))
    assert isinstance(events[0], MessageStart)
    error = events[-1]
    assert isinstance(error, StreamError) and "boom" in error.error.message
    check_sequence(events)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ({"message": "slow", "type": "requests", "code": "rate_limit_exceeded"}, 429),
        ({"message": "slow", "type": "rate_limit_error"}, 429),
        ({"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}, 400),
        ({"message": "no credit", "code": 402}, 402),  # OpenRouter: the status as an integer code
        ({"message": "boom", "type": "server_error"}, 500),
        ({"message": "odd"}, 500),
    ],
)
def test_a_mid_stream_error_keeps_the_status_its_body_names(error: dict[str, Any], status: int) -> None:
    decoder = CODEC.stream_decoder(CODEC.decode_request(BASE, {}))
    events = decoder.feed(SSEEvent(orjson.dumps({"error": error})))
    assert len(events) == 1 and isinstance(events[0], StreamError)
    failure = events[0].error
    assert isinstance(failure, UpstreamStatusError) and failure.upstream_status == status


def test_a_stream_that_stops_before_finishing_is_an_error() -> None:
    decoder = CODEC.stream_decoder(CODEC.decode_request(BASE, {}))
    sse = SSEDecoder()
    events = [
        e
        for s in sse.feed(b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
        for e in decoder.feed(s)
    ]
    events += decoder.finish()
    assert isinstance(events[-1], StreamError)


@pytest.mark.parametrize(
    "chunk",
    [
        b"not json",
        b"[1,2]",
        b'{"choices": 5}',
        b'{"choices": [{"delta": "text"}]}',
        b'{"choices": [{"delta": {"tool_calls": [{"function": "x"}]}}]}',
        b'{"choices": [], "usage": {"prompt_tokens": "many", "completion_tokens": {}}}',
        b'{"created": "yesterday", "choices": []}',
        b'{"choices": [{"delta": {"tool_calls": [{"index": [0], "id": "c", "function": {"name": "f"}}]}}]}',
    ],
)
def test_garbage_from_upstream_never_raises(chunk: bytes) -> None:
    decoder = CODEC.stream_decoder(CODEC.decode_request(BASE, {}))
    sse = SSEDecoder()
    events = [e for s in sse.feed(b"data: " + chunk + b"\n\ndata: [DONE]\n\n") for e in decoder.feed(s)]
    events += decoder.finish()
    assert events and isinstance(events[-1], MessageEnd | StreamError)


def test_decode_a_non_streamed_completion() -> None:
    body = OpenAIChat().respond(BASE, Turn(text="whole", usage=FakeUsage(3, 2)))
    response = collect(CODEC.decode_response(body, CODEC.decode_request(BASE, {})))
    assert response.content == [Text("whole")]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (3, 2)


@pytest.mark.parametrize("body", [{}, {"choices": "x"}, [], "text"])
def test_a_completion_without_choices_is_an_upstream_error(body: Any) -> None:
    with pytest.raises(LipError) as caught:
        CODEC.decode_response(body, CODEC.decode_request(BASE, {}))
    assert caught.value.status == 502


# ---------------------------------------------------------------- canonical -> client


STREAM = [
    MessageStart("chatcmpl-1", "p:m", 1700000000),
    TextDelta("Hel"),
    TextDelta("lo"),
    Usage(5, 2),
    MessageEnd(StopReason.END_TURN),
]


def encode_stream(events: list[Event], include_usage: bool) -> list[Any]:
    request = CODEC.decode_request({**BASE, "stream": True, "stream_options": {"include_usage": include_usage}}, {})
    encoder = CODEC.stream_encoder(request)
    data = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    sse = SSEDecoder()
    return ["[DONE]" if s.data == b"[DONE]" else orjson.loads(s.data) for s in [*sse.feed(data), *sse.flush()]]


def test_encode_a_stream_with_usage_when_asked() -> None:
    chunks = encode_stream(STREAM, include_usage=True)
    assert chunks[-1] == "[DONE]"
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "chatcmpl-1" for c in chunks[:-1])
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hel", "lo"]
    assert chunks[3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[4]["choices"] == [] and chunks[4]["usage"]["prompt_tokens"] == 5
    assert chunks[4]["usage"]["total_tokens"] == 7


def test_encode_a_stream_without_usage_unless_asked() -> None:
    chunks = encode_stream(STREAM, include_usage=False)
    assert not any("usage" in c for c in chunks[:-1])
    assert chunks[-1] == "[DONE]"


def test_encode_tool_call_chunks() -> None:
    events: list[Event] = [
        MessageStart("c", "m"),
        ToolCallStart(0, "call_1", "f"),
        ToolCallDelta(0, '{"a"'),
        ToolCallDelta(0, ":1}"),
        ToolCallEnd(0),
        MessageEnd(StopReason.TOOL_USE),
    ]
    chunks = encode_stream(events, include_usage=False)
    first = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
    assert (first["id"], first["function"]["name"]) == ("call_1", "f")
    args = "".join(c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[2:4])
    assert args == '{"a":1}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_stream_error_ends_with_an_error_chunk_and_no_done() -> None:
    events: list[Event] = [MessageStart("c", "m"), TextDelta("a"), StreamError(UpstreamTimeout("idle too long"))]
    chunks = encode_stream(events, include_usage=True)
    assert chunks[-1] == {
        "error": {"message": "idle too long", "type": "server_error", "param": None, "code": "upstream_timeout"}
    }


def test_encode_a_collected_response() -> None:
    body = CODEC.encode_response(collect(STREAM), CODEC.decode_request(BASE, {}))
    assert body["object"] == "chat.completion" and body["id"] == "chatcmpl-1"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello", "refusal": None}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 5 and body["usage"]["completion_tokens"] == 2


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidJSON("bad json"), 400, "invalid_request_error"),
        (InvalidRequest("'model' is required", param="model"), 400, "invalid_request_error"),
        (UnknownBackend("unknown backend prefix 'x'"), 404, "not_found_error"),
        (AdmissionRejected("full"), 429, "rate_limit_error"),
        (UpstreamUnreachable("refused"), 502, "server_error"),
        (UpstreamTimeout("slow"), 504, "server_error"),
        (UpstreamStatusError("teapot", upstream_status=418, error_type="teapot_error"), 418, "teapot_error"),
        (UpstreamStatusError("overloaded", upstream_status=503, error_type="server_error"), 502, "server_error"),
    ],
)
def test_error_body_is_the_openai_shape(error: LipError, status: int, kind: str) -> None:
    body = CODEC.error_body(error)
    assert error.status == status
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"] == error.message and body["error"]["type"] == kind
    assert body["error"]["code"] == error.code
    assert body["error"]["param"] == getattr(error, "param", None)


@pytest.mark.parametrize(
    ("body", "message", "kind"),
    [
        (
            {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
            "Rate limit reached",
            "requests",
        ),
        ({"error": {"message": "Bad", "code": "invalid_value"}}, "Bad", "invalid_value"),
        ({"error": "plain string"}, "plain string", None),
        ({"message": "top-level message"}, "top-level message", None),
        ("<html>bad gateway</html>", "the upstream answered HTTP 502", None),
        (None, "the upstream answered HTTP 502", None),
    ],
)
def test_upstream_errors_are_read_from_any_shape(body: Any, message: str, kind: str | None) -> None:
    assert CODEC.upstream_error(502, body) == (message, kind)


# ---------------------------------------------------------------- several tool calls: sequential or interleaved


def _call(index: int, args: str = "", call_id: str | None = None, name: str = "get") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return call


def decode_calls(*steps: list[dict[str, Any]], custom: frozenset[str] = frozenset()) -> list[Event]:
    """Each step is one chunk of tool-call deltas; a finish chunk and [DONE] follow."""
    decoder = CODEC.stream_decoder(Request(model="m", messages=[]))
    chunks = [{"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": s}}]} for s in steps]
    chunks.append({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    decoder.custom_tools = custom
    events = [e for c in chunks for e in decoder.feed(SSEEvent(orjson.dumps(c)))]
    return events + decoder.feed(SSEEvent(b"[DONE]"))


def _kinds(events: list[Event]) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.index) for e in events if isinstance(e, ToolCallStart | ToolCallDelta | ToolCallEnd)]


def test_a_call_ends_when_the_next_starts_so_clients_can_stream_it_live() -> None:
    events = decode_calls(
        [_call(0, "", "call_a")], [_call(0, '{"a":')], [_call(0, "1}")],
        [_call(1, "", "call_b")], [_call(1, '{"b":')], [_call(1, "2}")],
    )  # fmt: skip
    check_sequence(events)
    assert _kinds(events) == [
        ("ToolCallStart", 0), ("ToolCallDelta", 0), ("ToolCallDelta", 0), ("ToolCallEnd", 0),
        ("ToolCallStart", 1), ("ToolCallDelta", 1), ("ToolCallDelta", 1), ("ToolCallEnd", 1),
    ]  # fmt: skip
    assert [(c.id, c.arguments) for c in collect(events).content if isinstance(c, ToolCall)] == [
        ("call_a", '{"a":1}'),
        ("call_b", '{"b":2}'),
    ]


def test_an_interleaving_upstream_keeps_each_call_open_until_its_arguments_are_whole() -> None:
    events = decode_calls(
        [_call(0, "", "call_a"), _call(1, "", "call_b")],  # both start before either has arguments
        [_call(0, '{"a":')], [_call(1, '{"b":')], [_call(0, " 1}")], [_call(1, "2}")],
    )  # fmt: skip
    check_sequence(events)
    assert _kinds(events) == [
        ("ToolCallStart", 0), ("ToolCallStart", 1), ("ToolCallDelta", 0), ("ToolCallDelta", 1),
        ("ToolCallDelta", 0), ("ToolCallEnd", 0),  # call 0 ends as soon as its JSON is whole: call 1 can flow
        ("ToolCallDelta", 1), ("ToolCallEnd", 1),
    ]  # fmt: skip
    response = collect(events)
    assert [(c.id, c.arguments) for c in response.content if isinstance(c, ToolCall)] == [
        ("call_a", '{"a": 1}'),
        ("call_b", '{"b":2}'),
    ]
    assert response.stop_reason == StopReason.TOOL_USE


def _data(wire: bytes) -> list[Any]:
    return [orjson.loads(line[6:]) for line in wire.splitlines() if line.startswith(b"data: ")]


def test_interleaved_calls_reach_one_at_a_time_clients_whole_and_in_order() -> None:
    events = decode_calls(
        [_call(0, "", "call_a")], [_call(0, '{"a":')], [_call(1, "", "call_b")], [_call(1, '{"b":2}')],
        [_call(0, "1}")],
    )  # fmt: skip
    check_sequence(events)
    assert _kinds(events)[3:] == [("ToolCallDelta", 1), ("ToolCallDelta", 0), ("ToolCallEnd", 0), ("ToolCallEnd", 1)]
    anthropic = AnthropicStreamEncoder("m")
    wire = _data(b"".join(anthropic.encode(e) for e in events))
    blocks = [(w["type"], w["index"], w.get("delta", {}).get("partial_json")) for w in wire if "index" in w]
    assert blocks == [
        ("content_block_start", 0, None), ("content_block_delta", 0, '{"a":'), ("content_block_delta", 0, "1}"),
        ("content_block_stop", 0, None),
        ("content_block_start", 1, None), ("content_block_delta", 1, '{"b":2}'), ("content_block_stop", 1, None),
    ]  # fmt: skip
    responses = ResponsesStreamEncoder(Request(model="m", messages=[]))
    frames = _data(b"".join(responses.encode(e) for e in events))
    done = [f["item"] for f in frames if f["type"] == "response.output_item.done"]
    assert [(i["call_id"], i["arguments"]) for i in done] == [("call_a", '{"a":1}'), ("call_b", '{"b":2}')]
    assert frames[-1]["type"] == "response.completed"


def test_a_fragment_after_a_call_ended_is_dropped_as_a_repair() -> None:
    events = decode_calls([_call(0, '{"a":1}', "call_a")], [_call(1, "{}", "call_b")], [_call(0, ',"x":2}')])
    check_sequence(events)
    assert [(c.id, c.arguments) for c in collect(events).content if isinstance(c, ToolCall)] == [
        ("call_a", '{"a":1}'),
        ("call_b", "{}"),
    ]
    assert [e for e in events if isinstance(e, Repair)] == [Repair("tool_fragment_after_end")]


def test_a_whitespace_fragment_after_a_call_ended_is_no_repair() -> None:
    events = decode_calls([_call(0, '{"a":1}', "call_a")], [_call(1, "{}", "call_b")], [_call(0, "  ")])
    check_sequence(events)
    assert [(c.id, c.arguments) for c in collect(events).content if isinstance(c, ToolCall)] == [
        ("call_a", '{"a":1}'),
        ("call_b", "{}"),
    ]
    assert not any(isinstance(e, Repair) for e in events)


def test_a_freeform_call_is_unwrapped_when_the_next_call_starts() -> None:
    events = decode_calls(
        [_call(0, '{"input": "*** Begin', "call_p", "apply_patch")], [_call(0, '"}')], [_call(1, "{}", "call_b")],
        custom=frozenset({"apply_patch"}),
    )  # fmt: skip
    check_sequence(events)
    assert _kinds(events)[:3] == [("ToolCallStart", 0), ("ToolCallDelta", 0), ("ToolCallEnd", 0)]
    assert ToolCallDelta(0, "*** Begin") in events


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_a_clients_assistant_reasoning_is_decoded_from_either_field(field: str) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok", field: "thought"}],
    }
    assert CODEC.decode_request(body, {}).messages[1].content[0] == Reasoning(text="thought")


@pytest.mark.parametrize(
    ("field", "sent"), [("reasoning_content", "reasoning_content"), ("reasoning", "reasoning"), ("none", None)]
)
def test_reasoning_goes_back_in_the_backends_field(field: str, sent: str | None) -> None:
    turn = Message(
        role="assistant",
        content=[Reasoning(text="a"), Reasoning(text="b", signature="sig"), ToolCall("c1", "f", "{}")],
    )
    body = place_reasoning(CODEC.encode_request(Request(model="m", messages=[turn]), "m"), field)
    [message] = body["messages"]
    assert {k: v for k, v in message.items() if k.startswith("reasoning")} == ({sent: "ab"} if sent else {})
