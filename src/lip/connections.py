"""Client connections: a deadline for each request head, and a bound on the connections still waiting for one.

aiohttp bounds how long an idle keep-alive connection stays open (its keep-alive timeout), not how long a client may
take over a request's head: one that sends a request line and headers a byte at a time (slowloris), or connects and
sends nothing, would hold a connection and a file descriptor for as long as it liked. Here:

- a new connection must send a whole head within ``server.head_timeout_s``; on a kept-alive connection the deadline
  starts with the first byte of the next head (an idle kept-alive connection is closed by aiohttp's keep-alive
  timeout, as before);
- when it runs out, a client that sent part of a head gets a 408 in the protocol of the path its request line named
  (OpenAI's shape when it named none) and its connection is closed; one that sent nothing is closed without an answer
  (an answer it did not ask for would be read as the answer to its next request);
- at most ``server.max_pending_heads`` connections wait for a head at once: one more closes the one that has waited
  longest, once it has waited ``SETTLE_S`` (a slowloris client has; a real client's head comes at once, even in a
  burst of thousands of new connections whose heads the loop has not read yet: those are never closed).

The cost: a timer per connection (made when it opens, cancelled by its first head), and per request one counter
comparison; a head that does not arrive in one read gets a timer of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from lip.errors import RequestTimeout
from lip.protocols.registry import codec_for_path

log = logging.getLogger(__name__)
KEPT = 2048  # bytes of an unfinished head kept to name its path: a request line longer than that names none
LINGER_S = 1.0  # how long a connection closed with a 408 reads and drops what the client still sends
SETTLE_S = 1.0  # how long a connection waits for its head before the pending bound may close it


class HeadGuard:
    """The head deadline and the connections waiting for a head (oldest first) of one server."""

    __slots__ = ("limit", "pending", "timeout_s")

    def __init__(self, timeout_s: float, limit: int) -> None:
        self.timeout_s = timeout_s  # 0: no deadline
        self.limit = limit  # 0: no bound
        self.pending: dict[HeadTimedHandler, float] = {}  # -> when it started waiting (loop time)

    def wait(self, handler: HeadTimedHandler, now: float) -> None:
        """``handler``'s connection now waits for a head."""
        pending = self.pending
        if self.limit and len(pending) >= self.limit:
            oldest, since = next(iter(pending.items()))
            if now - since >= SETTLE_S:
                oldest.expire(
                    RequestTimeout(
                        f"the request head did not arrive while {self.limit} connections waited for theirs "
                        "(server.max_pending_heads); this one had waited longest"
                    )
                )
        pending[handler] = now

    def done(self, handler: HeadTimedHandler) -> None:
        self.pending.pop(handler, None)


class HeadTimedHandler(RequestHandler):
    """aiohttp's connection handler, with a deadline for each request head (see the module docstring)."""

    __slots__ = ("_guard", "_head", "_head_timer", "_waiting")

    def __init__(self, manager: HeadTimedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = manager.guard
        self._head_timer: asyncio.TimerHandle | None = None
        self._waiting = False  # for a head, since the connection opened or the head's first bytes came
        self._head = b""  # the start of a head that has not arrived whole

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._wait_for_head()

    def data_received(self, data: bytes) -> None:
        waiting = self._waiting
        waiter = self._waiter  # pending while the connection waits for its next request
        idle = not waiting and waiter is not None and not waiter.done()
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:  # a head arrived (or one aiohttp refuses with a 400)
            if waiting:
                self._head_arrived()
        elif waiting:
            if len(self._head) < KEPT:
                self._head += data[:KEPT]
        elif idle and data:  # the first bytes of the next head, and not all of it
            self._wait_for_head()
            self._head = data[:KEPT]

    def connection_lost(self, exc: BaseException | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _wait_for_head(self) -> None:
        guard = self._guard
        self._waiting = True
        if guard.timeout_s:
            self._head_timer = self._loop.call_later(guard.timeout_s, self._timed_out)
        guard.wait(self, self._loop.time())

    def _head_arrived(self) -> None:
        self._waiting = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head = b""
        self._guard.done(self)

    def _timed_out(self) -> None:
        self._head_timer = None
        timeout_s = self._guard.timeout_s
        self.expire(RequestTimeout(f"the request head did not arrive within {timeout_s:g} s (server.head_timeout_s)"))

    def expire(self, error: RequestTimeout) -> None:
        """Close the connection, answering ``error`` when the client sent part of a head."""
        head = self._head
        self._head_arrived()
        transport = self.transport
        if transport is None or self._force_close:
            return
        if not head:
            self.force_close()
            return
        log.info("closed a connection from %s: %s", _peer(self.peername), error.message)
        transport.write(answer(head, error))
        if not transport.can_write_eof():
            self.force_close()  # what was written is sent first
            return
        # The answer and a FIN now; the socket a moment later. Closed at once with the client's bytes still coming in
        # (slowloris keeps sending), the kernel would reset the connection and the client could lose the answer.
        transport.write_eof()
        self.close()  # no more requests: what still comes in is dropped
        self._loop.call_later(LINGER_S, self.force_close)


class HeadTimedServer(web.Server):
    """aiohttp's server, making ``HeadTimedHandler`` connections."""

    def __init__(self, made: web.Server, guard: HeadGuard) -> None:
        super().__init__(
            made.request_handler,
            request_factory=made.request_factory,
            handler_cancellation=made.handler_cancellation,
            loop=made._loop,
            **made._kwargs,
        )
        self.guard = guard

    def __call__(self) -> HeadTimedHandler:
        return HeadTimedHandler(self, loop=self._loop, **self._kwargs)


class HeadTimedRunner(web.AppRunner):
    """``web.AppRunner`` whose server bounds request heads (see the module docstring)."""

    __slots__ = ("_guard",)

    def __init__(self, app: web.Application, guard: HeadGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._guard = guard

    async def _make_server(self) -> web.Server:
        return HeadTimedServer(await super()._make_server(), self._guard)


def answer(head: bytes, error: RequestTimeout) -> bytes:
    """``error`` as a whole HTTP response in the protocol of the path ``head``'s request line names, if whole."""
    line, found, _ = head.partition(b"\n")
    parts = line.split(b" ")
    path = parts[1].decode("latin-1").partition("?")[0] if found and len(parts) == 3 else ""
    body = orjson.dumps(codec_for_path(path).error_body(error))
    return (
        f"HTTP/1.1 {error.status} Request Timeout\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def _peer(peer: object) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else "an unknown peer"
