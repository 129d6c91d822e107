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

What to look for is the protocol's (its codec's ``RelayRules``: markers, stop fix, usage field and reader); this
module names no protocol.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from lip.canonical.events import Usage
from lip.protocols.codec import RelayRules
from lip.protocols.registry import codec_of

OVERLAP = 24  # longer than any marker, so one split across two chunks is still seen
HEAD_CHUNKS = 2
log = logging.getLogger(__name__)
STOP_FIXED = "the upstream called tools but said it stopped; relayed as a tool-use stop"
USAGE_WINDOW = 2048  # a usage object is a few hundred bytes; a longer one is not read
_decoder = json.JSONDecoder()
NO_RULES = RelayRules()  # a protocol without a codec: nothing to watch for


def rules_of(protocol: str | RelayRules) -> RelayRules:
    """The relay rules of the protocol named (its codec's), or the rules given."""
    if isinstance(protocol, RelayRules):
        return protocol
    codec = codec_of(protocol)
    return codec.relay if codec is not None else NO_RULES


class RelayWatch:
    """Feed every relayed chunk and write what ``feed`` returns; ``complete`` tells whether a terminal marker went
    by, ``usage()`` what the stream reported."""

    __slots__ = (
        "_fix",
        "_head",
        "_last",
        "_markers",
        "_prev",
        "_redact",
        "_rules",
        "_tail",
        "_tools",
        "complete",
        "stop_fixed",
    )

    def __init__(
        self, protocol: str | RelayRules, redact: Callable[[bytes], bytes] | None = None, *, fix_stop: bool = True
    ) -> None:
        self._rules = rules = rules_of(protocol)
        self._redact = redact
        self._fix = rules.stop_fix if fix_stop else None
        self._tools = False
        self._markers = rules.terminal_markers
        self.complete = not self._markers
        self.stop_fixed = False  # the tool-use stop was corrected (a Repair the endpoint counts)
        self._tail = b""
        self._head: list[bytes] = []
        self._prev = self._last = b""

    def feed(self, chunk: bytes) -> bytes:
        """Note ``chunk``; returns it as it is to be relayed (redacted when it carries an upstream error event)."""
        if len(self._head) < HEAD_CHUNKS:
            self._head.append(chunk)
        else:
            self._prev, self._last = self._last, chunk
        # ``rfind`` rather than ``in``: terminal markers sit at a stream's end, where a reverse search finds them
        # at once, and CPython's reverse search of bytes is faster than ``in`` even when nothing is found
        if not self.complete:
            window = self._tail + chunk  # a marker split across the previous chunks and this one is whole here
            for marker in self._markers:
                if window.rfind(marker) >= 0:
                    self.complete = True
                    break
            self._tail = window[-OVERLAP:]
        if self.complete and self._redact is not None and chunk.rfind(b"error") >= 0 and _carries(self._rules, chunk):
            return self._redact(chunk)
        fix = self._fix
        if fix is not None:
            if not self._tools and chunk.rfind(fix.tools_hint) >= 0 and fix.tools.search(chunk):
                self._tools = True
            if self._tools and chunk.rfind(fix.stop_hint) >= 0:
                fixed = fix.stop.sub(fix.replacement, chunk)
                if fixed != chunk:
                    self.stop_fixed = True
                return fixed
        return chunk

    def usage(self) -> tuple[Usage | None, bool]:
        """The usage the stream reported, read from its first and last chunks (None when it reported none), and
        whether a reported value was not a count and was dropped (``lip.protocols.counts``)."""
        return _relayed_usage(self._rules, (b"".join(self._head), self._prev + self._last))


def carries_error(protocol: str | RelayRules, chunk: bytes) -> bool:
    """Whether ``chunk`` holds an upstream error event (whose message may quote a key, so it is worth redacting)."""
    return _carries(rules_of(protocol), chunk)


def _carries(rules: RelayRules, chunk: bytes) -> bool:
    return any(m in chunk for m in rules.error_markers)


def relayed_usage(protocol: str | RelayRules, segments: Iterable[bytes]) -> tuple[Usage | None, bool]:
    """The usage reported in ``segments`` (whole bodies or runs of consecutive stream chunks) of ``protocol``.

    Anthropic's reports add up (later fields overwrite earlier ones); for the OpenAI protocols the last report wins.
    With it: whether a reported value was dropped.
    """
    return _relayed_usage(rules_of(protocol), segments)


def _relayed_usage(rules: RelayRules, segments: Iterable[bytes]) -> tuple[Usage | None, bool]:
    key = b'"' + rules.usage_field.encode() + b'"'
    return _usage_of(rules, [obj for segment in segments for obj in _usage_objects(segment, key)])


def one_answer(protocol: str | RelayRules, body: dict[str, Any]) -> bool:
    """Whether a relayed request asked for one answer: a stop is fixed only then (with several, the chunks' finish
    reasons belong to different answers)."""
    field = rules_of(protocol).answers_field
    answers = body.get(field) if field is not None else None
    return answers is None or answers == 1


def fix_body_stop(protocol: str | RelayRules, body: Any) -> bool:
    """Correct a whole relayed body that calls tools but says it simply stopped; whether anything changed."""
    if not isinstance(body, dict):
        return False
    changed = rules_of(protocol).fix_body_stop(body)
    if changed:
        log.debug(STOP_FIXED)
    return changed


def body_usage(protocol: str | RelayRules, body: Any) -> tuple[Usage | None, bool]:
    """The usage of a whole relayed JSON body, already parsed, and whether a reported value was dropped."""
    rules = rules_of(protocol)
    usage = body.get(rules.usage_field) if isinstance(body, dict) else None
    return _usage_of(rules, [usage] if isinstance(usage, dict) else [])


def _usage_of(rules: RelayRules, found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    return rules.read_usage(found) if found else (None, False)


def _usage_objects(segment: bytes, key: bytes) -> list[dict[str, Any]]:
    """Every ``"<key>": {...}`` object in ``segment`` that parses (``key`` the usage field, quoted); a key inside a
    JSON string is escaped (``\\"usage\\"``), so it does not match. Only a short window after each key is
    decoded."""
    found: list[dict[str, Any]] = []
    at = segment.rfind(key)  # from the end (usage is reported last; see RelayWatch.feed on rfind), then in order
    while at >= 0:
        window = segment[at + len(key) : at + len(key) + USAGE_WINDOW].decode("utf-8", "replace")
        start = _value_start(window)
        if start is not None:
            try:
                obj, _ = _decoder.raw_decode(window, start)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                found.append(obj)
        at = segment.rfind(key, 0, at)
    found.reverse()
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
