"""Collect a canonical event stream into a Response, and check a stream against the grammar.

Grammar (``check_sequence``)::

    stream    := MessageStart block* Usage* (MessageEnd Usage* | StreamError)
    block     := TextDelta | ReasoningDelta* ReasoningEnd | ToolCallStart ToolCallDelta* ToolCallEnd
                 (tool-call blocks with distinct indices may interleave; a ReasoningDelta run may also end
                 without ReasoningEnd when the next block starts)

Usage may appear anywhere after MessageStart; later Usage events overwrite earlier non-zero fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from lip.canonical.events import (
    SEQUENCE_ERROR,
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
from lip.canonical.request import Reasoning, Text, ToolCall
from lip.errors import LipError


@dataclass(slots=True)
class Response:
    id: str = ""
    model: str = ""
    created: int = 0
    content: list[Text | Reasoning | ToolCall] = field(default_factory=list)
    stop_reason: StopReason = StopReason.END_TURN
    stop_sequence: str | None = None
    usage: Usage = field(default_factory=Usage)


class SequenceError(ValueError):
    """A canonical stream broke the grammar."""


def merge_usage(old: Usage, new: Usage) -> Usage:
    """Later non-zero counts win; providers report input early and output late."""
    return Usage(
        input_tokens=new.input_tokens or old.input_tokens,
        output_tokens=new.output_tokens or old.output_tokens,
        cached_tokens=new.cached_tokens or old.cached_tokens,
        reasoning_tokens=new.reasoning_tokens or old.reasoning_tokens,
        cache_creation_tokens=new.cache_creation_tokens or old.cache_creation_tokens,
    )


class Collector:
    """A pure accumulator: feed events one by one, read ``response`` at the end.

    Text, reasoning and tool-argument pieces are kept in lists and joined when ``response`` is read: appending to a
    string attribute copies it each time, which is quadratic in a long answer.
    """

    def __init__(self) -> None:
        self._response = Response()
        self.error: LipError | None = None
        self.ended = False  # MessageEnd went by
        self.repairs: list[str] = []  # the kinds of the Repair events that went by, and SEQUENCE_ERROR
        self._started = False
        self._open: set[int] = set()  # tool calls started and not ended
        self._tools: dict[int, int] = {}  # tool index -> position in content
        self._open_reasoning = -1  # position of the reasoning block that deltas extend, or -1
        self._open_text = -1  # position of the text block that deltas extend, or -1
        self._pieces: dict[int, list[str]] = {}  # position in content -> its pieces so far

    @property
    def response(self) -> Response:
        content = self._response.content
        for at, pieces in self._pieces.items():
            block = content[at]
            if isinstance(block, ToolCall):
                block.arguments = "".join(pieces)
            else:
                block.text = "".join(pieces)
        return self._response

    def _append(self, block: Text | Reasoning | ToolCall, first: str | None = None) -> int:
        content = self._response.content
        content.append(block)
        at = len(content) - 1
        if first is not None:
            self._pieces[at] = [first]
        return at

    def feed(self, event: Event) -> None:
        r = self._response
        match event:
            case TextDelta(text=text):
                self._open_reasoning = -1
                if self._open_text >= 0 and self._open_text == len(r.content) - 1:
                    self._pieces[self._open_text].append(text)
                else:
                    self._open_text = self._append(Text(""), text)
            case MessageStart(id=id_, model=model, created=created):
                if self._started or self.ended:
                    self.repairs.append(SEQUENCE_ERROR)
                self._started = True
                r.id, r.model, r.created = id_, model, created
            case ReasoningDelta(text=text):
                if self._open_reasoning < 0:
                    self._open_reasoning = self._append(Reasoning(), "")
                self._pieces[self._open_reasoning].append(text)
            case ReasoningEnd(signature=sig, encrypted=enc, redacted=red, id=rid):
                at = self._open_reasoning if self._open_reasoning >= 0 else self._append(Reasoning())
                block = r.content[at]
                assert isinstance(block, Reasoning)
                block.signature, block.encrypted, block.redacted, block.id = sig, enc, red, rid
                self._open_reasoning = -1
            case ToolCallStart(index=index, id=id_, name=name, kind=kind):
                if index in self._tools or self.ended:
                    self.repairs.append(SEQUENCE_ERROR)
                self._open.add(index)
                self._open_reasoning = -1
                call = ToolCall(id=id_, name=name, arguments="", kind="custom" if kind == "custom" else "function")
                self._tools[index] = self._append(call, "")
            case ToolCallDelta(index=index, arguments=args):
                try:
                    self._pieces[self._tools[index]].append(args)
                except KeyError:  # a delta for a call that never started: dropped
                    self.repairs.append(SEQUENCE_ERROR)
            case ToolCallEnd(index=index):
                if index not in self._open:
                    self.repairs.append(SEQUENCE_ERROR)
                self._open.discard(index)
            case Usage():
                r.usage = merge_usage(r.usage, event)
            case MessageEnd(stop_reason=reason, stop_sequence=seq):
                if self._open or self.ended or not self._started:
                    self.repairs.append(SEQUENCE_ERROR)
                r.stop_reason, r.stop_sequence = reason, seq
                self.ended = True
            case StreamError(error=err):
                self.error = err
            case Repair(kind=kind):
                self.repairs.append(kind)


def collect(events: Iterable[Event]) -> Response:
    """Build the non-streaming answer from a stream; raise the stream's error if it ended in one."""
    collector = Collector()
    for event in events:
        collector.feed(event)
    if collector.error is not None:
        raise collector.error
    return collector.response


def check_sequence(events: Iterable[Event]) -> None:
    """Raise SequenceError where ``events`` break the stream grammar in this module's docstring."""
    started = ended = False
    open_tools: set[int] = set()
    seen_tools: set[int] = set()
    for position, event in enumerate(events):
        if isinstance(event, Repair):
            continue  # a note beside the stream, allowed anywhere
        where = f"event {position} ({type(event).__name__})"
        if ended and not isinstance(event, Usage):
            raise SequenceError(f"{where} after the end of the stream")
        if not started and not isinstance(event, MessageStart):
            raise SequenceError(f"{where} before MessageStart")
        match event:
            case MessageStart():
                if started:
                    raise SequenceError(f"{where}: a second MessageStart")
                started = True
            case ToolCallStart(index=index):
                if index in seen_tools:
                    raise SequenceError(f"{where}: tool call index {index} started twice")
                open_tools.add(index)
                seen_tools.add(index)
            case ToolCallDelta(index=index):
                if index not in open_tools:
                    raise SequenceError(f"{where}: delta for tool call {index} that is not open")
            case ToolCallEnd(index=index):
                if index not in open_tools:
                    raise SequenceError(f"{where}: end of tool call {index} that is not open")
                open_tools.discard(index)
            case MessageEnd() | StreamError():
                if open_tools and isinstance(event, MessageEnd):
                    raise SequenceError(f"{where}: tool calls {sorted(open_tools)} still open")
                ended = True
            case _:
                pass
    if started and not ended:
        raise SequenceError("stream ended without MessageEnd or StreamError")


def with_stop_reason(response: Response, reason: StopReason) -> Response:
    return replace(response, stop_reason=reason)
