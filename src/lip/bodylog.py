"""The body log (``logging.log_bodies``): one ``lip.bodies`` record per generation request, with the body the client
sent and the body lip returned, each cut to ``logging.log_bodies_max_bytes``, every key lip holds redacted.

Off (the default) it costs one check per request: ``BodyLog.when_on`` answers None and nothing else runs, no stream
chunk is looked at. On, a streamed answer is recorded as it is written to the client (``RecordingStream``): the bytes
the client received, keep-alive comments and error events included. Only the first bytes of a body are kept (the cap
plus a margin, so that a key the cap cuts through is still whole when it is redacted); the rest is only counted.
Headers are never recorded.

``logging.trace_streams`` (off by default) puts what translation saw in the same record: the upstream's bytes as
they arrived (``upstream_body``, every attempt's, through ``TRACE``, which ``lip.backends.upstream`` reads once per
upstream call) and the canonical events between them and the client's bytes (``events``, one line each), each cut
to the same cap and redacted the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from aiohttp import web

from lip.canonical.events import Event
from lip.config.models import LoggingConfig
from lip.credentials import Secret, redact
from lip.protocols.codec import StreamFraming

body_log = logging.getLogger("lip.bodies")
MARGIN = 4096  # bytes kept past the cap: longer than any key, so no key is cut before it is redacted


class BodyLog:
    """One request's bodies: the first bytes of each (cap + margin) and each one's full size."""

    __slots__ = (
        "cap",
        "events",
        "events_size",
        "request",
        "request_size",
        "response",
        "response_size",
        "trace",
        "upstream",
        "upstream_size",
    )

    def __init__(self, cap: int, trace: bool = False) -> None:
        self.cap = cap
        self.request = b""
        self.request_size = 0
        self.response = bytearray()
        self.response_size = 0
        self.trace = trace  # logging.trace_streams: the upstream's bytes and the canonical events too
        self.upstream = bytearray()
        self.upstream_size = 0
        self.events = bytearray()
        self.events_size = 0

    @classmethod
    def when_on(cls, config: LoggingConfig) -> BodyLog | None:
        """A body log for one request when ``log_bodies`` is on and ``lip.bodies`` logs at info, else None."""
        if (config.log_bodies or config.trace_streams) and body_log.isEnabledFor(logging.INFO):
            return cls(config.log_bodies_max_bytes, config.trace_streams)
        return None

    def received(self, raw: bytes) -> None:
        """The request body, as the client sent it."""
        self.request, self.request_size = raw[: self.cap + MARGIN], len(raw)

    def sent(self, chunk: bytes | bytearray | memoryview) -> None:
        """Bytes of the response body, in the order the client got them."""
        room = self.cap + MARGIN - len(self.response)
        if room > 0:
            self.response += chunk[:room]
        self.response_size += len(chunk)

    def from_upstream(self, chunk: bytes) -> None:
        """Bytes of the upstream's answer, as they arrived (``trace_streams``)."""
        room = self.cap + MARGIN - len(self.upstream)
        if room > 0:
            self.upstream += chunk[:room]
        self.upstream_size += len(chunk)

    def translated(self, batch: Sequence[Event]) -> None:
        """Canonical events the decoder made, one line each (``trace_streams``)."""
        for event in batch:
            line = f"{event!r}\n".encode()
            room = self.cap + MARGIN - len(self.events)
            if room > 0:
                self.events += line[:room]
            self.events_size += len(line)

    def fields(self, secrets: Iterable[Secret]) -> dict[str, Any]:
        """The record's body fields: sizes, then each body as text, redacted and cut to the cap."""
        keys = list(secrets)
        fields: dict[str, Any] = {
            "request_bytes": self.request_size,
            "response_bytes": self.response_size,
            "request_body": _shown(bytes(self.request), self.request_size, self.cap, keys),
            "response_body": _shown(bytes(self.response), self.response_size, self.cap, keys),
        }
        if self.trace:
            fields["upstream_bytes"] = self.upstream_size
            fields["upstream_body"] = _shown(bytes(self.upstream), self.upstream_size, self.cap, keys)
            fields["events"] = _shown(bytes(self.events), self.events_size, self.cap, keys)
        return fields


TRACE: ContextVar[BodyLog | None] = ContextVar("lip.trace", default=None)  # the request's log with trace on


async def traced(chunks: AsyncGenerator[bytes], trace: BodyLog) -> AsyncIterator[bytes]:
    """``chunks``, each handed to ``trace`` as it goes by."""
    try:
        async for chunk in chunks:
            trace.from_upstream(chunk)
            yield chunk
    finally:
        await chunks.aclose()


def _shown(kept: bytes, size: int, cap: int, secrets: list[Secret]) -> str:
    text = redact(kept.decode("utf-8", "replace"), secrets)
    if size <= cap:
        return text
    return text.encode()[:cap].decode("utf-8", "ignore") + f"...[{size - cap} bytes cut]"


class RecordingStream(web.StreamResponse):
    """A streamed answer that hands every chunk it wrote to a body log."""

    def __init__(self, headers: Mapping[str, str], bodies: BodyLog) -> None:
        super().__init__(status=200, headers=headers)
        self._bodies = bodies

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        await super().write(data)
        self._bodies.sent(data)


class FramedStream(web.StreamResponse):
    """A streamed answer re-framed on its way out (``StreamFraming``: e.g. SSE as Google's JSON array), handed to a
    body log as sent when one is set."""

    def __init__(self, headers: Mapping[str, str], framing: StreamFraming, bodies: BodyLog | None) -> None:
        super().__init__(status=200, headers={**headers, "Content-Type": framing.content_type})
        self._framing = framing
        self._bodies = bodies
        self._closed = False

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        framed = self._framing.feed(bytes(data))
        if framed:
            await self._send(framed)

    async def write_eof(self, data: bytes = b"") -> None:
        if not self._closed:  # aiohttp calls it again once the handler returned
            self._closed = True
            if data:
                await self.write(data)
            await self._send(self._framing.finish())
        await super().write_eof()

    async def _send(self, data: bytes) -> None:
        await super().write(data)
        if self._bodies is not None:
            self._bodies.sent(data)


def stream_response(
    headers: Mapping[str, str], bodies: BodyLog | None, framing: StreamFraming | None = None
) -> web.StreamResponse:
    """A 200 SSE response (re-framed when ``framing`` is set): recording when ``bodies`` is set, else aiohttp's
    own."""
    if framing is not None:
        return FramedStream(headers, framing, bodies)
    return RecordingStream(headers, bodies) if bodies is not None else web.StreamResponse(status=200, headers=headers)


def returned(response: web.StreamResponse, bodies: BodyLog | None) -> web.StreamResponse:
    """``response`` unchanged; a whole (non-streamed) body, errors included, is recorded first."""
    if bodies is not None and isinstance(response, web.Response) and isinstance(response.body, bytes):
        bodies.sent(response.body)
    return response
