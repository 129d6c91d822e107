"""OpenAI Responses codec: request decode/encode, typed event stream <-> canonical events, previous_response_id.

Mapping decisions (see docs/protocol-mapping.md; item-level ones are in ``responses_items``):

- Towards a Responses backend lip keeps the state itself: ``store: false`` always, the conversation sent whole,
  never ``previous_response_id``. ``include: ["reasoning.encrypted_content"]`` is asked for only when reasoning
  is in play (an effort or budget, or encrypted reasoning in the history): non-reasoning models reject it.
  Reasoning without ``encrypted_content`` (Anthropic thinking, Chat reasoning text) is dropped with a debug log.
- ``system`` -> ``instructions``; a mid-conversation system/developer message -> a ``message`` item keeping its
  role. Tools in Responses shape; an unset ``strict`` is sent as ``false`` (the API's default is true, which
  rejects ordinary schemas) unless the client spoke Responses itself. Stop sequences and ``seed`` do not exist in
  Responses: dropped with a debug log; ``n > 1`` is a 400. ``max_output_tokens`` below the API's minimum (16) is
  raised to 16. A thinking budget without an effort maps to an effort: < 4096 low, < 16384 medium, else high.
  ``user`` goes up only when it fits the API's 64 characters; ``metadata`` only when it fits 16 string pairs.
- Same protocol (a Responses client on a Responses backend with passthrough off): top-level fields the canonical
  model does not hold (``prompt_cache_key``, ``safety_identifier``, ``service_tier``, ``truncation``,
  ``client_metadata``, ...) and ``tools``/``tool_choice``/``reasoning``/``text`` come from the raw body verbatim, so
  built-in tools and ``text.verbosity`` survive; towards other protocols they are dropped, named in one debug line
  per request (``HELD_KEYS``, ``HELD_INSIDE``).
- Towards a Responses client: ``response.created``, ``response.in_progress``, then one output item per block, each
  closed before the next opens (tool calls that interleave are buffered and emitted one after another), then
  ``response.completed``, or ``response.incomplete`` with ``incomplete_details.reason`` max_output_tokens or
  content_filter. A mid-stream error is one ``response.failed`` carrying ``response.error {code, message}``; an
  error before ``response.created`` is an ``error`` event. Reasoning becomes one summary part; its opaque proof
  (encrypted content, Anthropic signature or redacted data) rides in ``encrypted_content``, always.
- Response ids: an upstream ``resp_...`` id is kept; any other upstream id ``X`` becomes ``resp_X``
  (``response_id_for``), so the stream encoder, ``encode_response`` and the store agree without sharing state.
- From a Responses backend: a reasoning item's summary parts are joined with a blank line; a completed response
  whose items were not streamed (or only partly) is emitted from ``response.output``; function or custom tool calls
  make the stop reason TOOL_USE, ``incomplete`` makes it MAX_TOKENS or CONTENT_FILTER; ``response.failed`` and
  ``error`` become a StreamError, and a stream without a terminal event an UpstreamProtocolError.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
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
from lip.canonical.request import Message, Params, Reasoning, Request, ToolOrigin
from lip.errors import InvalidRequest, LipError, UpstreamProtocolError, UpstreamStatusError
from lip.protocols import fields, responses_tools
from lip.protocols import responses_items as items
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.openai_chat import ERROR_CODE_STATUS, effort_for_budget, error_body, upstream_error
from lip.protocols.sse import DONE_DATA, SSEEvent, encode, loads_data
from lip.response_store import StoredConversation

NAME = "openai_responses"
log = logging.getLogger(__name__)

MIN_OUTPUT_TOKENS = 16
ENCRYPTED_REASONING = "reasoning.encrypted_content"
# Top-level fields lip sets itself on a same-protocol translation; every other raw field is carried verbatim.
LIP_OWNED = frozenset(
    {"model", "input", "instructions", "stream", "store", "include", "previous_response_id", "conversation"}
)
# Fields of a Responses body that the canonical model holds (or lip honours itself); the rest, and the parts of
# ``reasoning`` and ``text`` other than these, have no equivalent in the other protocols.
HELD_KEYS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "temperature",
        "top_p",
        "reasoning",
        "text",
        "user",
        "safety_identifier",
        "metadata",
        "previous_response_id",
        "store",
        "background",
    }
)
HELD_INSIDE = {"reasoning": frozenset({"effort"}), "text": frozenset({"format"})}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def response_id_for(upstream_id: str) -> str:
    """The Responses id a client sees for a canonical stream whose MessageStart carried ``upstream_id``."""
    if not upstream_id:
        return items.new_id("resp_")
    if upstream_id.startswith("resp_"):
        return upstream_id
    return "resp_" + _ID_UNSAFE.sub("_", upstream_id)


class OpenAIResponsesCodec:
    name = NAME

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        body = fields.body_object(body)
        model = fields.model_field(body)
        fields.required(body, "input", (str, list))
        stream = bool(fields.optional(body, "stream", bool))
        return Request(model=model, messages=[], stream=stream, include_usage=True, protocol=NAME, raw=body)

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        request = self.decode_head(body, headers)
        raw = request.raw
        _reject_unsupported(raw)
        request.system, request.messages = items.decode_input(raw["input"], raw.get("instructions"))
        request.tools = responses_tools.declared_tools(raw)
        request.tool_choice = items.decode_tool_choice(raw.get("tool_choice"), raw.get("parallel_tool_calls"))
        request.params = _params(raw)
        request.metadata = fields.optional(raw, "metadata", dict)
        request.unmodelled = fields.unmodelled(raw, HELD_KEYS, HELD_INSIDE)
        return request

    def stream_encoder(self, request: Request) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(request)

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encode_response(response, request)

    def error_body(self, error: LipError) -> dict[str, Any]:
        return error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        """An ``error`` event, for a failure outside an encoder's stream (its sequence number is 0)."""
        return encode(dumps({"type": "error", "sequence_number": 0, **_error_event(error)}), event="error")

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model)

    def stream_decoder(self, request: Request) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder(request.model)

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_response(body, request.model)

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {**body, "model": model}


