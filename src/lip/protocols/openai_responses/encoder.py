"""OpenAI Responses, client side: canonical events -> typed Responses events, a whole response, the error event."""

from __future__ import annotations

import re
import time
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
from lip.canonical.request import Request, ToolOrigin
from lip.errors import LipError, UpstreamStatusError
from lip.protocols.openai_chat.decoder import ERROR_CODE_STATUS
from lip.protocols.openai_responses import output
from lip.protocols.sse import encode

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


dumps = orjson.dumps  # a name of its own, not a wrapper: called for every event


def response_id_for(upstream_id: str) -> str:
    """The Responses id a client sees for a canonical stream whose MessageStart carried ``upstream_id``."""
    if not upstream_id:
        return output.new_id("resp_")
    if upstream_id.startswith("resp_"):
        return upstream_id
    return "resp_" + _ID_UNSAFE.sub("_", upstream_id)


# ---------------------------------------------------------------- response: canonical -> client


def encode_response(response: Response, request: Request) -> dict[str, Any]:
    head = output.response_head(
        request, response_id_for(response.id), response.model or request.model, response.created or int(time.time())
    )
    status = "incomplete" if response.stop_reason in output.INCOMPLETE_REASONS else "completed"
    items = output.output_items(response.content, status, request.tool_origins())
    return output.finished_response(head, items, response.usage, response.stop_reason)


def _error_code(error: LipError) -> str:
    if isinstance(error, UpstreamStatusError) and error.error_type in ERROR_CODE_STATUS:
        return str(error.error_type)
    return "rate_limit_exceeded" if error.status == 429 else "server_error"


def _error_event(error: LipError) -> dict[str, Any]:
    return {"code": _error_code(error), "message": error.message, "param": getattr(error, "param", None)}


class _OpenItem:
    """The message or reasoning item being streamed."""

    __slots__ = ("index", "item_id", "kind", "pieces", "text_where")

    def __init__(self, kind: str, index: int) -> None:
        self.kind = kind
        self.index = index
        self.item_id = output.new_item_id("msg_" if kind == "message" else "rs_")
        self.pieces: list[str] = []  # joined once, when the item is done (a growing str would be copied per delta)
        self.text_where = b""  # the item's part of its output_text.delta frames, once built

    @property
    def text(self) -> str:
        return "".join(self.pieces)


TEXT_DELTA_HEAD = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":'
TEXT_DELTA_TAIL = b',"logprobs":[]}\n\n'


def _text_where(item: _OpenItem) -> bytes:
    index = str(item.index).encode()
    item.text_where = (
        b',"item_id":' + dumps(item.item_id) + b',"output_index":' + index + b',"content_index":0,"delta":'
    )
    return item.text_where


class _Call:
    """One tool call: streamed live when it is the active output item, buffered while another one is."""

    __slots__ = ("args", "call_id", "ended", "index", "item_id", "kind", "name", "origin")

    def __init__(self, call_id: str, name: str, kind: str, origin: ToolOrigin | None) -> None:
        self.call_id, self.name, self.kind, self.origin = call_id, name, kind, origin
        self.args = ""
        self.ended = False
        self.index = -1
        self.item_id = output.new_item_id("ctc_" if kind == "custom" else "fc_")

    def item(self, status: str) -> dict[str, Any]:
        args = self.args if status == "completed" else ""
        return output.call_item(self.item_id, self.call_id, self.name, args, self.kind, status, self.origin)


