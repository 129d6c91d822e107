"""OpenAI Responses, upstream side: typed Responses events and whole responses -> canonical events, usage."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

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
from lip.errors import UpstreamProtocolError, UpstreamStatusError
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.openai_chat.decoder import ERROR_CODE_STATUS
from lip.protocols.openai_responses import output
from lip.protocols.openai_responses import tools as responses_tools
from lip.protocols.sse import DONE_DATA, SSEEvent, loads_data

# ---------------------------------------------------------------- response: upstream -> canonical


def usage_from(raw: Any) -> tuple[Usage, bool]:
    """The usage object's counts, and whether one was not a count and was dropped (``lip.protocols.counts``)."""
    if not isinstance(raw, dict):
        return Usage(), False
    given = raw.get("input_tokens_details")
    taken = raw.get("output_tokens_details")
    given = given if isinstance(given, dict) else {}
    taken = taken if isinstance(taken, dict) else {}
    counts = Counts()
    usage = Usage(
        input_tokens=counts.of(raw, "input_tokens"),
        output_tokens=counts.of(raw, "output_tokens"),
        cached_tokens=counts.of(given, "cached_tokens"),
        reasoning_tokens=counts.of(taken, "reasoning_tokens"),
        cache_creation_tokens=counts.of(given, "cache_write_tokens"),
    )
    return usage, counts.dropped


def _item_text(item: dict[str, Any]) -> str:
    """The full text a finished message or reasoning item holds."""
    if item.get("type") == "reasoning":
        summary = [s.get("text") for s in item.get("summary") or () if isinstance(s, dict)]
        texts = [t for t in summary if isinstance(t, str) and t]
        if texts:
            return "\n\n".join(texts)
    parts = [c for c in item.get("content") or () if isinstance(c, dict)]
    return "".join(str(c.get("text") or c.get("refusal") or "") for c in parts)


def _rest(streamed: str, full: Any) -> str:
    """What a finished item holds beyond what was streamed of it (all of it, for an upstream that sent no deltas)."""
    if isinstance(full, str) and len(full) > len(streamed) and full.startswith(streamed):
        return full[len(streamed) :]
    return ""


class _UpItem:
    __slots__ = ("done", "kind", "part", "streamed", "tool")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tool: int | None = None  # canonical tool call index
        self.streamed = ""
        self.part = 0  # summary part being streamed
        self.done = False


def _failure(message: Any, code: Any, body: Any) -> StreamError:
    code = str(code) if code else None
    text = str(message) if message else "the upstream reported an error"
    status = ERROR_CODE_STATUS.get(code or "", 500)
    return StreamError(UpstreamStatusError(text, upstream_status=status, body=body, error_type=code))


