"""Gemini generateContent, upstream side: ``alt=sse`` chunks and whole responses -> canonical events, usage, errors.

Every chunk is a whole ``GenerateContentResponse`` holding the parts generated since the last one; lip reads the
first candidate only (as it reads Chat's first choice). Gemini sends each function call whole, in one part, with no
id: lip mints one (``wire.mint_call_id``) that also carries the part's thought signature. Gemini says ``STOP`` when
it calls tools; that is its way, not a fault, so the tool-use stop it becomes is no repair. A prompt Gemini blocks
(``promptFeedback.blockReason``) or a candidate stopped for safety, recitation, a blocklist, ... ends as
CONTENT_FILTER, never as an empty success.
"""

from __future__ import annotations

import logging
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
from lip.protocols.gemini import wire
from lip.protocols.sse import SSEEvent, loads_data

log = logging.getLogger("lip.protocols.gemini")

FINISH_TO_STOP = {
    "STOP": StopReason.END_TURN,
    "MAX_TOKENS": StopReason.MAX_TOKENS,
    "SAFETY": StopReason.CONTENT_FILTER,
    "RECITATION": StopReason.CONTENT_FILTER,
    "LANGUAGE": StopReason.CONTENT_FILTER,
    "BLOCKLIST": StopReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "SPII": StopReason.CONTENT_FILTER,
    "IMAGE_SAFETY": StopReason.CONTENT_FILTER,
    "IMAGE_PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "IMAGE_RECITATION": StopReason.CONTENT_FILTER,
    "MODEL_ARMOR": StopReason.CONTENT_FILTER,
    "ESCALATION": StopReason.CONTENT_FILTER,
    "PUP_LIMITED_DISABLED": StopReason.CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": StopReason.ERROR,
    "UNEXPECTED_TOOL_CALL": StopReason.ERROR,
    "TOO_MANY_TOOL_CALLS": StopReason.ERROR,
    "MISSING_THOUGHT_SIGNATURE": StopReason.ERROR,
    "MALFORMED_RESPONSE": StopReason.ERROR,
    "CONTINUATION": StopReason.MAX_TOKENS,
}
# google.rpc status -> HTTP status, for errors that come in a stream or in a 200 body
STATUS_CODES = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def usage_from(raw: Any) -> tuple[Usage, bool]:
    """``usageMetadata`` as canonical usage, and whether a value was not a count (``lip.protocols.counts``).

    Gemini counts thoughts apart from the answer (``candidatesTokenCount`` excludes ``thoughtsTokenCount``) and the
    prompt with its cached part (``cachedContentTokenCount`` is within ``promptTokenCount``); canonical output
    holds both, and tool-use prompt tokens (a server-side tool's results) are input."""
    raw, counts = _obj(raw), Counts()
    thoughts = counts.of(raw, "thoughtsTokenCount")
    usage = Usage(
        input_tokens=counts.of(raw, "promptTokenCount") + counts.of(raw, "toolUsePromptTokenCount"),
        output_tokens=counts.of(raw, "candidatesTokenCount") + thoughts,
        cached_tokens=counts.of(raw, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )
    return usage, counts.dropped


def error_status(error: dict[str, Any], default: int) -> int:
    """The HTTP status of a Google error object: its integer ``code``, else its ``status`` text."""
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return code
    return STATUS_CODES.get(str(error.get("status")), default)


def upstream_error(status: int, body: Any) -> tuple[str, str | None]:
    """(message, google.rpc status) from ``{"error": {"code", "message", "status"}}`` (or the one-element array a
    JSON-array stream fails with), tolerant of any shape."""
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return (text.strip()[:500] or f"the upstream answered HTTP {status}"), None
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message, kind = error.get("message"), error.get("status")
            return (str(message) if message else f"upstream error {status}", str(kind) if kind else None)
        if isinstance(error, str):
            return error, None
        if isinstance(body.get("message"), str):
            return str(body["message"]), None
    return f"the upstream answered HTTP {status}", None


class GeminiStreamDecoder:
    """Gemini chunks -> canonical events. Ends at the chunk with the first candidate's ``finishReason`` (or a
    blocked prompt); usage reported after that follows the end, as the grammar allows."""

    def __init__(self, custom_tools: frozenset[str] = frozenset()) -> None:
        self.custom_tools = custom_tools
        self.started = False
        self.done = False  # the message ended (or failed)
        self._tools = 0
        self._thinking = False  # a run of thought parts is open
        self._signature: str | None = None  # the open thought run's signature
        self._text_signature: str | None = None  # the signature of the text run so far
        self._usage: Usage | None = None
        self._seed = ""

    def feed(self, sse: SSEEvent) -> list[Event]:
        if not sse.data:
            return []
        try:
            chunk = loads_data(sse.data)
        except orjson.JSONDecodeError:
            return self._fail(UpstreamProtocolError("the upstream sent a stream chunk that is not JSON"))
        if not isinstance(chunk, dict):
            return self._fail(UpstreamProtocolError("the upstream sent a stream chunk that is not an object"))
        return self.handle(chunk)

    def handle(self, chunk: dict[str, Any]) -> list[Event]:
        if isinstance(chunk.get("error"), dict | str):
            return self._error(chunk)
        events: list[Event] = []
        if not self.started:
            self._start(chunk, events)
        if self.done:  # usage after the end (the grammar allows it); nothing else
            self._usage_event(chunk, events)
            return events
        candidate = _first_candidate(chunk)
        if candidate is not None:
            for part in _parts(candidate):
                self._part(part, events)
        self._usage_event(chunk, events)
        reason = _finish_reason(candidate)
        if reason is not None:
            self.end(FINISH_TO_STOP.get(reason, StopReason.END_TURN), events)
        else:
            blocked = wire.get(_obj(wire.get(chunk, "promptFeedback")), "blockReason")
            if blocked is not None:
                log.debug("the upstream blocked the prompt: %s", str(blocked)[:64])
                self.end(StopReason.CONTENT_FILTER, events)
        return events

    def finish(self) -> list[Event]:
        if self.done:
            return []
        if not self.started:
            return self._fail(UpstreamProtocolError("the upstream stream ended before it sent anything"))
        return self._fail(UpstreamProtocolError("the upstream stream ended before its finishReason"))

    def _fail(self, error: LipError) -> list[Event]:
        self.done = True
        return [StreamError(error)]

    def _error(self, chunk: dict[str, Any]) -> list[Event]:
        error = _obj(chunk.get("error"))
        status = error_status(error, 500)
        message, kind = upstream_error(status, chunk)
        return self._fail(UpstreamStatusError(message, upstream_status=status, body=chunk, error_type=kind))

    def _start(self, chunk: dict[str, Any], events: list[Event]) -> None:
        self.started = True
        response_id = wire.get(chunk, "responseId")
        self._seed = str(response_id) if isinstance(response_id, str) and response_id else wire.random_seed()
        model = wire.get(chunk, "modelVersion")
        events.append(MessageStart(id=self._seed, model=str(model) if isinstance(model, str) else ""))

    def _part(self, part: dict[str, Any], events: list[Event]) -> None:
        signature = wire.get(part, "thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        text = wire.get(part, "text")
        if wire.get(part, "thought") is True:
            self._close_text(events)
            self._thinking = True
            if isinstance(text, str) and text:
                events.append(ReasoningDelta(text))
            self._signature = signature or self._signature
            return
        call = wire.get(part, "functionCall")
        if isinstance(call, dict):
            self._close_thoughts(events)
            self._close_text(events)
            self._call(call, signature, events)
            return
        if not isinstance(text, str) and signature is None:
            kinds = ", ".join(sorted(k for k in part if k != "thoughtSignature")) or "empty"
            log.debug("dropping a Gemini part (%s): the canonical model has no equivalent", kinds[:128])
            return
        self._close_thoughts(events)
        if isinstance(text, str) and text:
            events.append(TextDelta(text))
        if signature is not None:  # held until the text run ends, so it never splits the text
            self._close_text(events)
            self._text_signature = signature

    def _close_thoughts(self, events: list[Event]) -> None:
        if self._thinking:
            self._thinking = False
            signature, self._signature = self._signature, None
            events.append(ReasoningEnd(encrypted=wire.wrap_signature(signature) if signature else None))

    def _close_text(self, events: list[Event]) -> None:
        """The signature of the text run that just ended, as reasoning after it (it goes back on the run's last
        part)."""
        if self._text_signature is not None:
            events.append(ReasoningEnd(encrypted=wire.wrap_signature(self._text_signature)))
            self._text_signature = None

    def _call(self, call: dict[str, Any], signature: str | None, events: list[Event]) -> None:
        index, self._tools = self._tools, self._tools + 1
        name = str(wire.get(call, "name") or "")
        given = wire.get(call, "id")
        if isinstance(given, str) and given and signature is None:
            call_id = given
        else:
            call_id = wire.mint_call_id(f"{self._seed}:{given or index}", signature)
        custom = name in self.custom_tools
        events.append(ToolCallStart(index, call_id, name, "custom" if custom else "function"))
        args = wire.get(call, "args")
        args = args if isinstance(args, dict) else {}
        wrapped = custom and isinstance(args.get("input"), str)
        arguments = str(args["input"]) if wrapped else orjson.dumps(args).decode()
        if arguments:
            events.append(ToolCallDelta(index, arguments))
        events.append(ToolCallEnd(index))

    def _usage_event(self, chunk: dict[str, Any], events: list[Event]) -> None:
        raw = wire.get(chunk, "usageMetadata")
        if not isinstance(raw, dict):
            return
        usage, dropped = usage_from(raw)
        if dropped:
            events.append(Repair(BAD_USAGE))
        if usage != self._usage:
            self._usage = usage
            events.append(usage)

    def end(self, reason: StopReason, events: list[Event]) -> None:
        """End the message with ``reason`` (tool use when calls were made and Gemini said it stopped)."""
        self._close_thoughts(events)
        self._close_text(events)
        self.done = True
        if self._tools and reason == StopReason.END_TURN:
            reason = StopReason.TOOL_USE  # Gemini's own way of saying it called tools
        events.append(MessageEnd(reason))


def _first_candidate(chunk: dict[str, Any]) -> dict[str, Any] | None:
    candidates = chunk.get("candidates")
    if not isinstance(candidates, list):
        return None
    for candidate in candidates:
        if isinstance(candidate, dict) and not candidate.get("index"):
            return candidate
    return None


def _parts(candidate: dict[str, Any]) -> list[dict[str, Any]]:
    parts = _obj(candidate.get("content")).get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _finish_reason(candidate: dict[str, Any] | None) -> str | None:
    reason = wire.get(candidate, "finishReason") if candidate is not None else None
    return reason if isinstance(reason, str) and reason and reason != "FINISH_REASON_UNSPECIFIED" else None


def decode_response(body: Any, custom_tools: frozenset[str] = frozenset()) -> list[Event]:
    """A non-streamed ``GenerateContentResponse`` as the canonical events it is the collection of."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        status = error_status(error, 500)
        message, kind = upstream_error(status, body)
        raise UpstreamStatusError(message, upstream_status=status, body=body, error_type=kind)
    if not isinstance(body, dict) or not (
        isinstance(body.get("candidates"), list) or isinstance(wire.get(body, "promptFeedback"), dict)
    ):
        raise UpstreamProtocolError("the upstream answered without 'candidates'")
    decoder = GeminiStreamDecoder(custom_tools)
    events = decoder.handle(body)
    if not decoder.done:  # a whole answer without a finishReason is still whole
        decoder.end(StopReason.END_TURN, events)
    return events
