"""Strict checks of wire bodies and SSE transcripts against the official SDKs' pydantic types and stream grammars.

Use them on anything that claims to speak a provider protocol (the fakes, and lip's own output):

    check_chat_completion(body)      check_chat_stream(raw_sse_bytes)
    check_response(body)             check_responses_stream(raw_sse_bytes)
    check_anthropic_message(body)    check_anthropic_stream(raw_sse_bytes)
    check_openai_error(body)         check_anthropic_error(body)
    check_openai_models(body)        check_anthropic_models(body)
    check_gemini_response(body)      check_gemini_stream(raw_bytes, sse=...)
    check_gemini_error(body)         check_gemini_models(body)          check_gemini_count(body)

"Strict" means: the SDK type validates (every required field present, every value of the right type) AND no
object anywhere carries a field the SDK does not know (except the few in `KNOWN_EXTRAS` that real providers send).
Failures raise AssertionError with the offending path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from anthropic.types import Message, ModelInfo, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from google.genai import models as genai_models
from google.genai import types as genai
from openai.types import ErrorObject, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter

__all__ = [
    "KNOWN_EXTRAS",
    "SSE",
    "check_anthropic_error",
    "check_anthropic_message",
    "check_anthropic_models",
    "check_anthropic_stream",
    "check_chat_completion",
    "check_chat_stream",
    "check_gemini_count",
    "check_gemini_error",
    "check_gemini_models",
    "check_gemini_response",
    "check_gemini_stream",
    "check_openai_error",
    "check_openai_models",
    "check_response",
    "check_responses_stream",
    "parse_sse",
    "validate_strict",
]

# Fields real providers send that the SDK types do not declare; and lip's own additions to an OpenAI model entry
# when a model's limits are known (lip.protocols.openai_chat.facts).
KNOWN_EXTRAS = frozenset({"reasoning_content", "store", "context_window", "max_output_tokens"})
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_EVENT_SPLIT = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_TERMINAL = ("response.completed", "response.incomplete", "response.failed", "error")
_DELTA_FOR_BLOCK = {
    "text": {"text_delta", "citations_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
}


@dataclass(frozen=True, slots=True)
class SSE:
    event: str | None
    data: str

    def json(self) -> Any:
        return orjson.loads(self.data)


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def parse_sse(raw: bytes) -> list[SSE]:
    """Split an SSE body into events (comments dropped, multi-line data joined with \\n)."""
    events: list[SSE] = []
    for block in _EVENT_SPLIT.split(raw):
        event: str | None = None
        data: list[str] = []
        for line in block.decode().splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        if event is not None or data:
            events.append(SSE(event, "\n".join(data)))
    return events


def _no_extras(value: Any, path: str) -> None:
    if isinstance(value, BaseModel):
        unknown = set(value.model_extra or {}) - KNOWN_EXTRAS
        _expect(not unknown, f"{path}: fields unknown to the SDK type {type(value).__name__}: {sorted(unknown)}")
        for name in type(value).model_fields:
            _no_extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _no_extras(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_extras(item, f"{path}.{key}")


def validate_strict(tp: Any, obj: Any, path: str = "$") -> Any:
    """Validate `obj` as SDK type `tp` and refuse fields the SDK does not know; returns the parsed value."""
    adapter = _ADAPTERS.get(tp)
    if adapter is None:
        adapter = _ADAPTERS[tp] = TypeAdapter(tp)
    parsed = adapter.validate_python(obj)
    _no_extras(parsed, path)
    return parsed


# -- bodies ----------------------------------------------------------------------------------------------------


def check_chat_completion(body: Any) -> ChatCompletion:
    completion: ChatCompletion = validate_strict(ChatCompletion, body)
    _expect(completion.object == "chat.completion", "object must be chat.completion")
    _expect([c.index for c in completion.choices] == list(range(len(completion.choices))), "choice indices")
    return completion


def check_response(body: Any) -> Response:
    response: Response = validate_strict(Response, body)
    _expect(response.object == "response", "object must be response")
    return response


def check_anthropic_message(body: Any) -> Message:
    message: Message = validate_strict(Message, body)
    _expect(message.type == "message" and message.role == "assistant", "type/role")
    return message


def check_openai_error(body: Any) -> ErrorObject:
    _expect(isinstance(body, dict) and set(body) == {"error"}, f"OpenAI error body must be {{'error': …}}: {body!r}")
    error: ErrorObject = validate_strict(ErrorObject, body["error"], "$.error")
    _expect({"message", "type", "param", "code"} <= set(body["error"]), "error needs message, type, param, code")
    return error


def check_anthropic_error(body: Any) -> ErrorResponse:
    return validate_strict(ErrorResponse, body)  # type: ignore[no-any-return]


def check_openai_models(body: Any) -> list[Model]:
    _expect(isinstance(body, dict) and body.get("object") == "list", "models body must have object=list")
    return [validate_strict(Model, m, f"$.data[{i}]") for i, m in enumerate(body["data"])]


def check_anthropic_models(body: Any) -> list[ModelInfo]:
    _expect(isinstance(body, dict) and isinstance(body.get("has_more"), bool), "models page needs has_more")
    models = [validate_strict(ModelInfo, m, f"$.data[{i}]") for i, m in enumerate(body["data"])]
    ids = [m.id for m in models]
    _expect(body.get("first_id") == (ids[0] if ids else None), "first_id")
    _expect(body.get("last_id") == (ids[-1] if ids else None), "last_id")
    return models


# -- streams ---------------------------------------------------------------------------------------------------


def check_chat_stream(raw: bytes, *, expect_done: bool = True) -> list[ChatCompletionChunk]:
    """Every `data:` is a strict ChatCompletionChunk; roles, tool-call fragments, finish and usage in order."""
    events = parse_sse(raw)
    if expect_done:
        _expect(events and events[-1].data == "[DONE]", "a Chat stream ends with data: [DONE]")
        events = events[:-1]
    chunks = [validate_strict(ChatCompletionChunk, e.json(), f"chunk[{i}]") for i, e in enumerate(events)]
    _expect(chunks, "no chunks")
    _expect(len({(c.id, c.model) for c in chunks}) == 1, "every chunk carries the same id and model")
    finished: set[int] = set()
    seen_role: set[int] = set()
    tool_ids: dict[tuple[int, int], str] = {}
    for n, chunk in enumerate(chunks):
        _expect(chunk.object == "chat.completion.chunk", "object must be chat.completion.chunk")
        if not chunk.choices:
            _expect(chunk.usage is not None and n == len(chunks) - 1, "a choices=[] chunk is the last, with usage")
        for choice in chunk.choices:
            _expect(choice.index not in finished, f"choice {choice.index} continues after its finish_reason")
            _expect(choice.index in seen_role or choice.delta.role == "assistant", "first delta has role")
            seen_role.add(choice.index)
            for call in choice.delta.tool_calls or []:
                key = (choice.index, call.index)
                if key not in tool_ids:
                    _expect(call.id and call.function and call.function.name, f"tool call {key} opens with id+name")
                    tool_ids[key] = call.id or ""
                else:
                    _expect(call.id in (None, tool_ids[key]), f"tool call {key} changes id")
            if choice.finish_reason is not None:
                finished.add(choice.index)
    return chunks


def check_responses_stream(raw: bytes) -> list[Any]:
    """Strict ResponseStreamEvents; `event:` = type, sequence numbers +1, items opened and closed in order."""
    sse = parse_sse(raw)
    events = [validate_strict(ResponseStreamEvent, e.json(), f"event[{i}]") for i, e in enumerate(sse)]
    _expect(events, "no events")
    for i, (frame, event) in enumerate(zip(sse, events, strict=True)):
        _expect(frame.event == event.type, f"event[{i}]: `event: {frame.event}` but type {event.type}")
        _expect(event.sequence_number == events[0].sequence_number + i, f"event[{i}]: sequence_number not +1")
    _expect(events[0].type == "response.created", "first event is response.created")
    _expect(events[-1].type in _TERMINAL, f"last event {events[-1].type} is not terminal")
    response_id = events[0].response.id
    open_items: dict[int, str] = {}
    added = 0
    for i, event in enumerate(events[1:], 1):
        if hasattr(event, "response"):
            _expect(event.response.id == response_id, f"event[{i}] names another response")
        if event.type == "response.output_item.added":
            _expect(event.output_index == added, f"event[{i}]: output_index {event.output_index} != {added}")
            open_items[event.output_index] = event.item.id or ""
            added += 1
        elif event.type == "response.output_item.done":
            _expect(open_items.pop(event.output_index, None) == event.item.id, f"event[{i}]: done for unopened item")
        elif hasattr(event, "item_id"):
            _expect(open_items.get(event.output_index) == event.item_id, f"event[{i}]: {event.type} outside its item")
    if events[-1].type in ("response.completed", "response.incomplete"):
        _expect(not open_items, f"items never closed: {open_items}")
        _expect(len(events[-1].response.output) == added, "final output length differs from items streamed")
    return events


def check_anthropic_stream(raw: bytes) -> list[Any]:
    """Strict RawMessageStreamEvents; blocks start/delta/stop by index; message_delta then message_stop last."""
    sse = [e for e in parse_sse(raw) if e.event != "ping"]
    _expect(sse and sse[-1].event in ("message_stop", "error"), "stream ends with message_stop (or error)")
    if sse[-1].event == "error":
        check_anthropic_error(sse[-1].json())
        sse = sse[:-1]
    events = [validate_strict(RawMessageStreamEvent, e.json(), f"event[{i}]") for i, e in enumerate(sse)]
    for i, (frame, event) in enumerate(zip(sse, events, strict=True)):
        _expect(frame.event == event.type, f"event[{i}]: `event: {frame.event}` but type {event.type}")
    _expect(events and events[0].type == "message_start", "first event is message_start")
    open_block: tuple[int, str] | None = None
    next_index = 0
    partial_json: dict[int, str] = {}
    for i, event in enumerate(events[1:], 1):
        if event.type == "content_block_start":
            _expect(open_block is None and event.index == next_index, f"event[{i}]: block {event.index} out of order")
            open_block = (event.index, event.content_block.type)
            next_index += 1
        elif event.type == "content_block_delta":
            _expect(open_block is not None and open_block[0] == event.index, f"event[{i}]: delta outside its block")
            allowed = _DELTA_FOR_BLOCK.get(open_block[1] if open_block else "", set())
            _expect(event.delta.type in allowed, f"event[{i}]: {event.delta.type} inside a {open_block} block")
            if event.delta.type == "input_json_delta":
                partial_json[event.index] = partial_json.get(event.index, "") + event.delta.partial_json
        elif event.type == "content_block_stop":
            _expect(open_block is not None and open_block[0] == event.index, f"event[{i}]: stop for unopened block")
            open_block = None
        elif event.type == "message_delta":
            _expect(open_block is None, f"event[{i}]: message_delta while a block is open")
    for text in partial_json.values():
        orjson.loads(text or "{}")  # a tool_use block's input must be complete JSON
    if events[-1].type == "message_stop":
        _expect(events[-2].type == "message_delta", "message_delta comes right before message_stop")
    return events


# -- Gemini (google-genai's types; their extra="forbid" makes every model strict) ---------------------------------

GOOGLE_STATUSES = frozenset(
    {
        "INVALID_ARGUMENT",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "NOT_FOUND",
        "ABORTED",
        "ALREADY_EXISTS",
        "RESOURCE_EXHAUSTED",
        "CANCELLED",
        "DATA_LOSS",
        "UNKNOWN",
        "INTERNAL",
        "UNIMPLEMENTED",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
    }
)
_GEMINI_MODEL_KEYS = frozenset(
    {
        "name",
        "baseModelId",
        "version",
        "displayName",
        "description",
        "inputTokenLimit",
        "outputTokenLimit",
        "supportedGenerationMethods",
        "temperature",
        "maxTemperature",
        "topP",
        "topK",
        "thinking",
    }
)
SSE_SEPARATOR = b"\r\n\r\n"
ARRAY_SEPARATOR = b"\r\n,\r\n"


def check_gemini_response(body: Any) -> genai.GenerateContentResponse:
    return validate_strict(genai.GenerateContentResponse, body)  # type: ignore[no-any-return]


def check_gemini_error(body: Any) -> dict[str, Any]:
    _expect(isinstance(body, dict) and set(body) == {"error"}, f"Google error body must be {{'error': …}}: {body!r}")
    error = body["error"]
    _expect({"code", "message", "status"} <= set(error) <= {"code", "message", "status", "details"}, f"{error!r}")
    _expect(type(error["code"]) is int and isinstance(error["message"], str), f"code and message: {error!r}")
    _expect(error["status"] in GOOGLE_STATUSES, f"status {error['status']!r} is not a google.rpc code")
    return error  # type: ignore[no-any-return]


def check_gemini_stream(raw: bytes, *, sse: bool) -> list[genai.GenerateContentResponse]:
    """Every chunk a strict GenerateContentResponse (an error object ends it); framed as Google frames it: `data:`
    events ended by \\r\\n\\r\\n, or one JSON array (`[`, elements joined by \\r\\n,\\r\\n, `\\r\\n]`)."""
    if sse:
        _expect(raw.endswith(SSE_SEPARATOR), "an alt=sse stream ends each event with \\r\\n\\r\\n")
        _expect(b"\n\n" not in raw.replace(SSE_SEPARATOR, b""), "events are separated by \\r\\n\\r\\n only")
        chunks = [e.json() for e in parse_sse(raw)]
    else:
        _expect(raw.startswith(b"[") and raw.endswith((b"\r\n]", b"[]")), f"a JSON-array stream: {raw[:40]!r}...")
        chunks = orjson.loads(raw)
        _expect(isinstance(chunks, list), "the stream is one JSON array")
        _expect(raw.count(ARRAY_SEPARATOR) >= len(chunks) - 1, "elements are joined by \\r\\n,\\r\\n")
    _expect(chunks, "no chunks")
    if isinstance(chunks[-1], dict) and "error" in chunks[-1]:
        check_gemini_error(chunks[-1])
        chunks = chunks[:-1]
    return [validate_strict(genai.GenerateContentResponse, c, f"chunk[{i}]") for i, c in enumerate(chunks)]


def check_gemini_models(body: Any) -> list[genai.Model]:
    """A page of ``models`` (each a Model as the SDK converts it; no key it would drop) and its ``nextPageToken``."""
    _expect(isinstance(body, dict) and set(body) <= {"models", "nextPageToken"}, f"models page keys: {body!r}")
    _expect(isinstance(body.get("nextPageToken", ""), str), "nextPageToken is a string")
    return [check_gemini_model(m, f"$.models[{i}]") for i, m in enumerate(body.get("models", []))]


def check_gemini_model(entry: Any, path: str = "$") -> genai.Model:
    _expect(isinstance(entry, dict) and set(entry) <= _GEMINI_MODEL_KEYS, f"{path}: keys {sorted(entry)}")
    _expect(str(entry.get("name", "")).startswith("models/"), f"{path}: name is models/<id>")
    converted = genai_models._Model_from_mldev(entry)
    converted.pop("tuned_model_info", None)  # the converter copies the whole entry there (read for tuned models only)
    return validate_strict(genai.Model, converted, path)  # type: ignore[no-any-return]


def check_gemini_count(body: Any) -> genai.CountTokensResponse:
    _expect(
        isinstance(body, dict) and set(body) <= {"totalTokens", "cachedContentTokenCount", "promptTokensDetails"},
        f"countTokens keys: {body!r}",
    )
    counted = genai_models._CountTokensResponse_from_mldev(body)
    return validate_strict(genai.CountTokensResponse, counted)  # type: ignore[no-any-return]