class ResponsesStreamDecoder:
    """Responses events -> canonical events. Tolerates upstreams that skip deltas, ``response.created`` or items."""

    def __init__(self, model: str = "") -> None:
        self.model = model
        self.started = False
        self.done = False
        self._items: dict[int, _UpItem] = {}  # by output_index
        self._by_id: dict[str, int] = {}
        self._tools = 0
        self._handlers: dict[str, Callable[[dict[str, Any]], list[Event]]] = {
            "response.created": self._lifecycle,
            "response.in_progress": self._lifecycle,
            "response.queued": self._lifecycle,
            "response.output_item.added": self._item_added,
            "response.output_item.done": self._item_done,
            "response.output_text.delta": self._text,
            "response.refusal.delta": self._text,
            "response.reasoning_summary_text.delta": self._reasoning,
            "response.reasoning_text.delta": self._reasoning,
            "response.function_call_arguments.delta": self._arguments,
            "response.custom_tool_call_input.delta": self._arguments,
            "response.completed": self._terminal,
            "response.incomplete": self._terminal,
            "response.failed": self._failed,
            "error": self._error,
        }

    def feed(self, sse: SSEEvent) -> list[Event]:
        if self.done or sse.data == DONE_DATA or not sse.data.strip():
            return []
        try:
            data = loads_data(sse.data)
        except orjson.JSONDecodeError:
            self.done = True
            return [StreamError(UpstreamProtocolError("the upstream sent a stream event that is not JSON"))]
        if not isinstance(data, dict):
            self.done = True
            return [StreamError(UpstreamProtocolError("the upstream sent a stream event that is not an object"))]
        return self.handle(data, sse.event)

    def handle(self, data: dict[str, Any], event: str | None = None) -> list[Event]:
        if self.done:
            return []
        kind = data.get("type") or event
        if kind is None and isinstance(data.get("error"), dict):
            kind = "error"
        handler = self._handlers.get(str(kind))
        return handler(data) if handler is not None else []

    def finish(self) -> list[Event]:
        if self.done:
            return []
        self.done = True
        if not self.started:
            return [StreamError(UpstreamProtocolError("the upstream stream ended before it sent anything"))]
        return [StreamError(UpstreamProtocolError("the upstream stream ended before response.completed"))]

    # ---- lifecycle

    def _start(self, response: Any) -> list[Event]:
        if self.started:
            return []
        self.started = True
        response = response if isinstance(response, dict) else {}
        return [
            MessageStart(
                id=str(response.get("id") or output.new_id("resp_")),
                model=str(response.get("model") or self.model),
                created=int(response.get("created_at") or time.time()),
            )
        ]

    def _lifecycle(self, data: dict[str, Any]) -> list[Event]:
        return self._start(data.get("response"))

    def _terminal(self, data: dict[str, Any]) -> list[Event]:
        response = data.get("response")
        response = response if isinstance(response, dict) else {}
        events = self._start(response)
        for position, item in enumerate(response.get("output") or ()):
            if isinstance(item, dict):
                index = self._by_id.get(str(item.get("id")), position)
                events += self._finish(index, item)
        for up in self._items.values():
            if up.tool is not None and not up.done:
                up.done = True
                events.append(ToolCallEnd(up.tool))
        if response.get("usage"):
            usage, dropped = usage_from(response["usage"])
            events += [usage, Repair(BAD_USAGE)] if dropped else [usage]
        incomplete = data.get("type") == "response.incomplete" or response.get("status") == "incomplete"
        events.append(MessageEnd(self._stop_reason(response, incomplete)))
        self.done = True
        return events

    def _stop_reason(self, response: dict[str, Any], incomplete: bool) -> StopReason:
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if incomplete or reason:
            return StopReason.CONTENT_FILTER if reason == "content_filter" else StopReason.MAX_TOKENS
        return StopReason.TOOL_USE if self._tools else StopReason.END_TURN

    def _failed(self, data: dict[str, Any]) -> list[Event]:
        response = data.get("response")
        error = output.object_of(output.object_of(response).get("error"))
        self.done = True
        return [*self._start(response), _failure(error.get("message"), error.get("code"), data)]

    def _error(self, data: dict[str, Any]) -> list[Event]:
        error = output.object_of(data.get("error")) or data
        self.done = True
        return [_failure(error.get("message"), error.get("code") or error.get("type"), data)]

    # ---- items

    def _index(self, data: dict[str, Any]) -> int:
        index = data.get("output_index")
        if isinstance(index, int):
            return index
        return self._by_id.get(str(data.get("item_id")), len(self._items))

    def _open(self, index: int, item: dict[str, Any]) -> list[Event]:
        if index in self._items:
            return []
        kind = str(item.get("type") or "")
        up = self._items[index] = _UpItem(kind)
        if isinstance(item.get("id"), str):
            self._by_id[item["id"]] = index
        if kind not in ("function_call", "custom_tool_call"):
            return []
        up.tool, self._tools = self._tools, self._tools + 1
        call_id = str(item.get("call_id") or item.get("id") or output.new_id("call_"))
        custom = kind == "custom_tool_call"
        name, namespace = str(item.get("name") or ""), item.get("namespace")
        if isinstance(namespace, str) and namespace:
            name = responses_tools.flat_name(namespace, name)
        events: list[Event] = [ToolCallStart(up.tool, call_id, name, "custom" if custom else "function")]
        initial = item.get("input" if custom else "arguments")
        if isinstance(initial, str) and initial:
            up.streamed = initial
            events.append(ToolCallDelta(up.tool, initial))
        return events

    def _item_added(self, data: dict[str, Any]) -> list[Event]:
        item = data.get("item")
        events = self._start(None)
        return events + self._open(self._index(data), item) if isinstance(item, dict) else events

    def _item_done(self, data: dict[str, Any]) -> list[Event]:
        item = data.get("item")
        events = self._start(None)
        return events + self._finish(self._index(data), item) if isinstance(item, dict) else events

    def _finish(self, index: int, item: dict[str, Any]) -> list[Event]:
        events = self._open(index, item)
        up = self._items[index]
        if up.done:
            return events
        up.done = True
        if up.kind == "reasoning":
            payload = item.get("encrypted_content")
            payload = payload if isinstance(payload, str) else None
            rest = _rest(up.streamed, _item_text(item))
            if rest:
                events.append(ReasoningDelta(rest))
            if up.streamed or rest or payload:
                events.append(output.reasoning_end_from_payload(payload, item.get("id")))
        elif up.kind == "message":
            rest = _rest(up.streamed, _item_text(item))
            if rest:
                events.append(TextDelta(rest))
        elif up.tool is not None:
            rest = _rest(up.streamed, item.get("input" if up.kind == "custom_tool_call" else "arguments"))
            if rest:
                events.append(ToolCallDelta(up.tool, rest))
            events.append(ToolCallEnd(up.tool))
        return events

    def _item(self, data: dict[str, Any], kind: str) -> _UpItem:
        """The item a delta belongs to; an upstream that skipped ``output_item.added`` gets one implied."""
        index = self._index(data)
        up = self._items.get(index)
        if up is None:
            up = self._items[index] = _UpItem(kind)
        return up

    def _text(self, data: dict[str, Any]) -> list[Event]:
        delta = data.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        events = self._start(None)
        self._item(data, "message").streamed += delta
        return [*events, TextDelta(delta)]

    def _reasoning(self, data: dict[str, Any]) -> list[Event]:
        delta = data.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        events = self._start(None)
        up = self._item(data, "reasoning")
        part = data.get("summary_index")
        if isinstance(part, int) and part != up.part:
            if up.streamed:
                delta = "\n\n" + delta
            up.part = part
        up.streamed += delta
        return [*events, ReasoningDelta(delta)]

    def _arguments(self, data: dict[str, Any]) -> list[Event]:
        delta = data.get("delta")
        up = self._items.get(self._index(data))
        if up is None or up.tool is None or not isinstance(delta, str) or not delta:
            return []
        up.streamed += delta
        return [ToolCallDelta(up.tool, delta)]


def decode_response(body: Any, model: str = "") -> list[Event]:
    """A non-streamed response object as the canonical events it is the collection of."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), list):
        raise UpstreamProtocolError("the upstream answered without an 'output' list")
    decoder = ResponsesStreamDecoder(model)
    status = body.get("status")
    kind = {"failed": "response.failed", "incomplete": "response.incomplete"}.get(str(status), "response.completed")
    return decoder.handle({"type": "response.created", "response": body}) + decoder.handle(
        {"type": kind, "response": body}
    )