# ---------------------------------------------------------------- request: client -> canonical


def _reject_unsupported(raw: dict[str, Any]) -> None:
    for key, why in (
        ("conversation", "lip keeps conversations by previous_response_id only"),
        ("prompt", "lip has no prompt templates; send the input itself"),
    ):
        if raw.get(key) is not None:
            raise InvalidRequest(f"'{key}' is not supported: {why}", param=key)
    if raw.get("background") is True:
        raise InvalidRequest("'background' responses are not supported by lip", param="background")


def _params(raw: dict[str, Any]) -> Params:
    reasoning = fields.optional(raw, "reasoning", dict) or {}
    user = fields.optional(raw, "user", str) or fields.optional(raw, "safety_identifier", str)
    return Params(
        max_tokens=fields.optional(raw, "max_output_tokens", int),
        temperature=fields.optional(raw, "temperature", float),
        top_p=fields.optional(raw, "top_p", float),
        reasoning_effort=fields.optional(reasoning, "effort", str, "reasoning.effort"),
        response_format=items.decode_text_format(raw.get("text")),
        user=user,
    )


# ---------------------------------------------------------------- previous_response_id


def previous_response_id(request: Request) -> str | None:
    value = request.raw.get("previous_response_id")
    return fields.expect(value, str, "previous_response_id") if value is not None else None


def previous_response_not_found(response_id: str) -> InvalidRequest:
    error = InvalidRequest(f"Previous response with id '{response_id}' not found.", param="previous_response_id")
    error.code = "previous_response_not_found"
    return error


def should_store(request: Request) -> bool:
    return request.raw.get("store") is not False


def _instruction_count(request: Request) -> int:
    """How many leading system parts came from ``instructions`` (decode_input makes it one, when non-empty)."""
    instructions = request.raw.get("instructions")
    return 1 if isinstance(instructions, str) and instructions and request.system else 0


