"""What a test tells a fake provider to answer: one small dataclass per behaviour.

A `FakeProvider` holds a FIFO `script` of `Action`s; each generation request pops the next one (a default `Turn()`
when the script is empty).  `Turn` is a successful answer; the rest are failures and faults:

    Fail(status, body, headers)        an HTTP error, by default in the protocol's own error shape
    Stall(seconds, then)               accept the request, send nothing for `seconds`, then answer `then`
    HtmlErrorPage(status)              a proxy's HTML error page instead of JSON
    OkWithErrorBody(status, body, message)  200 whose JSON body is an error object
    Redirect(status, location)         a 3xx pointing elsewhere (calls and, as `models_behaviour`, model listing)
    NonObjectBody(payload)             200, application/json, whose body is JSON but not an object (`[1,2,3]`)
    IgnoreStream(turn)                 the whole JSON answer even when the request asked for a stream
    SSEFramedError(status, message)    an error status whose body is the provider's error event, SSE-framed
    HugeResponse(n_bytes)              a valid answer whose text is `n_bytes` long
    DisconnectAfter(n_chunks, turn)    stream `n_chunks` SSE events then abort the TCP connection
    MalformedSSE(after_chunks, line)   inject a garbage line into the stream after `after_chunks` events
    ErrorMidStream(after_chunks, ...)  the provider's own mid-stream error event after `after_chunks` events
    StallMidStream(after_chunks, s)    stream `after_chunks` events, go silent for `s` seconds, then finish

Hostile answers (what a broken or malicious upstream can send; delivered by `hostile.py`):

    HugeLine(n_bytes)                  a stream with one line of `n_bytes`; a JSON body `n_bytes` long
    Bomb(n_bytes, encoding)            the same, gzip- or deflate-compressed to a small fraction of its size
    BadUsage(value, turn)              a normal answer whose usage counts are `value` (`[1]`, -5, 1e30, "12", ...)
    OrphanDeltas(count, delay)         Anthropic: text deltas with no message_start or content_block_start

Stream faults applied to a non-streaming request behave as the closest non-stream equivalent (see `server.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Action",
    "BadUsage",
    "Bomb",
    "DisconnectAfter",
    "ErrorMidStream",
    "Fail",
    "FakeToolCall",
    "FakeUsage",
    "Finish",
    "HtmlErrorPage",
    "HugeLine",
    "HugeResponse",
    "IgnoreStream",
    "MalformedSSE",
    "NonObjectBody",
    "OkWithErrorBody",
    "OrphanDeltas",
    "Redirect",
    "SSEFramedError",
    "Stall",
    "StallMidStream",
    "StreamFault",
    "Turn",
    "neutral_finish",
]

# Protocol-neutral stop reasons; the OpenAI spellings are accepted as aliases.
Finish = Literal[
    "end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter", "stop", "length", "tool_calls"
]
_ALIASES: dict[str, str] = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


@dataclass(frozen=True, slots=True)
class FakeUsage:
    """Token counts. `input_tokens` counts every prompt token, cached ones included (OpenAI's convention);
    the Anthropic fake reports `input_tokens - cached - cache_creation` as its `input_tokens`."""

    input_tokens: int = 10
    output_tokens: int = 5
    cached: int = 0
    reasoning: int = 0
    cache_creation: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class FakeToolCall:
    """One tool call the model makes; `arguments` is JSON text streamed in `fragments` pieces."""

    name: str
    arguments: str = "{}"
    id: str | None = None
    fragments: int = 3
    namespace: str | None = None  # Responses only: the call names the tool's namespace beside its name
    custom: bool = False  # Responses only: a `custom_tool_call` whose `input` is `arguments`, raw text


@dataclass(frozen=True, slots=True)
class Turn:
    """A successful answer: optional reasoning, then text (in `chunks` deltas), then tool calls."""

    text: str = "Hello from fake"
    chunks: int = 3
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    reasoning: str | None = None
    reasoning_signature: str | None = None  # Anthropic thinking signature; a default is made up when None
    reasoning_encrypted: str | None = None  # Responses encrypted_content; a default is made up when None
    finish: Finish | None = None  # None = natural: tool_use when there are tool calls, else end_turn
    stop_sequence: str | None = None  # reported by Anthropic when finish is "stop_sequence"
    usage: FakeUsage = field(default_factory=FakeUsage)
    delay_between_chunks: float = 0.0
    omit_finish_reason: bool = False  # chat: no finish_reason; responses: no terminal event; anthropic: null stop
    chat_finish_override: str | None = None  # raw Chat finish_reason, e.g. "stop" while emitting tool calls
    omit_terminal: bool = False  # a stream without its last event: chat no [DONE], anthropic no message_stop


def neutral_finish(turn: Turn) -> str:
    """The turn's stop reason in the neutral vocabulary (end_turn, max_tokens, tool_use, ...)."""
    if turn.finish is None:
        return "tool_use" if turn.tool_calls else "end_turn"
    return _ALIASES.get(turn.finish, turn.finish)


@dataclass(frozen=True, slots=True)
class Fail:
    """Answer with an HTTP error; `body=None` renders the protocol's native error shape for `status`."""

    status: int
    body: dict[str, object] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stall:
    """Read the request, send nothing (not even headers) for `seconds`, then answer `then` (default `Turn()`)."""

    seconds: float
    then: Turn | None = None


@dataclass(frozen=True, slots=True)
class HtmlErrorPage:
    """A gateway/CDN HTML error page (content-type text/html) with `status`."""

    status: int = 502


@dataclass(frozen=True, slots=True)
class OkWithErrorBody:
    """HTTP 200 with a JSON error body (the protocol's native shape for `status`, with `message` when set, when
    `body` is None), labelled `content_type` (a server that labels every answer `text/event-stream` sends its bare
    JSON error so)."""

    status: int = 500
    body: dict[str, object] | None = None
    message: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Redirect:
    """A redirect (`status` 301, 302, 303, 307 or 308) to `location`, as a CDN or a moved host answers."""

    location: str
    status: int = 307


@dataclass(frozen=True, slots=True)
class NonObjectBody:
    """HTTP 200, application/json, whose body is valid JSON that is not an object."""

    payload: bytes = b"[1,2,3]"


@dataclass(frozen=True, slots=True)
class IgnoreStream:
    """A "compatible" server that ignores `stream: true`: the whole JSON answer of `turn`, application/json."""

    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class SSEFramedError:
    """An error status whose body is the provider's error event framed as SSE (text/event-stream): OpenAI's
    `data: {"error": {...}}`, Anthropic's `event: error` + `data: {"type": "error", ...}`."""

    status: int = 500
    message: str | None = None


@dataclass(frozen=True, slots=True)
class HugeResponse:
    """A valid answer whose text is `n_bytes` ASCII bytes long (streamed in 16 KiB deltas)."""

    n_bytes: int


@dataclass(frozen=True, slots=True)
class DisconnectAfter:
    """Stream `n_chunks` SSE events of `turn`, then abort the TCP connection (no terminating chunk)."""

    n_chunks: int
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class MalformedSSE:
    """Inject `line` (not valid JSON) after `after_chunks` events of `turn`, then keep streaming the rest."""

    after_chunks: int = 1
    line: bytes = b"data: {this is not json\n\n"
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class ErrorMidStream:
    """After `after_chunks` events, emit the provider's own mid-stream error and end the stream.

    Chat: `data: {"error": ...}` (no [DONE]); Responses: `response.failed` (or the `error` event when
    `responses_event="error"`); Anthropic: `event: error`.  `status` picks the error type (529 -> overloaded_error).
    """

    after_chunks: int = 2
    status: int = 500
    message: str | None = None
    responses_event: Literal["response.failed", "error"] = "response.failed"
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class StallMidStream:
    """Stream `after_chunks` events, send nothing for `seconds`, then finish the stream normally."""

    after_chunks: int
    seconds: float
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class HugeLine:
    """Stream: after `after_chunks` events of `turn`, an SSE comment line of `n_bytes` spaces (sent in 64 KiB
    pieces), then the rest of the stream. JSON: the answer after `n_bytes` of leading whitespace (still valid JSON)."""

    n_bytes: int
    after_chunks: int = 1
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class Bomb:
    """`HugeLine`'s answer compressed (`Content-Encoding: gzip` or `deflate`): ~1,000 times smaller on the wire."""

    n_bytes: int
    encoding: Literal["gzip", "deflate"] = "gzip"
    after_chunks: int = 1
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class BadUsage:
    """`turn` answered normally, but its input and output token counts are `value` in the usage object(s)."""

    value: object
    turn: Turn = field(default_factory=Turn)


@dataclass(frozen=True, slots=True)
class OrphanDeltas:
    """Anthropic only: `count` text `content_block_delta` events, `delay` seconds apart, with no `content_block_start`
    (and no `message_start`, unless `started`); then (when `finish`) `message_delta` and `message_stop`."""

    count: int = 3
    delay: float = 0.0
    finish: bool = True
    started: bool = False


StreamFault = DisconnectAfter | MalformedSSE | ErrorMidStream | StallMidStream
Hostile = HugeLine | Bomb | BadUsage | OrphanDeltas
Action = (
    Turn
    | Fail
    | Stall
    | HtmlErrorPage
    | OkWithErrorBody
    | Redirect
    | NonObjectBody
    | IgnoreStream
    | SSEFramedError
    | HugeResponse
    | StreamFault
    | Hostile
)
