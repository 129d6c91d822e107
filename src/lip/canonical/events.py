"""Canonical stream events: one small dataclass per kind, and the Event union.

Events are values: nothing changes one after it is made. The per-chunk kinds (TextDelta, ReasoningDelta,
ToolCallDelta) are not declared frozen only because a frozen dataclass costs about three times as much to construct.

A stream is ``MessageStart`` then any content events, optional ``Usage`` and ``MessageEnd`` (or ``StreamError``).
``Repair`` may stand anywhere: it is not content but a note that a decoder changed or dropped something the upstream
sent to keep the stream valid; the endpoint counts it and no encoder sees it.
Content is a sequence of blocks: text, reasoning and tool calls; ``index`` is the tool call's position among the
tool calls of this message (0, 1, ...), stable from ``ToolCallStart`` to ``ToolCallEnd``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lip.errors import LipError


class StopReason(StrEnum):
    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    TOOL_USE = "tool_use"
    STOP_SEQUENCE = "stop_sequence"
    CONTENT_FILTER = "content_filter"
    REFUSAL = "refusal"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class MessageStart:
    id: str
    model: str
    created: int = 0


@dataclass(slots=True)  # not frozen: made per chunk (see the module docstring)
class TextDelta:
    text: str


@dataclass(slots=True)  # not frozen: made per chunk (see the module docstring)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningEnd:
    """Closes a reasoning block; carries the opaque proof that lets a client send it back."""

    signature: str | None = None
    encrypted: str | None = None
    redacted: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    index: int
    id: str
    name: str
    kind: str = "function"  # "function" | "custom"


@dataclass(slots=True)  # not frozen: made per chunk (see the module docstring)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallEnd:
    index: int


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_tokens: int = 0


@dataclass(frozen=True, slots=True)
class MessageEnd:
    stop_reason: StopReason
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class Repair:
    """A decoder repaired the upstream's answer (``kind``: a stable snake_case name such as ``orphan_delta``).

    Counted in ``lip_stream_repairs_total{kind, backend}`` and logged at warning once per request; never encoded.
    """

    kind: str


# The Repair kinds every decoder shares (a decoder may name others, e.g. ``orphan_delta``):
STOP_REWRITTEN = "stop_rewritten"  # tools were called but the upstream said it simply stopped: a tool-use stop
FINISH_SUPPLIED = "finish_supplied"  # the stream ended after its stop but without its terminal event: supplied
SEQUENCE_ERROR = "sequence_error"  # the events broke the stream grammar above (counted; see collect.Collector)


@dataclass(frozen=True, slots=True)
class StreamError:
    """The upstream failed after the stream began; the client gets a protocol-shaped error event."""

    error: LipError


Event = (
    MessageStart
    | TextDelta
    | ReasoningDelta
    | ReasoningEnd
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Usage
    | MessageEnd
    | StreamError
    | Repair
)