def prepend_previous(request: Request, stored: StoredConversation) -> Request:
    """Put the stored conversation before the new input, as OpenAI does: earlier ``instructions`` do not carry
    over, earlier system/developer input does. Stored messages are copied, never mutated."""
    count = _instruction_count(request)
    instructions, leading = request.system[:count], request.system[count:]
    history = [Message(role=m.role, content=list(m.content)) for m in stored.messages]
    if leading:
        history.append(Message(role="system", content=list(leading)))
    request.system = [*instructions, *stored.system]
    request.messages = history + request.messages
    return request


def conversation_to_store(request: Request, response: Response) -> StoredConversation:
    """The conversation a later ``previous_response_id`` resumes: this request's turns and the answer."""
    messages = list(request.messages)
    if response.content:
        messages.append(Message(role="assistant", content=list(response.content)))
    return StoredConversation(system=list(request.system[_instruction_count(request) :]), messages=messages)


# ---------------------------------------------------------------- request: canonical -> upstream


def _has_encrypted_reasoning(request: Request) -> bool:
    return any(isinstance(p, Reasoning) and p.encrypted for m in request.messages for p in m.content)


def _fits_metadata(metadata: dict[str, Any]) -> bool:
    return len(metadata) <= 16 and all(
        isinstance(v, str) and len(k) <= 64 and len(v) <= 512 for k, v in metadata.items()
    )


def _translated(request: Request, body: dict[str, Any], effort: str | None) -> None:
    """Fields a request from another protocol contributes (a same-protocol request has them raw)."""
    if request.tools:
        body["tools"] = items.encode_tools(request.tools, same_protocol=False)
    choice = request.tool_choice
    if choice is not None:
        if request.tools or choice.mode == "none":
            body["tool_choice"] = items.encode_tool_choice(choice, request.tools)
        if choice.parallel is not None and request.tools:
            body["parallel_tool_calls"] = choice.parallel
    if effort:
        body["reasoning"] = {"effort": effort}
    if request.params.response_format:
        body["text"] = {"format": items.encode_text_format(request.params.response_format)}
    user = request.params.user
    if user and len(user) <= 64:
        body["user"] = user
    elif user:
        log.debug("dropping 'user': longer than the 64 characters Responses takes")
    if request.metadata and _fits_metadata(request.metadata):
        body["metadata"] = request.metadata
    elif request.metadata:
        log.debug("dropping metadata: Responses takes at most 16 string pairs")


def _same_protocol(request: Request, body: dict[str, Any], effort: str | None) -> None:
    raw = request.raw
    body.update({k: v for k, v in raw.items() if k not in LIP_OWNED})
    if request.tools and not raw.get("tools") and not responses_tools.additional_items(raw.get("input")):
        body["tools"] = items.encode_tools(request.tools, same_protocol=True)
    if effort:
        body["reasoning"] = {**(raw.get("reasoning") or {}), "effort": effort}
    if request.params.response_format and not (raw.get("text") or {}).get("format"):
        body["text"] = {**(raw.get("text") or {}), "format": items.encode_text_format(request.params.response_format)}


def _include(request: Request, effort: str | None, same: bool) -> list[str]:
    include: list[str] = []
    if same:
        include = [v for v in request.raw.get("include") or () if isinstance(v, str)]
    wanted = effort is not None or _has_encrypted_reasoning(request)
    if wanted and ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    return include


