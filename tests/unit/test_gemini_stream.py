"""The Gemini codec's answer side: Gemini's ``alt=sse`` chunks and whole answers in (every fixture first checked
against the google-genai SDK's own types), canonical events out; canonical events in, Gemini chunks out (each
checked against the same types)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.genai import types

from lip.canonical.collect import check_sequence, collect
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    Repair,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import Request, ToolCall, ToolSpec
from lip.errors import AdmissionRejected, InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from lip.protocols.gemini import GeminiCodec, wire
from lip.protocols.sse import SSEDecoder, SSEEvent

CODEC = GeminiCodec()
SIG = "CiQBjz1rX2Fzc2lnbmF0dXJlLW9mLWEtZnVuY3Rpb24tY2FsbA=="  # base64, as Gemini sends it
SIG2 = "Cg8BZmluYWwtdGV4dC1zaWc="


def _checked(chunk: dict[str, Any]) -> dict[str, Any]:
    types.GenerateContentResponse.model_validate_json(orjson.dumps(chunk))
    return chunk


def _sse(*chunks: dict[str, Any]) -> list[SSEEvent]:
    raw = b"".join(b"data: " + orjson.dumps(_checked(c)) + b"\r\n\r\n" for c in chunks)
    decoder = SSEDecoder()
    return decoder.feed(raw) + decoder.flush()


def _decode(*chunks: dict[str, Any], custom: frozenset[str] = frozenset()) -> list[Event]:
    request = Request(model="m", messages=[])
    if custom:
        request.tools = [ToolSpec(name=n, kind="custom") for n in custom]
    decoder = CODEC.stream_decoder(request)
    events: list[Event] = []
    for sse in _sse(*chunks):
        events += decoder.feed(sse)
    return events + decoder.finish()


def _chunk(*parts: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    chunk: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
    if usage:
        chunk["usageMetadata"] = usage
    return chunk


USAGE = {
    "promptTokenCount": 120,
    "candidatesTokenCount": 30,
    "thoughtsTokenCount": 50,
    "cachedContentTokenCount": 100,
    "totalTokenCount": 200,
}


def test_a_text_stream_becomes_text_deltas_usage_and_a_stop() -> None:
    events = _decode(
        _chunk({"text": "Hel"}, usage={"promptTokenCount": 120, "totalTokenCount": 120}),
        _chunk({"text": "lo"}),
        _chunk({"text": "!"}, finish="STOP", usage=USAGE),
    )
    check_sequence(events)
    assert events[0] == MessageStart(id="resp-1", model="gemini-2.5-flash")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", "!"]
    usage = [e for e in events if isinstance(e, Usage)][-1]
    assert usage == Usage(input_tokens=120, output_tokens=80, cached_tokens=100, reasoning_tokens=50)
    assert events[-1] == MessageEnd(StopReason.END_TURN)


def test_function_calls_get_minted_ids_that_carry_their_thought_signature_and_end_as_tool_use() -> None:
    events = _decode(
        _chunk({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIG}),
        _chunk({"functionCall": {"name": "get_time", "args": {}}}, finish="STOP", usage=USAGE),
    )
    check_sequence(events)
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.name) for s in starts] == [(0, "get_weather"), (1, "get_time")]
    assert wire.call_signature(starts[0].id) == SIG
    assert wire.call_signature(starts[1].id) is None and wire.minted(starts[1].id)
    assert starts[0].id != starts[1].id
    args = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [orjson.loads(a.arguments) for a in args] == [{"city": "Paris"}, {}]
    assert not [e for e in events if isinstance(e, Repair)]  # Gemini's STOP with calls is its way, not a fault
    assert events[-1] == MessageEnd(StopReason.TOOL_USE)
    again = _decode(_chunk({"functionCall": {"name": "get_weather", "args": {}}}, finish="STOP"))
    assert next(e for e in again if isinstance(e, ToolCallStart)).id == wire.mint_call_id("resp-1:0")  # stable


def test_thought_parts_are_reasoning_and_a_text_runs_signature_follows_the_run() -> None:
    events = _decode(
        _chunk({"text": "thinking about it", "thought": True}),
        _chunk({"text": "Answer", "thoughtSignature": SIG2}),
        _chunk({"text": " more"}),
        _chunk({"text": ""}, finish="STOP"),
    )
    check_sequence(events)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "MessageStart",
        "ReasoningDelta",
        "ReasoningEnd",
        "TextDelta",
        "TextDelta",
        "ReasoningEnd",
        "MessageEnd",
    ]
    assert events[2] == ReasoningEnd()
    assert events[5] == ReasoningEnd(encrypted=wire.wrap_signature(SIG2))  # after the run: the text stays whole


def test_a_signature_on_a_thought_part_closes_its_run() -> None:
    events = _decode(
        _chunk({"text": "a", "thought": True}),
        _chunk({"text": "", "thought": True, "thoughtSignature": SIG}),
        _chunk({"text": "done"}, finish="STOP"),
    )
    assert [e for e in events if isinstance(e, ReasoningDelta | ReasoningEnd)] == [
        ReasoningDelta("a"),
        ReasoningEnd(encrypted=wire.wrap_signature(SIG)),
    ]


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("MAX_TOKENS", StopReason.MAX_TOKENS),
        ("SAFETY", StopReason.CONTENT_FILTER),
        ("RECITATION", StopReason.CONTENT_FILTER),
        ("BLOCKLIST", StopReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", StopReason.CONTENT_FILTER),
        ("SPII", StopReason.CONTENT_FILTER),
        ("MALFORMED_FUNCTION_CALL", StopReason.ERROR),
        ("OTHER", StopReason.END_TURN),
    ],
)
def test_finish_reasons_map_to_canonical_stops(reason: str, stop: StopReason) -> None:
    events = _decode(_chunk({"text": "x"}), {"candidates": [{"finishReason": reason, "index": 0}]})
    check_sequence(events)
    assert events[-1] == MessageEnd(stop)


def test_a_blocked_prompt_is_the_content_filter_outcome_not_an_empty_success() -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}}
    events = _decode(blocked)
    check_sequence(events)
    assert events[-1] == MessageEnd(StopReason.CONTENT_FILTER)
    response = collect(CODEC.decode_response(_checked(blocked), Request(model="m", messages=[])))
    assert response.stop_reason == StopReason.CONTENT_FILTER and response.content == []


def test_an_error_in_the_stream_keeps_googles_status() -> None:
    raw = b'data: {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}\r\n\r\n'
    decoder = CODEC.stream_decoder(Request(model="m", messages=[]))
    events = [e for sse in SSEDecoder().feed(raw) for e in decoder.feed(sse)]
    assert len(events) == 1 and isinstance(events[0], StreamError)
    error = events[0].error
    assert isinstance(error, UpstreamStatusError)
    assert (error.status, error.error_type, error.message) == (429, "RESOURCE_EXHAUSTED", "Quota exceeded")
    assert decoder.finish() == []


def test_a_stream_that_ends_before_its_finish_reason_is_an_error() -> None:
    events = _decode(_chunk({"text": "half"}))
    assert isinstance(events[-1], StreamError) and isinstance(events[-1].error, UpstreamProtocolError)
    decoder = CODEC.stream_decoder(Request(model="m", messages=[]))
    assert isinstance(decoder.feed(SSEEvent(b"not json"))[0], StreamError)


def test_usage_that_is_not_a_count_is_dropped_with_a_repair() -> None:
    events = _decode(_chunk({"text": "x"}, finish="STOP", usage={"promptTokenCount": -4, "candidatesTokenCount": 2}))
    assert Repair("bad_usage") in events
    assert [e for e in events if isinstance(e, Usage)] == [Usage(output_tokens=2)]


def test_a_custom_tools_call_is_unwrapped() -> None:
    call = {"functionCall": {"name": "apply_patch", "args": {"input": "*** Begin Patch"}}}
    events = _decode(_chunk(call, finish="STOP"), custom=frozenset({"apply_patch"}))
    assert ToolCallDelta(0, "*** Begin Patch") in events
    assert next(e for e in events if isinstance(e, ToolCallStart)).kind == "custom"


def test_a_whole_answer_is_the_collection_of_its_stream() -> None:
    body = _checked(
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "plan", "thought": True},
                            {"text": "Calling."},
                            {"functionCall": {"name": "ls", "args": {"path": "/"}}, "thoughtSignature": SIG},
                        ],
                        "role": "model",
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": USAGE,
            "modelVersion": "gemini-2.5-pro",
            "responseId": "abc",
        }
    )
    events = CODEC.decode_response(body, Request(model="m", messages=[]))
    check_sequence(events)
    response = collect(events)
    assert response.stop_reason == StopReason.TOOL_USE
    assert [type(p).__name__ for p in response.content] == ["Reasoning", "Text", "ToolCall"]
    call = response.content[2]
    assert isinstance(call, ToolCall)
    assert wire.call_signature(call.id) == SIG and call.arguments == '{"path":"/"}'
    assert response.usage.output_tokens == 80
    with pytest.raises(UpstreamStatusError) as caught:
        CODEC.decode_response(
            {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}, Request("m", [])
        )
    assert caught.value.status == 400
    with pytest.raises(UpstreamProtocolError):
        CODEC.decode_response({"id": "x"}, Request("m", []))


def test_upstream_errors_are_read_tolerantly() -> None:
    body = {"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}
    assert CODEC.upstream_error(404, body) == ("models/x is not found", "NOT_FOUND")
    assert CODEC.upstream_error(400, [body]) == ("models/x is not found", "NOT_FOUND")  # the JSON-array stream's
    assert CODEC.upstream_error(502, b"<html>bad gateway</html>") == ("<html>bad gateway</html>", None)
    assert CODEC.upstream_error(500, {"unexpected": 1}) == ("the upstream answered HTTP 500", None)


# ---------------------------------------------------------------- canonical -> a Gemini client


def _frames(raw: bytes) -> list[dict[str, Any]]:
    assert raw.endswith(b"\r\n\r\n") or not raw
    frames = [orjson.loads(block[6:]) for block in raw.split(b"\r\n\r\n") if block]
    for frame in frames:
        if "error" not in frame:
            _checked(frame)
    return frames


def _encode(events: list[Event], include_thoughts: bool = False) -> list[dict[str, Any]]:
    raw = {"contents": [], "generationConfig": {"thinkingConfig": {"includeThoughts": include_thoughts}}}
    encoder = CODEC.stream_encoder(Request(model="gem", messages=[], raw=raw))
    return _frames(b"".join(encoder.encode(e) for e in events) + encoder.finish())


STREAM: list[Event] = [
    MessageStart(id="r1", model="upstream-model"),
    ReasoningDelta("think"),
    ReasoningEnd(signature="an-anthropic-signature"),
    TextDelta("Hi"),
    ToolCallStart(0, "toolu_01", "get_weather"),
    ToolCallDelta(0, '{"city":'),
    ToolCallDelta(0, '"Paris"}'),
    ToolCallEnd(0),
    Usage(input_tokens=10, output_tokens=7, reasoning_tokens=3),
    MessageEnd(StopReason.TOOL_USE),
]


def test_events_go_to_a_gemini_client_as_googles_sse_chunks() -> None:
    frames = _encode(STREAM)
    parts = [p for f in frames for p in f["candidates"][0].get("content", {}).get("parts", [])]
    assert parts == [
        {"text": "Hi"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_01"}},
        {"text": ""},  # the closing chunk's
    ]
    # the google-genai SDK's chat keeps a streamed turn in its history only if every chunk has content parts
    assert all(f["candidates"][0]["content"]["parts"] for f in frames)
    last = frames[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"] == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 4,
        "totalTokenCount": 17,
        "thoughtsTokenCount": 3,
    }
    assert {f["responseId"] for f in frames} == {"r1"} and {f["modelVersion"] for f in frames} == {"upstream-model"}


def test_thoughts_are_shown_only_when_the_client_asked_and_gemini_signatures_always_go_out() -> None:
    events: list[Event] = [
        MessageStart(id="r", model="m"),
        ReasoningDelta("hmm"),
        ReasoningEnd(encrypted=wire.wrap_signature(SIG)),
        TextDelta("ok"),
        ReasoningEnd(encrypted=wire.wrap_signature(SIG2)),
        ToolCallStart(0, wire.mint_call_id("x", SIG), "f"),
        ToolCallEnd(0),
        MessageEnd(StopReason.TOOL_USE),
    ]
    shown = [p for f in _encode(events, True) for p in f["candidates"][0].get("content", {}).get("parts", [])]
    assert shown == [
        {"text": "hmm", "thought": True},
        {"text": "", "thoughtSignature": SIG, "thought": True},
        {"text": "ok"},
        {"text": "", "thoughtSignature": SIG2},
        {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": SIG},
        {"text": ""},
    ]
    hidden = [p for f in _encode(events) for p in f["candidates"][0].get("content", {}).get("parts", [])]
    assert {"text": "hmm", "thought": True} not in hidden and len(hidden) == 5


def test_a_whole_answer_for_a_gemini_client() -> None:
    response = collect(STREAM)
    body = CODEC.encode_response(response, Request(model="gem", messages=[], raw={"contents": []}))
    _checked(body)
    assert body["candidates"][0]["content"]["parts"][1]["functionCall"]["args"] == {"city": "Paris"}
    assert body["candidates"][0]["finishReason"] == "STOP"
    filtered = collect([MessageStart("r", "m"), MessageEnd(StopReason.CONTENT_FILTER)])
    body = CODEC.encode_response(filtered, Request(model="gem", messages=[], raw={"contents": []}))
    assert _checked(body)["candidates"][0] == {"finishReason": "SAFETY", "index": 0}


def test_a_mid_stream_error_and_a_rate_limit_in_googles_shape() -> None:
    encoder = CODEC.stream_encoder(Request(model="gem", messages=[], raw={"contents": []}))
    error = UpstreamStatusError("overloaded", upstream_status=503)
    frame = encoder.encode(StreamError(error))
    assert frame == b'data: {"error":{"code":502,"message":"overloaded","status":"UNAVAILABLE"}}\r\n\r\n'
    limited = CODEC.error_body(AdmissionRejected("busy", retry_after=2.4))
    assert limited["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert limited["error"]["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]
    upstream = UpstreamStatusError("bad key", upstream_status=403, error_type="PERMISSION_DENIED")
    assert CODEC.error_body(upstream)["error"]["status"] == "PERMISSION_DENIED"
    assert CODEC.error_body(InvalidRequest("x"))["error"]["status"] == "INVALID_ARGUMENT"
