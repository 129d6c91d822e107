"""The passthrough relay's light reading of a same-protocol upstream stream: did it end with its final event, what
usage did it report, which chunk carried an upstream error, and did it call tools but say it simply stopped.

Bytes are relayed untouched. Terminal markers (a final event, or an error event) are found with C-speed substring
searches per chunk, so a stream that the upstream cut short still ends with an error event in the client's
protocol instead of looking complete. Usage is read once, after the stream, from the first and last chunks kept
by reference (Anthropic reports input tokens in ``message_start`` and output tokens in ``message_delta``; the
OpenAI protocols report usage at the end), so metrics and the access log get token counts without a per-chunk
parse.

The one rewrite: an upstream that calls tools and then says ``finish_reason: "stop"`` (Chat) or
``stop_reason: "end_turn"`` (Anthropic) gets ``tool_calls`` / ``tool_use`` instead, so an agent does not stall on
a turn that asked it to run tools. Only the finish reason's bytes change; a request for several choices (``n``) is
left alone.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lip.canonical.events import Usage
from lip.protocols import openai_chat, openai_responses
from lip.protocols.anthropic_messages import UsageTally

TERMINAL_MARKERS: dict[str, tuple[bytes, ...]] = {
    "openai_chat": (b"[DONE]", b'"finish_reason":"', b'"finish_reason": "', b'{"error"'),
    "openai_responses": (b"response.completed", b"response.incomplete", b"response.failed", b"event: error"),
    "anthropic_messages": (b"message_stop", b"event: error"),
}
ERROR_MARKERS: dict[str, tuple[bytes, ...]] = {
    "openai_chat": (b'{"error"',),
    "openai_responses": (b"response.failed", b"event: error"),
    "anthropic_messages": (b"event: error",),
}
OVERLAP = 24  # longer than any marker, so one split across two chunks is still seen
HEAD_CHUNKS = 2
log = logging.getLogger(__name__)
STOP_FIXED = "the upstream called tools but said it stopped; relayed as a tool-use stop"


@dataclass(frozen=True, slots=True)
class StopFix:
    """How a protocol says "tools were called" and the plain stop to correct once they were."""

    tools_hint: bytes  # cheap substring test before the pattern
    tools: re.Pattern[bytes]
    stop_hint: bytes
    stop: re.Pattern[bytes]
    replacement: bytes


STOP_FIXES: dict[str, StopFix] = {
    "openai_chat": StopFix(
        b'"tool_calls"',
        re.compile(rb'"tool_calls"\s*:\s*\[\s*\{'),
        b'"stop"',
        re.compile(rb'("finish_reason"\s*:\s*)"stop"'),
        rb'\1"tool_calls"',
    ),
    "anthropic_messages": StopFix(
        b"tool_use",
        re.compile(rb'"type"\s*:\s*"tool_use"'),
        b'"end_turn"',
        re.compile(rb'("stop_reason"\s*:\s*)"end_turn"'),
        rb'\1"tool_use"',
    ),
}
_USAGE_KEY = b'"usage"'
USAGE_WINDOW = 2048  # a usage object is a few hundred bytes; a longer one is not read
_decoder = json.JSONDecoder()


class RelayWatch:
    """Feed every relayed chunk and write what ``feed`` returns; ``complete`` tells whether a terminal marker went
    by, ``usage()`` what the stream reported."""

    __slots__ = ("_fix", "_head", "_last", "_markers", "_prev", "_protocol", "_redact", "_tail", "_tools", "complete")

    def __init__(self, protocol: str, redact: Callable[[bytes], bytes] | None = None, *, fix_stop: bool = True) -> None:
        self._protocol = protocol
        self._redact = redact
        self._fix = STOP_FIXES.get(protocol) if fix_stop else None
        self._tools = False
        self._markers = TERMINAL_MARKERS.get(protocol, ())
        self.complete = not self._markers
        self._tail = b""
        self._head: list[bytes] = []
        self._prev = self._last = b""

    def feed(self, chunk: bytes) -> bytes:
        """Note ``chunk``; returns it as it is to be relayed (redacted when it carries an upstream error event)."""
        if len(self._head) < HEAD_CHUNKS:
            self._head.append(chunk)
        else:
            self._prev, self._last = self._last, chunk
        if not self.complete:
            seam = self._tail + chunk[:OVERLAP]  # a marker split across the previous chunks and this one
            for marker in self._markers:
                if marker in chunk or marker in seam:
                    self.complete = True
                    break
            self._tail = (self._tail + chunk[-OVERLAP:])[-OVERLAP:]
        if self.complete and self._redact is not None and b"error" in chunk and carries_error(self._protocol, chunk):
            return self._redact(chunk)
        fix = self._fix
        if fix is not None:
            if not self._tools and fix.tools_hint in chunk and fix.tools.search(chunk):
                self._tools = True
            if self._tools and fix.stop_hint in chunk:
                fixed = fix.stop.sub(fix.replacement, chunk)
                if fixed != chunk:
                    log.debug(STOP_FIXED)
                return fixed
        return chunk

    def usage(self) -> tuple[Usage | None, bool]:
        """The usage the stream reported, read from its first and last chunks (None when it reported none), and
        whether a reported value was not a count and was dropped (``lip.protocols.counts``)."""
        return relayed_usage(self._protocol, (b"".join(self._head), self._prev + self._last))


def carries_error(protocol: str, chunk: bytes) -> bool:
    """Whether ``chunk`` holds an upstream error event (whose message may quote a key, so it is worth redacting)."""
    return any(m in chunk for m in ERROR_MARKERS.get(protocol, ()))


def relayed_usage(protocol: str, segments: Iterable[bytes]) -> tuple[Usage | None, bool]:
    """The usage reported in ``segments`` (whole bodies or runs of consecutive stream chunks) of ``protocol``.

    Anthropic's reports add up (later fields overwrite earlier ones); for the OpenAI protocols the last report wins.
    With it: whether a reported value was dropped.
    """
    return _usage_of(protocol, [obj for segment in segments for obj in _usage_objects(segment)])


def fix_body_stop(protocol: str, body: Any) -> bool:
    """Correct a whole relayed body that calls tools but says it simply stopped; whether anything changed."""
    if not isinstance(body, dict):
        return False
    changed = False
    if protocol == "openai_chat" and isinstance(body.get("choices"), list) and len(body["choices"]) == 1:
        choice = body["choices"][0]
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and message.get("tool_calls") and choice.get("finish_reason") == "stop":
            choice["finish_reason"], changed = "tool_calls", True
    elif protocol == "anthropic_messages" and body.get("stop_reason") == "end_turn":
        blocks = body.get("content")
        if isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in blocks):
            body["stop_reason"], changed = "tool_use", True
    if changed:
        log.debug(STOP_FIXED)
    return changed


def body_usage(protocol: str, body: Any) -> tuple[Usage | None, bool]:
    """The usage of a whole relayed JSON body, already parsed, and whether a reported value was dropped."""
    usage = body.get("usage") if isinstance(body, dict) else None
    return _usage_of(protocol, [usage] if isinstance(usage, dict) else [])


def _usage_of(protocol: str, found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    if not found:
        return None, False
    if protocol == "anthropic_messages":
        tally = UsageTally()
        usage = None
        for obj in found:
            usage = tally.update(obj) or usage
        return usage, tally.counts.dropped
    parse = _PARSERS.get(protocol)
    return parse(found[-1]) if parse else (None, False)


_PARSERS: dict[str, Callable[[Any], tuple[Usage, bool]]] = {
    "openai_chat": openai_chat.usage_from,
    "openai_responses": openai_responses.usage_from,
}


def _usage_objects(segment: bytes) -> list[dict[str, Any]]:
    """Every ``"usage": {...}`` object in ``segment`` that parses; a key inside a JSON string is escaped
    (``\\"usage\\"``), so it does not match. Only a short window after each key is decoded."""
    found: list[dict[str, Any]] = []
    at = segment.find(_USAGE_KEY)
    while at >= 0:
        window = segment[at + len(_USAGE_KEY) : at + len(_USAGE_KEY) + USAGE_WINDOW].decode("utf-8", "replace")
        start = _value_start(window)
        if start is not None:
            try:
                obj, _ = _decoder.raw_decode(window, start)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                found.append(obj)
        at = segment.find(_USAGE_KEY, at + len(_USAGE_KEY))
    return found


def _value_start(text: str) -> int | None:
    """Where the object after ``"usage"`` (the start of ``text``) + optional spaces + ``:`` + optional spaces
    begins, if it is one."""
    at, n = 0, len(text)
    while at < n and text[at] in " \t":
        at += 1
    if at >= n or text[at] != ":":
        return None
    at += 1
    while at < n and text[at] in " \t":
        at += 1
    return at if at < n and text[at] == "{" else None