class ResponsesStreamEncoder:
    """Canonical events -> Responses SSE: typed events, strictly increasing ``sequence_number`` from 0, output items
    opened and closed one at a time, and a final response object that repeats every finished item."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.origins = request.tool_origins()
        self.response_id = ""
        self.usage = Usage()
        self._head: dict[str, Any] = {}
        self._seq = 0
        self._output: list[dict[str, Any] | None] = []  # by output_index; None while the item is open
        self._open: _OpenItem | None = None
        self._calls: dict[int, _Call] = {}
        self._active: int | None = None  # the tool call whose item is open
        self._queue: deque[int] = deque()  # tool calls waiting for the active one to end
        self._finished = False

    def _frame(self, kind: str, payload: dict[str, Any]) -> bytes:
        frame = encode(dumps({"type": kind, "sequence_number": self._seq, **payload}), event=kind)
        self._seq += 1
        return frame

    def encode(self, event: Event) -> bytes:
        if type(event) is TextDelta and event.text and self._head and not self._finished:
            item = self._open  # the commonest event: more text for the open message item
            if item is not None and item.kind == "message":
                item.pieces.append(event.text)
                return self._text_frame(item, event.text)
        if self._finished:
            return b""
        match event:
            case MessageStart(id=id_, model=model, created=created):
                return self._start(id_, model, created)
            case Usage():
                self.usage = merge_usage(self.usage, event)
                return b""
            case StreamError(error=error):
                return self._fail(error)
        out = b"" if self._head else self._start("", "", 0)
        match event:
            case TextDelta(text=text):
                out += self._delta("message", text)
            case ReasoningDelta(text=text):
                out += self._delta("reasoning", text)
            case ReasoningEnd(signature=sig, encrypted=enc, redacted=red):
                out += self._reasoning_end(output.opaque_payload(sig, enc, red))
            case ToolCallStart(index=index, id=id_, name=name, kind=kind):
                out += self._call_start(index, _Call(id_, name, kind, self.origins.get(name)))
            case ToolCallDelta(index=index, arguments=args):
                out += self._call_delta(index, args)
            case ToolCallEnd(index=index):
                out += self._call_end(index)
            case MessageEnd(stop_reason=reason):
                out += self._end(reason)
        return out

    def finish(self) -> bytes:
        return b""

    # ---- lifecycle

    def _start(self, upstream_id: str, model: str, created: int) -> bytes:
        if self._head:
            return b""
        self.response_id = response_id_for(upstream_id)
        model = model or self.request.model
        self._head = output.response_head(self.request, self.response_id, model, created or int(time.time()))
        return self._frame("response.created", {"response": self._head}) + self._frame(
            "response.in_progress", {"response": self._head}
        )

    def _done_output(self) -> list[dict[str, Any]]:
        return [item for item in self._output if item is not None]

    def _end(self, reason: StopReason) -> bytes:
        status = "incomplete" if reason in output.INCOMPLETE_REASONS else "completed"
        out = self._close(status) + self._flush_calls()
        body = output.finished_response(self._head, self._done_output(), self.usage, reason)
        self._finished = True
        kind = "response.completed" if body["status"] == "completed" else "response.incomplete"
        return out + self._frame(kind, {"response": body})

    def _fail(self, error: LipError) -> bytes:
        self._finished = True
        if not self._head:
            return self._frame("error", _error_event(error))
        body = {
            **self._head,
            "status": "failed",
            "error": {"code": _error_code(error), "message": error.message},
            "output": self._done_output(),
            "usage": output.usage_body(self.usage) if self.usage != Usage() else None,
        }
        return self._frame("response.failed", {"response": body})

    # ---- message and reasoning items

    def _new_index(self) -> int:
        self._output.append(None)
        return len(self._output) - 1

    def _delta(self, kind: str, text: str) -> bytes:
        if not text:
            return b""
        out = b""
        if self._open is None or self._open.kind != kind:
            out = self._close("completed") + self._open_item(kind)
        item = self._open
        assert item is not None
        item.pieces.append(text)
        if kind == "message":
            return out + self._text_frame(item, text)
        where = {"item_id": item.item_id, "output_index": item.index}
        return out + self._frame("response.reasoning_summary_text.delta", {**where, "summary_index": 0, "delta": text})

    def _text_frame(self, item: _OpenItem, text: str) -> bytes:
        """The commonest frame, from a byte template (what _frame would write)."""
        seq, self._seq = self._seq, self._seq + 1
        part = item.text_where or _text_where(item)
        return TEXT_DELTA_HEAD + str(seq).encode() + part + dumps(text) + TEXT_DELTA_TAIL

    def _open_item(self, kind: str) -> bytes:
        item = self._open = _OpenItem(kind, self._new_index())
        where = {"item_id": item.item_id, "output_index": item.index}
        if kind == "message":
            added = {"id": item.item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
            part = {**where, "content_index": 0, "part": output.output_text_part("")}
            return self._added(item.index, added) + self._frame("response.content_part.added", part)
        added = {"id": item.item_id, "type": "reasoning", "summary": []}
        part = {**where, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}
        return self._added(item.index, added) + self._frame("response.reasoning_summary_part.added", part)

    def _close(self, status: str, payload: str | None = None) -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        where = {"item_id": item.item_id, "output_index": item.index}
        if item.kind == "message":
            part = output.output_text_part(item.text)
            at = {**where, "content_index": 0}
            out = self._frame("response.output_text.done", {**at, "text": item.text, "logprobs": []})
            out += self._frame("response.content_part.done", {**at, "part": part})
            return out + self._item_done(item.index, output.message_item(item.item_id, item.text, status))
        summary = {**where, "summary_index": 0}
        out = self._frame("response.reasoning_summary_text.done", {**summary, "text": item.text})
        out += self._frame("response.reasoning_summary_part.done", {**summary, "part": _summary_part(item.text)})
        return out + self._item_done(item.index, output.reasoning_item(item.item_id, item.text, payload))

    def _reasoning_end(self, payload: str | None) -> bytes:
        if self._open is not None and self._open.kind == "reasoning":
            return self._close("completed", payload)
        out = self._close("completed")
        if payload:  # reasoning with nothing to show, only its proof (redacted thinking, encrypted-only)
            index, item_id = self._new_index(), output.new_item_id("rs_")
            out += self._added(index, {"id": item_id, "type": "reasoning", "summary": []})
            out += self._item_done(index, output.reasoning_item(item_id, "", payload))
        return out

    def _added(self, index: int, item: dict[str, Any]) -> bytes:
        return self._frame("response.output_item.added", {"output_index": index, "item": item})

    def _item_done(self, index: int, item: dict[str, Any]) -> bytes:
        self._output[index] = item
        return self._frame("response.output_item.done", {"output_index": index, "item": item})

    # ---- tool call items

    def _call_start(self, index: int, call: _Call) -> bytes:
        out = self._close("completed")
        self._calls[index] = call
        if self._active is None and not self._queue:
            self._active = index
            return out + self._call_added(call)
        self._queue.append(index)
        return out

    def _call_delta(self, index: int, args: str) -> bytes:
        call = self._calls.get(index)
        if call is None or not args:
            return b""
        call.args += args
        if index != self._active:
            return b""
        return self._call_args(call, args)

    def _call_end(self, index: int) -> bytes:
        call = self._calls.get(index)
        if call is None:
            return b""
        call.ended = True
        if index != self._active:
            return b""
        self._active = None
        return self._call_done(call) + self._drain()

    def _drain(self) -> bytes:
        out = b""
        while self._active is None and self._queue:
            index = self._queue.popleft()
            call = self._calls[index]
            out += self._call_added(call)
            if call.args:
                out += self._call_args(call, call.args)
            if call.ended:
                out += self._call_done(call)
            else:
                self._active = index
        return out

    def _call_args(self, call: _Call, args: str) -> bytes:
        kind = "custom_tool_call_input" if call.kind == "custom" else "function_call_arguments"
        return self._frame(
            f"response.{kind}.delta", {"item_id": call.item_id, "output_index": call.index, "delta": args}
        )

    def _call_added(self, call: _Call) -> bytes:
        call.index = self._new_index()
        return self._added(call.index, call.item("in_progress"))

    def _call_done(self, call: _Call) -> bytes:
        where = {"item_id": call.item_id, "output_index": call.index}
        if call.kind == "custom":
            out = self._frame("response.custom_tool_call_input.done", {**where, "input": call.args})
        else:
            out = self._frame("response.function_call_arguments.done", {**where, "arguments": call.args})
        return out + self._item_done(call.index, call.item("completed"))

    def _flush_calls(self) -> bytes:
        """At the end of the message every tool call gets its item finished, even one the upstream left open."""
        out = b""
        while self._active is not None:
            active, self._active = self._calls[self._active], None
            out += self._call_done(active) + self._drain()
        return out


def _summary_part(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}
