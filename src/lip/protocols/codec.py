"""What every wire-protocol codec provides, in both directions (frontend side and backend side)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lip.canonical.collect import Response
from lip.canonical.events import Event
from lip.canonical.request import Request
from lip.errors import LipError
from lip.protocols.sse import SSEEvent


class StreamEncoder(Protocol):
    """Canonical events -> the client's SSE bytes (frontend side). One per response; holds the stream state."""

    def encode(self, event: Event) -> bytes: ...

    def finish(self) -> bytes:
        """Bytes that close the stream once the events are exhausted (e.g. ``data: [DONE]``)."""
        ...


class StreamDecoder(Protocol):
    """The upstream's SSE events -> canonical events (backend side). One per upstream response."""

    def feed(self, sse: SSEEvent) -> list[Event]: ...

    def finish(self) -> list[Event]:
        """The upstream stream ended: emit what is still due (e.g. a normalised MessageEnd)."""
        ...


class Codec(Protocol):
    """One wire protocol, both directions. Frontends and backends of that protocol share it."""

    name: str

    # frontend side: client request in, client response out
    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        """Cheap: model, stream flags and the raw body only; enough to route and to pass through."""
        ...

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request: ...

    def stream_encoder(self, request: Request) -> StreamEncoder: ...

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]: ...

    def error_body(self, error: LipError) -> dict[str, Any]: ...

    def error_frame(self, error: LipError) -> bytes:
        """A mid-stream error in this protocol's SSE shape."""
        ...

    # backend side: canonical request out, upstream response in
    def encode_request(self, request: Request, model: str) -> dict[str, Any]: ...

    def stream_decoder(self, request: Request) -> StreamDecoder: ...

    def decode_response(self, body: Any, request: Request) -> list[Event]: ...

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        """(message, error type) from an upstream error body of this protocol; tolerant of any shape."""
        ...

    # passthrough: same protocol on both sides
    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]: ...
