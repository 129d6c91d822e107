"""Anthropic Messages, client side: canonical events -> content-block events, a whole message, the error shape."""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

import orjson

from lip.canonical.collect import Response, merge_usage
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import Reasoning, Text, ToolCall
from lip.errors import LipError, UpstreamStatusError
from lip.protocols.anthropic_messages import blocks
from lip.protocols.anthropic_messages.decoder import ERROR_STATUS
from lip.protocols.sse import encode

STOP_TO_ANTHROPIC = {
    StopReason.END_TURN: "end_turn",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.TOOL_USE: "tool_use",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.REFUSAL: "refusal",
    StopReason.ERROR: "end_turn",
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


dumps = orjson.dumps  # a name of its own, not a wrapper: called for every event


# ---------------------------------------------------------------- response: canonical -> client


def error_body(error: LipError) -> dict[str, Any]:
    kind = ERROR_TYPES.get(error.status, "api_error" if error.status >= 500 else "invalid_request_error")
    if isinstance(error, UpstreamStatusError) and error.error_type in ERROR_STATUS:
        kind = str(error.error_type)
    body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": error.message}}
    if error.request_id is not None:
        body["request_id"] = error.request_id  # as the API's own error bodies carry theirs
    return body


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