def encode_request(request: Request, model: str) -> dict[str, Any]:
    fields.log_dropped(log, request, NAME)
    p = request.params
    if p.n is not None and p.n > 1:
        raise InvalidRequest("'n' greater than 1 is not supported by a Responses backend", param="n")
    if p.stop:
        log.debug("dropping stop sequences: Responses has none")
    if p.seed is not None:
        log.debug("dropping seed: Responses has none")
    same = request.protocol == NAME
    effort = p.reasoning_effort or effort_for_budget(p.reasoning_budget)
    body: dict[str, Any] = {"model": model}
    if request.system:
        body["instructions"] = "\n\n".join(t.text for t in request.system)
    body["input"] = items.encode_input(request)
    if same:
        _same_protocol(request, body, effort)
    else:
        _translated(request, body, effort)
    if p.max_tokens is not None:
        body["max_output_tokens"] = max(p.max_tokens, MIN_OUTPUT_TOKENS)
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.top_p is not None:
        body["top_p"] = p.top_p
    body["store"] = False
    include = _include(request, effort, same)
    if include:
        body["include"] = include
    if request.stream:
        body["stream"] = True
    return body


# ---------------------------------------------------------------- response: canonical -> client


def encode_response(response: Response, request: Request) -> dict[str, Any]:
    head = items.response_head(
        request, response_id_for(response.id), response.model or request.model, response.created or int(time.time())
    )
    status = "incomplete" if response.stop_reason in items.INCOMPLETE_REASONS else "completed"
    return items.finished_response(
        head, items.output_items(response.content, status, request.tool_origins()), response.usage, response.stop_reason
    )


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
        self.item_id = items.new_item_id("msg_" if kind == "message" else "rs_")
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
        self.item_id = items.new_item_id("ctc_" if kind == "custom" else "fc_")

    def item(self, status: str) -> dict[str, Any]:
        args = self.args if status == "completed" else ""
        return items.call_item(self.item_id, self.call_id, self.name, args, self.kind, status, self.origin)


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
                out += self._reasoning_end(items.opaque_payload(sig, enc, red))
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
        self._head = items.response_head(self.request, self.response_id, model, created or int(time.time()))
        return self._frame("response.created", {"response": self._head}) + self._frame(
            "response.in_progress", {"response": self._head}
        )

    def _done_output(self) -> list[dict[str, Any]]:
        return [item for item in self._output if item is not None]

    def _end(self, reason: StopReason) -> bytes:
        status = "incomplete" if reason in items.INCOMPLETE_REASONS else "completed"
        out = self._close(status) + self._flush_calls()
        body = items.finished_response(self._head, self._done_output(), self.usage, reason)
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
            "usage": items.usage_body(self.usage) if self.usage != Usage() else None,
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
            part = {**where, "content_index": 0, "part": items.output_text_part("")}
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
            part = items.output_text_part(item.text)
            at = {**where, "content_index": 0}
            out = self._frame("response.output_text.done", {**at, "text": item.text, "logprobs": []})
            out += self._frame("response.content_part.done", {**at, "part": part})
            return out + self._item_done(item.index, items.message_item(item.item_id, item.text, status))
        summary = {**where, "summary_index": 0}
        out = self._frame("response.reasoning_summary_text.done", {**summary, "text": item.text})
        out += self._frame("response.reasoning_summary_part.done", {**summary, "part": _summary_part(item.text)})
        return out + self._item_done(item.index, items.reasoning_item(item.item_id, item.text, payload))

    def _reasoning_end(self, payload: str | None) -> bytes:
        if self._open is not None and self._open.kind == "reasoning":
            return self._close("completed", payload)
        out = self._close("completed")
        if payload:  # reasoning with nothing to show, only its proof (redacted thinking, encrypted-only)
            index, item_id = self._new_index(), items.new_item_id("rs_")
            out += self._added(index, {"id": item_id, "type": "reasoning", "summary": []})
            out += self._item_done(index, items.reasoning_item(item_id, "", payload))
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
                id=str(response.get("id") or items.new_id("resp_")),
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
        error = items.object_of(items.object_of(response).get("error"))
        self.done = True
        return [*self._start(response), _failure(error.get("message"), error.get("code"), data)]

    def _error(self, data: dict[str, Any]) -> list[Event]:
        error = items.object_of(data.get("error")) or data
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
        call_id = str(item.get("call_id") or item.get("id") or items.new_id("call_"))
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
                events.append(items.reasoning_end_from_payload(payload, item.get("id")))
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
