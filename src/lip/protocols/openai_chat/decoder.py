"""OpenAI Chat Completions, upstream side: chunks and whole completions -> canonical events, usage, upstream errors."""

from __future__ import annotations

import logging
import time
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
from lip.errors import UpstreamProtocolError, UpstreamStatusError
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.sse import DONE_DATA, SSEEvent, loads_data

log = logging.getLogger("lip.protocols.openai_chat")


FINISH_TO_STOP = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}


# error codes a Responses client knows (ResponseError.code and those Codex acts on), with the status behind each;
# Chat upstreams use the same codes in their in-stream errors
ERROR_CODE_STATUS = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "server_error": 500,
}
_TYPE_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "rate_limit_error": 429, "tokens": 429}


# ---------------------------------------------------------------- response: upstream -> canonical


def _obj(value: Any) -> dict[str, Any]:
    """An upstream value that should be an object; anything else reads as empty (upstreams send odd JSON)."""
    return value if isinstance(value, dict) else {}


def _array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_from(raw: Any) -> tuple[Usage, bool]:
    """The usage object's counts, and whether one was not a count and was dropped (``lip.protocols.counts``)."""
    raw, counts = _obj(raw), Counts()
    given = _obj(raw.get("prompt_tokens_details"))
    usage = Usage(
        input_tokens=counts.of(raw, "prompt_tokens"),
        output_tokens=counts.of(raw, "completion_tokens"),
        cached_tokens=counts.of(given, "cached_tokens"),
        reasoning_tokens=counts.of(_obj(raw.get("completion_tokens_details")), "reasoning_tokens"),
        cache_creation_tokens=counts.of(given, "cache_write_tokens"),
    )
    return usage, counts.dropped


def _plain_text(chunk: dict[str, Any]) -> str | None:
    """The text of a chunk that holds nothing else (choice 0's delta content; no tool calls, reasoning, finish reason
    or usage), else None."""
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1 or chunk.get("usage"):
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("index") or choice.get("finish_reason"):
        return None
    delta = choice.get("delta")
    if type(delta) is not dict:
        return None
    content = delta.get("content")
    if type(content) is not str or not content:
        return None
    if delta.get("tool_calls") or delta.get("reasoning_content") or delta.get("reasoning"):
        return None
    return content


class ChatStreamDecoder:
    """Chat chunks -> canonical events. Normalises a missing or wrong finish reason when tool calls were made."""

    def __init__(self, custom_tools: frozenset[str] = frozenset()) -> None:
        self.started = False
        self.finished = False
        self.done = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.custom_tools = custom_tools
        self._tools: dict[int, _UpCall] = {}  # by upstream tool index
        self._open_calls: list[_UpCall] = []  # started and not yet ended, in start order
        self._in_reasoning = False

    def feed(self, sse: SSEEvent) -> list[Event]:
        if sse.data == DONE_DATA:
            self.done = True
            return self._end()
        if self.done:
            return []
        try:
            chunk = loads_data(sse.data)
        except orjson.JSONDecodeError:
            return [StreamError(UpstreamProtocolError("the upstream sent a stream chunk that is not JSON"))]
        if not isinstance(chunk, dict):
            return [StreamError(UpstreamProtocolError("the upstream sent a stream chunk that is not an object"))]
        if "error" in chunk:
            status = stream_error_status(chunk["error"])
            message, kind = upstream_error(status, chunk)
            self.done = True
            return [StreamError(UpstreamStatusError(message, upstream_status=status, body=chunk, error_type=kind))]
        if self.started and not self._in_reasoning:
            text = _plain_text(chunk)
            if text is not None:  # the commonest chunk: the general path below would produce exactly this
                return [TextDelta(text)]
        events: list[Event] = []
        if not self.started:
            self.started = True
            events.append(
                MessageStart(
                    id=str(chunk.get("id") or f"chatcmpl-{uuid.uuid4().hex}"),
                    model=str(chunk.get("model") or ""),
                    created=_count(chunk.get("created")) or int(time.time()),
                )
            )
        for choice in _array(chunk.get("choices")):
            if isinstance(choice, dict) and not choice.get("index"):
                self._choice(choice, events)
        if chunk.get("usage"):
            self.usage, dropped = usage_from(chunk["usage"])
            if dropped:
                events.append(Repair(BAD_USAGE))
        return events

    def _choice(self, choice: dict[str, Any], events: list[Event]) -> None:
        delta = _obj(choice.get("delta"))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._in_reasoning = True
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._close_reasoning(events)
            events.append(TextDelta(content))
        for call in _array(delta.get("tool_calls")):
            self._close_reasoning(events)
            self._tool_delta(call, events)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
            self._close_tools(events)

    def _close_reasoning(self, events: list[Event]) -> None:
        if self._in_reasoning:
            self._in_reasoning = False
            events.append(ReasoningEnd())

    def _tool_delta(self, call: Any, events: list[Event]) -> None:
        if not isinstance(call, dict):
            return
        upstream_index = call.get("index")
        if not isinstance(upstream_index, int):
            upstream_index = len(self._tools)
        function = _obj(call.get("function"))
        tool = self._tools.get(upstream_index)
        if tool is None:
            tool = self._tools[upstream_index] = self._start_call(call, function, events)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._tool_args(tool, arguments, events)

    def _start_call(self, call: dict[str, Any], function: dict[str, Any], events: list[Event]) -> _UpCall:
        """A new call: every open call whose arguments are already a whole JSON value ends first, so a client that
        takes one call at a time streams this one live (the common case: the upstream sends call 0, then call 1)."""
        for tool in [t for t in self._open_calls if t.complete()]:
            self._end_call(tool, events)
        name = str(function.get("name") or "")
        tool = _UpCall(len(self._tools), custom=name in self.custom_tools)
        call_id = str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")
        events.append(ToolCallStart(tool.index, call_id, name, "custom" if tool.custom else "function"))
        self._open_calls.append(tool)
        return tool

    def _tool_args(self, tool: _UpCall, arguments: str, events: list[Event]) -> None:
        if tool.ended:  # its arguments were whole JSON already: nothing valid can follow
            if not arguments.isspace():
                events.append(Repair("tool_fragment_after_end"))
            return
        tool.parts.append(arguments)
        if not tool.custom:
            events.append(ToolCallDelta(tool.index, arguments))
        if tool is not self._open_calls[-1] and _may_close(arguments) and tool.complete():
            self._end_call(tool, events)  # an interleaving upstream finished an earlier call

    def _end_call(self, tool: _UpCall, events: list[Event]) -> None:
        tool.ended = True
        self._open_calls.remove(tool)
        if tool.custom:
            events.append(ToolCallDelta(tool.index, _unwrap_custom("".join(tool.parts))))
        events.append(ToolCallEnd(tool.index))

    def _close_tools(self, events: list[Event]) -> None:
        for tool in sorted(self._open_calls, key=lambda t: t.index):
            self._end_call(tool, events)
        self.finished = True

    def _stop_reason(self) -> StopReason:
        if self._tools and self.finish_reason in (None, "stop", "tool_calls", "function_call"):
            return StopReason.TOOL_USE  # upstreams that say "stop" (or nothing) while calling tools
        return FINISH_TO_STOP.get(self.finish_reason or "stop", StopReason.END_TURN)

    def _end(self) -> list[Event]:
        events: list[Event] = []
        if not self.started:
            return [StreamError(UpstreamProtocolError("the upstream stream ended before it sent anything"))]
        self._close_reasoning(events)
        if not self.finished:
            self._close_tools(events)
        if self.usage is not None:
            events.append(self.usage)
        events.append(MessageEnd(self._stop_reason()))
        return events

    def finish(self) -> list[Event]:
        if self.done:
            return []
        self.done = True
        if self.finish_reason is None:
            return [StreamError(UpstreamProtocolError("the upstream stream ended before it finished"))]
        return self._end()


