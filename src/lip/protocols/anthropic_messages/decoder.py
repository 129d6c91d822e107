"""Anthropic Messages, upstream side: content-block events and whole messages -> canonical events, usage, errors."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson

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
from lip.errors import LipError, UpstreamProtocolError, UpstreamStatusError
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.sse import SSEEvent, loads_data

log = logging.getLogger("lip.protocols.anthropic_messages")


ANTHROPIC_TO_STOP = {
    "end_turn": StopReason.END_TURN,
    "max_tokens": StopReason.MAX_TOKENS,
    "tool_use": StopReason.TOOL_USE,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "refusal": StopReason.REFUSAL,
    "pause_turn": StopReason.END_TURN,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
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
            self._tool_args(opened, orjson.dumps(initial).decode(), events)

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
