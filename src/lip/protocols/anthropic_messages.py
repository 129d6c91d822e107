"""Anthropic Messages codec: request decode/encode, content-block stream <-> canonical events, error shape.

Mapping decisions (see docs/protocol-mapping.md):

- Usage: canonical ``input_tokens`` counts every prompt token; Anthropic's ``input_tokens`` excludes cache reads
  and writes, so ``input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` on the way in
  and the reverse on the way out. ``reasoning_tokens`` <-> ``usage.output_tokens_details.thinking_tokens``.
- Thinking: ``{type: enabled, budget_tokens}`` <-> ``Params.reasoning_budget``; ``output_config.effort`` ->
  ``reasoning_effort`` (``max`` becomes ``xhigh``); adaptive thinking without an effort leaves the effort to the
  target's default. Towards Anthropic an effort without a budget becomes a budget (``EFFORT_BUDGETS``), fitted
  under ``max_tokens``; thinking is left off where the API would reject it (forced tool use, a prefill, a tool
  loop whose last assistant turn has no thinking block) and temperature/top_p are dropped where it forbids them.
- Reasoning towards an Anthropic client: every reasoning block is a ``thinking`` block so the client shows it;
  one without a signature gets ``signature: ""`` (the SDK accepts it; lip drops such a block when it comes back),
  and Responses reasoning travels as a wrapped signature (``anthropic_blocks.WRAPPED_PREFIX``) so a client that
  sends it back carries the encrypted content home.
- Stop reasons: ``refusal`` <-> REFUSAL (CONTENT_FILTER goes out as ``refusal`` too); ``pause_turn`` -> END_TURN;
  ``model_context_window_exceeded`` -> MAX_TOKENS; a missing reason, or ``end_turn`` while tool_use blocks were
  produced, becomes TOOL_USE when there were tool calls, so agents never stall.
- Same-protocol translation (used when passthrough is off) takes ``thinking``, ``output_config`` and ``tools``
  verbatim from the raw body, and every top-level field the canonical model does not hold (``top_k``,
  ``service_tier``, ``context_management``, …); towards other protocols ``top_k`` and Anthropic-defined tools
  are dropped, each translated request naming the fields it drops in one debug line (``HELD_KEYS``).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any

import orjson

from lip.canonical.collect import Response, merge_usage
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
from lip.canonical.request import Reasoning, Request, Text, ToolCall
from lip.errors import InvalidRequest, LipError, UpstreamProtocolError, UpstreamStatusError
from lip.protocols import anthropic_blocks as blocks
from lip.protocols import fields
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.sse import SSEEvent, encode, loads_data

NAME = "anthropic_messages"
log = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = blocks.DEFAULT_MAX_TOKENS

STOP_TO_ANTHROPIC = {
    StopReason.END_TURN: "end_turn",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.TOOL_USE: "tool_use",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.REFUSAL: "refusal",
    StopReason.ERROR: "end_turn",
}
ANTHROPIC_TO_STOP = {
    "end_turn": StopReason.END_TURN,
    "max_tokens": StopReason.MAX_TOKENS,
    "tool_use": StopReason.TOOL_USE,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "refusal": StopReason.REFUSAL,
    "pause_turn": StopReason.END_TURN,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "invalid_request_error",  # the client's body did not arrive in time (server.body_timeout_s)
    413: "request_too_large",
    429: "rate_limit_error",
    501: "invalid_request_error",  # a translation lip cannot make: retrying will not help
    529: "overloaded_error",
}
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
# Fields of a Messages body that the canonical model holds; the rest ride along on same-protocol translation.
MODELLED_KEYS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "stream",
        "thinking",
        "output_config",
    }
)

# What of a Messages body the canonical model holds, for the debug line naming what a translation drops (top_k,
# context_management, service_tier, ...).
HELD_KEYS = MODELLED_KEYS | {"output_format"}
HELD_INSIDE = {
    "output_config": frozenset({"effort", "format"}),
    "thinking": frozenset({"type", "budget_tokens"}),
}


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


# ---------------------------------------------------------------- request: client -> canonical


def decode_head(body: Any, headers: Mapping[str, str], *, require_max_tokens: bool = True) -> Request:
    """Model, stream flag and the raw body; ``max_tokens`` and ``messages`` are checked here
    (``require_max_tokens=False`` for count_tokens bodies)."""
    body = fields.body_object(body)
    model = fields.model_field(body)
    if require_max_tokens:
        max_tokens = fields.required(body, "max_tokens", int)
        if max_tokens < 0:
            raise InvalidRequest("'max_tokens' must be greater than or equal to 0", param="max_tokens")
    messages = fields.required(body, "messages", list)
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message", param="messages")
    return Request(
        model=model,
        messages=[],
        stream=bool(fields.optional(body, "stream", bool)),
        include_usage=True,  # an Anthropic stream always carries usage
        protocol=NAME,
        raw=body,
    )


def decode_request(body: Any, headers: Mapping[str, str], *, require_max_tokens: bool = True) -> Request:
    request = decode_head(body, headers, require_max_tokens=require_max_tokens)
    raw = request.raw
    lead, request.messages = blocks.decode_messages(raw["messages"])
    request.system = blocks.decode_system(raw.get("system")) + lead
    if raw.get("tools") is not None:
        request.tools = blocks.decode_tools(raw["tools"])
    request.tool_choice = blocks.decode_tool_choice(raw.get("tool_choice"))
    request.params = blocks.decode_params(raw)
    request.unmodelled = fields.unmodelled(raw, HELD_KEYS, HELD_INSIDE)
    return request


class AnthropicMessagesCodec:
    name = NAME

    def __init__(self, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.default_max_tokens = default_max_tokens

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_head(body, headers)

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_request(body, headers)

    def decode_count_tokens(self, body: Any, headers: Mapping[str, str]) -> Request:
        """A ``/v1/messages/count_tokens`` body: a Messages body without ``max_tokens``."""
        return decode_request(body, headers, require_max_tokens=False)

    def stream_encoder(self, request: Request) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(request.model)

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encode_message(response, request.model)

    def error_body(self, error: LipError) -> dict[str, Any]:
        return error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        return encode(dumps(error_body(error)), "error")

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model, self.default_max_tokens)

    def stream_decoder(self, request: Request) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(request.custom_tool_names())

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_message(body, request.custom_tool_names())

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {**body, "model": model}


# ---------------------------------------------------------------- request: canonical -> upstream


def encode_request(request: Request, model: str, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    default_max_tokens = request.params.output_limit or default_max_tokens  # the model's own limit, when known
    fields.log_dropped(log, request, NAME)
    p = request.params
    if p.n is not None and p.n > 1:
        raise InvalidRequest("'n' greater than 1 cannot be honoured by an Anthropic backend", param="n")
    same = request.protocol == NAME
    messages = blocks.encode_messages(request.messages)
    body: dict[str, Any] = {"model": model}
    system = blocks.encode_system(request.system)
    if system:
        body["system"] = system
    body["messages"] = messages
    if same and "thinking" in request.raw:
        thinking, max_tokens = request.raw["thinking"], p.max_tokens if p.max_tokens is not None else default_max_tokens
        if blocks.thinking_on(thinking) and blocks.loop_lacks_thinking(messages):
            # the thinking block the tool loop needs came from another provider (a failover, a model switch) and
            # was dropped; the API refuses thinking without it
            log.debug("not sending the client's thinking config: the tool loop's assistant turn lost its thinking")
            thinking = None
    else:
        thinking, max_tokens = blocks.thinking_config(request, messages, default_max_tokens)
    body["max_tokens"] = max_tokens
    if thinking is not None:
        body["thinking"] = thinking
    blocks.sampling(p, isinstance(thinking, dict) and thinking.get("type") == "enabled", body)
    stop = blocks.stop_sequences(p.stop)
    if stop:
        body["stop_sequences"] = stop
    blocks.declare_tools(request, messages, same, body)
    if p.user:
        body["metadata"] = {"user_id": p.user}
    if same:  # output_config / the older top-level output_format ride along from the raw body
        if isinstance(request.raw.get("output_config"), dict):
            body["output_config"] = request.raw["output_config"]
    elif p.response_format:
        blocks.response_format(p.response_format, body)
    if request.stream:
        body["stream"] = True
    if same:
        body.update({k: v for k, v in request.raw.items() if k not in MODELLED_KEYS and k not in body})
    return body


# ---------------------------------------------------------------- response: upstream -> canonical


class UsageTally:
    """Anthropic usage counts as reported so far; later reports overwrite the fields they carry."""

    __slots__ = ("counts", "fields")

    def __init__(self) -> None:
        self.fields: dict[str, int] = {}
        self.counts = Counts()  # ``counts.dropped``: a reported value was not a count (``lip.protocols.counts``)

    def update(self, raw: Any) -> Usage | None:
        if not isinstance(raw, dict):
            return None
        counts = self.counts
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            value = counts.get(raw, key)
            if value is not None:
                self.fields[key] = value
        details = raw.get("output_tokens_details")
        thinking = counts.get(details, "thinking_tokens") if isinstance(details, dict) else None
        if thinking is not None:
            self.fields["thinking_tokens"] = thinking
        f = self.fields
        cached, created = f.get("cache_read_input_tokens", 0), f.get("cache_creation_input_tokens", 0)
        return Usage(
            input_tokens=f.get("input_tokens", 0) + cached + created,
            output_tokens=f.get("output_tokens", 0),
            cached_tokens=cached,
            reasoning_tokens=f.get("thinking_tokens", 0),
            cache_creation_tokens=created,
        )


class _Open:
    """An upstream content block between its start and stop."""

    __slots__ = ("args", "custom", "kind", "redacted", "signature", "tool")

    def __init__(self, kind: str, tool: int = -1, custom: bool = False) -> None:
        self.kind = kind
        self.tool = tool
        self.custom = custom
        self.args = ""  # custom tools: buffered JSON; others: "x" once any argument went out
        self.signature: str | None = None
        self.redacted: str | None = None


ORPHAN_DELTA = "orphan_delta"  # the Repair kind of a content_block_delta without its content_block_start


class AnthropicStreamDecoder:
    """Anthropic SSE events -> canonical events. Tool call indices count tool_use blocks only."""

    def __init__(self, custom_tools: frozenset[str] = frozenset()) -> None:
        self.custom_tools = custom_tools
        self.started = False
        self.done = False
        self._blocks: dict[int, _Open] = {}
        self._tools = 0
        self._usage = UsageTally()
        self._stop: str | None = None
        self._stop_sequence: str | None = None
        self._stopped = False  # message_delta seen
        self._orphans = False  # a delta of a block that never started went by
        self._ignored: set[int] = set()  # blocks of kinds the canonical model has no equivalent for

    def feed(self, sse: SSEEvent) -> list[Event]:
        if self.done or not sse.data:
            return []
        try:
            event = loads_data(sse.data)
        except orjson.JSONDecodeError:
            return self._fail(UpstreamProtocolError("the upstream sent a stream event that is not JSON"))
        if not isinstance(event, dict):
            return self._fail(UpstreamProtocolError("the upstream sent a stream event that is not an object"))
        if self.started:  # the commonest event: handle would produce exactly this
            text = _text_delta(event)
            if text is not None and _index(event, -1) in self._blocks:
                return [TextDelta(text)]
        return self.handle(event, sse.event)

    def handle(self, event: dict[str, Any], name: str | None = None) -> list[Event]:
        kind = event.get("type") or name
        if kind == "error":
            return self._error(event)
        if kind == "ping" or self.done:
            return []
        if kind == "content_block_delta" and self._orphaned(_index(event, -1)):
            return self._orphan()
        events: list[Event] = []
        if not self.started:
            self._start(event.get("message") if kind == "message_start" else None, events)
        if kind == "content_block_start":
            self._block_start(event, events)
        elif kind == "content_block_delta":
            self._block_delta(event, events)
        elif kind == "content_block_stop":
            self._block_stop(self._blocks.pop(_index(event, -1), None), events)
        elif kind == "message_delta":
            self._message_delta(event, events)
        elif kind == "message_stop":
            events.extend(self._end())
        return events

    def _orphaned(self, index: int) -> bool:
        return index not in self._blocks and index not in self._ignored

    def _orphan(self) -> list[Event]:
        """A delta of a block that never started: dropped (it has no kind to go by), a Repair the first time. It
        starts nothing: an upstream that sends only these has not answered (its first-byte deadline runs on)."""
        if self._orphans:
            return []
        self._orphans = True
        return [Repair(ORPHAN_DELTA)]

    def _fail(self, error: LipError) -> list[Event]:
        self.done = True
        return [StreamError(error)]

    def _error(self, event: dict[str, Any]) -> list[Event]:
        message, kind = upstream_error(500, event)
        status = ERROR_STATUS.get(kind or "", 500)
        return self._fail(UpstreamStatusError(message, upstream_status=status, body=event, error_type=kind))

    def _start(self, message: Any, events: list[Event]) -> None:
        self.started = True
        message = message if isinstance(message, dict) else {}
        events.append(
            MessageStart(id=str(message.get("id") or f"msg_{uuid.uuid4().hex}"), model=str(message.get("model") or ""))
        )
        self._usage_event(message.get("usage"), events)

    def _block_start(self, event: dict[str, Any], events: list[Event]) -> None:
        index = _index(event, len(self._blocks))
        block = event.get("content_block")
        block = block if isinstance(block, dict) else {}
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = _Open("text")
            if block.get("text"):
                events.append(TextDelta(str(block["text"])))
        elif kind == "thinking":
            self._blocks[index] = opened = _Open("thinking")
            opened.signature = block.get("signature") or None
            if block.get("thinking"):
                events.append(ReasoningDelta(str(block["thinking"])))
        elif kind == "redacted_thinking":
            self._blocks[index] = opened = _Open("redacted")
            opened.redacted = str(block.get("data") or "")
        elif kind == "tool_use":
            self._tool_start(index, block, events)
        else:
            self._ignored.add(index)
            log.debug("dropping an Anthropic %r content block: the canonical model has no equivalent", kind)

    def _tool_start(self, index: int, block: dict[str, Any], events: list[Event]) -> None:
        name = str(block.get("name") or "")
        opened = _Open("tool", self._tools, custom=name in self.custom_tools)
        self._blocks[index] = opened
        self._tools += 1
        call_id = str(block.get("id") or f"toolu_{uuid.uuid4().hex[:24]}")
        events.append(ToolCallStart(opened.tool, call_id, name, "custom" if opened.custom else "function"))
        initial = block.get("input")
        if isinstance(initial, dict) and initial:
            self._tool_args(opened, dumps(initial).decode(), events)

    def _tool_args(self, opened: _Open, text: str, events: list[Event]) -> None:
        if not text:
            return
        if opened.custom:
            opened.args += text
        else:
            opened.args = "x"
            events.append(ToolCallDelta(opened.tool, text))

    def _block_delta(self, event: dict[str, Any], events: list[Event]) -> None:
        opened = self._blocks.get(_index(event, -1))
        delta = event.get("delta")
        if opened is None or not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            events.append(TextDelta(str(delta["text"])))
        elif kind == "thinking_delta" and delta.get("thinking"):
            events.append(ReasoningDelta(str(delta["thinking"])))
        elif kind == "signature_delta":
            opened.signature = str(delta.get("signature") or "") or None
        elif kind == "input_json_delta":
            self._tool_args(opened, str(delta.get("partial_json") or ""), events)

    def _block_stop(self, opened: _Open | None, events: list[Event]) -> None:
        if opened is None:
            return
        if opened.kind == "thinking":
            events.append(ReasoningEnd(signature=opened.signature))
        elif opened.kind == "redacted":
            events.append(ReasoningEnd(redacted=opened.redacted))
        elif opened.kind == "tool":
            if opened.custom:
                events.append(ToolCallDelta(opened.tool, _unwrap_custom(opened.args)))
            elif not opened.args:
                events.append(ToolCallDelta(opened.tool, "{}"))  # a tool_use without input means {}
            events.append(ToolCallEnd(opened.tool))

    def _message_delta(self, event: dict[str, Any], events: list[Event]) -> None:
        self._stopped = True
        delta = event.get("delta")
        if isinstance(delta, dict):
            self._stop = delta.get("stop_reason") or self._stop
            self._stop_sequence = delta.get("stop_sequence") or self._stop_sequence
        self._usage_event(event.get("usage"), events)

    def _usage_event(self, raw: Any, events: list[Event]) -> None:
        """The usage so far, after a report; the first report with a value that is not a count also a Repair."""
        dropped = self._usage.counts.dropped
        usage = self._usage.update(raw)
        if usage is not None:
            events.append(usage)
        if self._usage.counts.dropped and not dropped:
            events.append(Repair(BAD_USAGE))

    def _stop_reason(self) -> StopReason:
        if self._tools and self._stop in (None, "end_turn"):
            return StopReason.TOOL_USE
        return ANTHROPIC_TO_STOP.get(self._stop or "end_turn", StopReason.END_TURN)

    def _end(self) -> list[Event]:
        events: list[Event] = []
        for index in sorted(self._blocks):
            self._block_stop(self._blocks.pop(index), events)
        self.done = True
        reason = self._stop_reason()
        events.append(MessageEnd(reason, self._stop_sequence if reason == StopReason.STOP_SEQUENCE else None))
        return events

    def finish(self) -> list[Event]:
        if self.done:
            return []
        if self.started and self._stopped:  # some compatible upstreams end without message_stop
            return self._end()
        return self._fail(UpstreamProtocolError("the upstream stream ended before message_stop"))


def _text_delta(event: dict[str, Any]) -> str | None:
    """The text of a ``content_block_delta`` event whose delta is a non-empty ``text_delta``, else None."""
    if event.get("type") != "content_block_delta":
        return None
    delta = event.get("delta")
    if type(delta) is not dict or delta.get("type") != "text_delta":
        return None
    text = delta.get("text")
    return text if type(text) is str and text else None


def _index(event: dict[str, Any], default: int) -> int:
    index = event.get("index")
    return index if isinstance(index, int) else default


def _unwrap_custom(arguments: str) -> str:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return arguments


def decode_message(body: Any, custom_tools: frozenset[str] = frozenset()) -> list[Event]:
    """A non-streamed Message as the canonical events it is the collection of."""
    if isinstance(body, dict) and body.get("type") == "error":
        message, kind = upstream_error(500, body)
        status = ERROR_STATUS.get(kind or "", 500)
        raise UpstreamStatusError(message, upstream_status=status, body=body, error_type=kind)
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise UpstreamProtocolError("the upstream answered without a 'content' list")
    decoder = AnthropicStreamDecoder(custom_tools)
    start = {k: body.get(k) for k in ("id", "model", "usage")}
    events = decoder.handle({"type": "message_start", "message": start})
    for index, block in enumerate(body["content"]):
        events += decoder.handle({"type": "content_block_start", "index": index, "content_block": block})
        events += decoder.handle({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": body.get("stop_reason"), "stop_sequence": body.get("stop_sequence")}
    events += decoder.handle({"type": "message_delta", "delta": delta})
    return events + decoder.handle({"type": "message_stop"})


def upstream_error(status: int, body: Any) -> tuple[str, str | None]:
    """(message, type) from ``{"type": "error", "error": {"type", "message"}}``, tolerant of any shape."""
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return (text.strip()[:500] or f"the upstream answered HTTP {status}"), None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message, kind = error.get("message"), error.get("type") or error.get("code")
            return (str(message) if message else f"upstream error {status}", str(kind) if kind else None)
        if isinstance(error, str):
            return error, None
        if isinstance(body.get("message"), str):
            return str(body["message"]), None
    return f"the upstream answered HTTP {status}", None


# ---------------------------------------------------------------- response: canonical -> client


def error_body(error: LipError) -> dict[str, Any]:
    kind = ERROR_TYPES.get(error.status, "api_error" if error.status >= 500 else "invalid_request_error")
    if isinstance(error, UpstreamStatusError) and error.error_type in ERROR_STATUS:
        kind = str(error.error_type)
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": max(0, usage.input_tokens - usage.cached_tokens - usage.cache_creation_tokens),
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens,
    }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return body


def _signature(signature: str | None, encrypted: str | None, item_id: str | None) -> str:
    if signature:
        return signature
    return blocks.wrap_encrypted(encrypted, item_id) if encrypted else ""


def _content_block(part: Text | Reasoning | ToolCall) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": blocks.tool_input(part)}
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.redacted}
    return {"type": "thinking", "thinking": part.text, "signature": _signature(part.signature, part.encrypted, part.id)}


def encode_message(response: Response, model: str = "") -> dict[str, Any]:
    return {
        "id": response.id or f"msg_{uuid.uuid4().hex}",
        "type": "message",
        "role": "assistant",
        "model": response.model or model,
        "content": [_content_block(p) for p in response.content],
        "stop_reason": STOP_TO_ANTHROPIC[response.stop_reason],
        "stop_sequence": response.stop_sequence if response.stop_reason == StopReason.STOP_SEQUENCE else None,
        "usage": usage_body(response.usage),
    }


class _Out:
    """A content block of the client stream; only the queue's head is on the wire, the others are buffered."""

    __slots__ = ("ended", "index", "kind", "pending", "signature", "start")

    def __init__(self, kind: str, start: dict[str, Any]) -> None:
        self.kind = kind  # text | thinking | redacted | tool | custom
        self.start = start
        self.index = -1  # assigned when the block reaches the wire
        self.pending: list[str] = []
        self.signature = ""
        self.ended = False


THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}
_DELTA_TYPES = {"text": "text_delta", "thinking": "thinking_delta", "tool": "input_json_delta"}
_DELTA_KEYS = {"text": "text", "thinking": "thinking", "tool": "partial_json"}
TEXT_DELTA_HEAD = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":'
TEXT_DELTA_MID = b',"delta":{"type":"text_delta","text":'


class AnthropicStreamEncoder:
    """Canonical events -> Anthropic SSE. Blocks go out one at a time with sequential indices; canonical tool calls
    that interleave are buffered behind the block on the wire. ``message_start`` waits for the event after
    MessageStart so that input usage reported with it (as Anthropic upstreams do) lands in it."""

    def __init__(self, model: str = "") -> None:
        self.model = model
        self.usage = Usage()
        self._start: MessageStart | None = None
        self._queue: deque[_Out] = deque()
        self._open: _Out | None = None  # the text or thinking block that the next delta of its kind extends
        self._tools: dict[int, _Out] = {}
        self._next_index = 0

    def encode(self, event: Event) -> bytes:
        if type(event) is TextDelta and event.text and self._start is None:
            block = self._wire_text()  # the commonest event, from a template: what _extend + _pump would write
            if block is not None:
                return TEXT_DELTA_HEAD + str(block.index).encode() + TEXT_DELTA_MID + dumps(event.text) + b"}}\n\n"
        if isinstance(event, Usage):
            self.usage = merge_usage(self.usage, event)
            return self._message_start() if self._start is not None else b""
        if isinstance(event, MessageStart):
            self._start = event
            return b""
        head = self._message_start() if self._start is not None else b""
        match event:
            case TextDelta(text=text):
                self._extend("text", text)
            case ReasoningDelta(text=text):
                self._extend("thinking", text)
            case ReasoningEnd(signature=sig, encrypted=enc, redacted=red, id=rid):
                self._reasoning_end(_signature(sig, enc, rid), red)
            case ToolCallStart(index=index, id=id_, name=name, kind=kind):
                start = {"type": "tool_use", "id": id_, "name": name, "input": {}}
                self._tools[index] = self._begin("custom" if kind == "custom" else "tool", start)
            case ToolCallDelta(index=index, arguments=args):
                if args and index in self._tools:
                    self._tools[index].pending.append(args)
            case ToolCallEnd(index=index):
                if index in self._tools:
                    _close(self._tools[index])
            case MessageEnd(stop_reason=reason, stop_sequence=seq):
                return head + self._message_end(reason, seq)
            case StreamError(error=error):
                return head + encode(dumps(error_body(error)), "error")
        return head + self._pump()

    def finish(self) -> bytes:
        return b""

    def _wire_text(self) -> _Out | None:
        """The open text block when it is on the wire with nothing pending (a text delta goes straight out)."""
        block = self._open
        if block is None or block.kind != "text" or block.index < 0 or block.pending or block.ended:
            return None
        return block if self._queue and self._queue[0] is block else None

    def _message_start(self) -> bytes:
        start, self._start = self._start, None
        assert start is not None
        message: dict[str, Any] = {
            "id": start.id or f"msg_{uuid.uuid4().hex}",
            "type": "message",
            "role": "assistant",
            "model": start.model or self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_body(self.usage),
        }
        return encode(dumps({"type": "message_start", "message": message}), "message_start") + encode(
            b'{"type":"ping"}', "ping"
        )

    def _begin(self, kind: str, start: dict[str, Any]) -> _Out:
        if self._open is not None:
            self._open.ended = True
        block = _Out(kind, start)
        self._queue.append(block)
        self._open = block if kind in ("text", "thinking") else None
        return block

    def _extend(self, kind: str, text: str) -> None:
        block = self._open if self._open is not None and self._open.kind == kind else None
        if block is None:
            block = self._begin(kind, {"type": "text", "text": ""} if kind == "text" else dict(THINKING_START))
        if text:
            block.pending.append(text)

    def _reasoning_end(self, signature: str, redacted: str | None) -> None:
        block = self._open if self._open is not None and self._open.kind == "thinking" else None
        if redacted:
            self._begin("redacted", {"type": "redacted_thinking", "data": redacted}).ended = True
            self._open = None
            return
        if block is None:
            if not signature:
                return  # nothing to show and nothing to carry back
            block = self._begin("thinking", dict(THINKING_START))
        block.signature = signature
        block.ended = True
        self._open = None

    def _pump(self) -> bytes:
        out: list[bytes] = []
        while self._queue:
            block = self._queue[0]
            if block.index < 0:
                block.index = self._next_index
                self._next_index += 1
                start = {"type": "content_block_start", "index": block.index, "content_block": block.start}
                out.append(encode(dumps(start), "content_block_start"))
            if block.pending and block.kind in _DELTA_TYPES:
                delta = {"type": _DELTA_TYPES[block.kind], _DELTA_KEYS[block.kind]: "".join(block.pending)}
                block.pending.clear()
                out.append(_block_event("content_block_delta", block.index, delta))
            if not block.ended:
                break
            if block.kind == "thinking" and block.signature:
                signature = {"type": "signature_delta", "signature": block.signature}
                out.append(_block_event("content_block_delta", block.index, signature))
            out.append(encode(dumps({"type": "content_block_stop", "index": block.index}), "content_block_stop"))
            self._queue.popleft()
        return b"".join(out)

    def _message_end(self, reason: StopReason, stop_sequence: str | None) -> bytes:
        for block in self._queue:
            _close(block)
        self._open = None
        out = self._pump()
        usage = usage_body(self.usage)
        if not self.usage.input_tokens:  # unknown: leave message_start's counts standing
            usage = {k: v for k, v in usage.items() if k in ("output_tokens", "output_tokens_details")}
        delta = {
            "stop_reason": STOP_TO_ANTHROPIC[reason],
            "stop_sequence": stop_sequence if reason == StopReason.STOP_SEQUENCE else None,
        }
        out += encode(dumps({"type": "message_delta", "delta": delta, "usage": usage}), "message_delta")
        return out + encode(b'{"type":"message_stop"}', "message_stop")


def _close(block: _Out) -> None:
    if block.kind == "custom":  # a freeform tool's text goes to the client as {"input": text}, whole
        block.pending = [dumps({"input": "".join(block.pending)}).decode()]
        block.kind = "tool"
    block.ended = True


def _block_event(kind: str, index: int, delta: dict[str, Any]) -> bytes:
    return encode(dumps({"type": kind, "index": index, "delta": delta}), kind)
