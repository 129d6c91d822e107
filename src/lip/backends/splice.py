"""A relayed stream's body handed to the client at the transport level: no task switch per chunk.

Once a same-protocol stream's first chunk is out, the upstream connection's protocol is wrapped: every time its
socket delivers data, aiohttp's own protocol parses it as before (status, chunked framing, the pool's bookkeeping),
and the wrapper takes the decoded bytes out of the response's buffer at once and hands them to a ``Sink`` (the
client's side: the relay's light reader, then the client's transport), still inside the same callback. The relay's
coroutine only waits for the end, and wakes early only when the client's buffer is full: reading from the upstream
pauses (``transport.pause_reading``) until the client has drained, so a slow client holds at most a transport
buffer, never an unbounded queue.

Every deadline stays the watchdog's (``lip.backends.upstream``): each delivered chunk touches it, and when it fires
it closes the response, which ends the splice with the phase's UpstreamTimeout. A cancelled relay (the client left,
the drain timeout) puts aiohttp's protocol back before the caller closes the upstream response. At the body's end
aiohttp returns the connection to its pool inside the same callback; the wrapper puts the protocol back before the
callback returns, so the pooled connection is aiohttp's own again before anyone can take it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp

from lip.backends.base import Sink
from lip.backends.upstream import UpstreamCall, UpstreamErrors, Watchdog, WatchdogCut
from lip.errors import UpstreamProtocolError

PAUSED = "paused"  # the sink is full: reading is paused until it drains
ENDED = "ended"


class _Pipe(asyncio.Protocol):
    """The upstream transport's protocol during a splice: aiohttp's protocol first, then the sink."""

    __slots__ = ("client_error", "content", "done", "error", "inner", "sink", "transport", "waiter", "watchdog")

    def __init__(self, inner: Any, content: aiohttp.StreamReader, sink: Sink, watchdog: Watchdog) -> None:
        self.inner = inner  # aiohttp's ResponseHandler
        self.transport: asyncio.Transport = inner.transport
        self.content = content
        self.sink = sink
        self.watchdog = watchdog
        self.waiter: asyncio.Future[str] | None = None
        self.done = False
        self.error: BaseException | None = None  # the upstream's (mapped by the caller)
        self.client_error: BaseException | None = None  # the sink's: the client went away

    # ---- asyncio.Protocol: aiohttp's protocol sees everything first

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)
        self._pump()

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)
        self._pump()
        if not self.done:  # aiohttp saw a whole body and no error, yet the connection is gone
            self._end(error=aiohttp.ServerDisconnectedError())

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # ---- the splice

    def _pump(self) -> None:
        """Hand what aiohttp decoded to the sink; end at the body's end or at an error."""
        if self.done:
            return
        content = self.content
        try:
            chunk = content.read_nowait(-1)  # raises the payload's error (a broken stream, a closed response)
        except Exception as exc:
            self._end(error=exc)
            return
        if chunk:
            self.watchdog.touch()
            try:
                room = self.sink.deliver(chunk)
            except Exception as exc:
                self._end(client_error=exc)
                return
            if not room and not content.is_eof():
                self.transport.pause_reading()
                self._wake(PAUSED)
        if content.is_eof():
            self._end()

    def _end(self, *, error: BaseException | None = None, client_error: BaseException | None = None) -> None:
        self.done = True
        self.error, self.client_error = error, client_error
        self.detach()
        self._wake(ENDED)

    def _wake(self, outcome: str) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    def detach(self) -> None:
        """aiohttp's protocol back on the transport (at the body's end the connection is already in the pool)."""
        if self.transport.get_protocol() is self:
            self.transport.set_protocol(self.inner)


async def splice(call: UpstreamCall, sink: Sink) -> None:
    """Relay the rest of ``call``'s body to ``sink`` from the upstream connection's own callbacks; returns at the
    body's end. Upstream failures raise lip's upstream errors (a fired watchdog: its phase's UpstreamTimeout); the
    sink's own errors (the client went away) raise as they are."""
    content = call.response.content
    watchdog = call.watchdog
    assert watchdog is not None, "splice follows first_chunk, which starts the watchdog"
    with UpstreamErrors(call.what), WatchdogCut(call, watchdog):
        buffered = content.read_nowait(-1)  # what came with or after the first chunk
    if buffered:
        watchdog.touch()
        if not sink.deliver(buffered):
            await sink.drained()
    if content.is_eof():
        return
    connection = call.response.connection
    inner = connection.protocol if connection is not None else None
    if inner is None or inner.transport is None or inner.transport.is_closing():
        with UpstreamErrors(call.what), WatchdogCut(call, watchdog):
            content.read_nowait(-1)  # the response was closed: its error
        raise UpstreamProtocolError(f"{call.what}: the upstream connection closed mid-stream")
    pipe = _Pipe(inner, content, sink, watchdog)
    _unbounded(content)
    pipe.transport.set_protocol(pipe)
    loop = asyncio.get_running_loop()
    try:
        while not pipe.done:
            pipe.waiter = loop.create_future()
            if await pipe.waiter == PAUSED:
                await sink.drained()
                if not pipe.done:
                    pipe.transport.resume_reading()
    finally:
        pipe.detach()
    if pipe.client_error is not None:
        raise pipe.client_error
    if pipe.error is not None:
        with UpstreamErrors(call.what), WatchdogCut(call, watchdog):
            raise pipe.error


def _unbounded(content: aiohttp.StreamReader) -> None:
    """Turn off the reader's own flow control (private attributes of aiohttp's StreamReader): the pipe takes every
    chunk out as soon as it is parsed, so the buffer never grows, and reading pauses by the pipe's rule (the
    client's buffer) alone. Left on, every take would call the protocol's ``resume_reading`` (a re-entrant parse
    of nothing and a transport call, on every chunk), and a pause of aiohttp's own, after one read larger than its
    high-water mark, would wait for a resume that only its reader's coroutine gives."""
    content._low_water = 0  # never "below low water": no resume_reading per take
    content._high_water = content._high_water_chunks = sys.maxsize  # never "above high water": no pause of its own