class _UpCall:
    """A tool call a Chat upstream is streaming: its canonical index and the argument fragments so far."""

    __slots__ = ("custom", "ended", "index", "parts")

    def __init__(self, index: int, custom: bool) -> None:
        self.index = index
        self.custom = custom  # a freeform tool: its {"input": ...} JSON is buffered and unwrapped at the end
        self.parts: list[str] = []
        self.ended = False

    def complete(self) -> bool:
        """The arguments are a whole JSON object or array, so no further fragment can belong to them."""
        return bool(self.parts) and _may_close(self.parts[-1]) and _is_json("".join(self.parts))


def _may_close(fragment: str) -> bool:
    """Cheap pre-check: a fragment that could end a JSON object or array (its last non-space is } or ])."""
    tail = fragment.rstrip()
    return tail.endswith(("}", "]")) if tail else True


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return text.rstrip().endswith(("}", "]"))


def _unwrap_custom(arguments: str) -> str:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return arguments


def decode_completion(body: Any, custom_tools: frozenset[str] = frozenset()) -> list[Event]:
    """A non-streamed Chat completion as the canonical events it is the collection of."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise UpstreamProtocolError("the upstream answered without a 'choices' list")
    decoder = ChatStreamDecoder(custom_tools)
    choice = next((c for c in body["choices"] if isinstance(c, dict) and not c.get("index")), None) or {}
    message = _obj(choice.get("message"))
    delta = {
        "reasoning_content": message.get("reasoning_content") or message.get("reasoning"),
        "content": message.get("content"),
        "tool_calls": [
            {**call, "index": i} for i, call in enumerate(_array(message.get("tool_calls"))) if isinstance(call, dict)
        ],
    }
    chunk = {k: body.get(k) for k in ("id", "model", "created", "usage")}
    chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason") or "stop"}]
    events = decoder.feed(SSEEvent(orjson.dumps(chunk)))
    return events + decoder.feed(SSEEvent(DONE_DATA))


def stream_error_status(error: Any) -> int:
    """The HTTP status an in-stream error object stands for: an integer ``code`` (OpenRouter), a known ``code`` or
    ``type`` (a rate limit mid-stream stays a rate limit), else 500."""
    error = _obj(error)
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return code
    return ERROR_CODE_STATUS.get(str(code)) or _TYPE_STATUS.get(str(error.get("type"))) or 500


def upstream_error(status: int, body: Any) -> tuple[str, str | None]:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            kind = error.get("type") or error.get("code")
            return (str(message) if message else f"upstream error {status}", str(kind) if kind else None)
        if isinstance(error, str):
            return error, None
        if isinstance(body.get("message"), str):
            return str(body["message"]), None
    return f"the upstream answered HTTP {status}", None
