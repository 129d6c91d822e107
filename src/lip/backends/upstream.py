"""One upstream HTTP call: headers, timeout phases, status -> error class; aiohttp errors are mapped here only.

Timeouts (``config.timeouts`` of a backend row; 0 disables a phase): ``connect_s`` is aiohttp's socket-connect
timeout; ``first_byte_s`` is one deadline, fixed when the request is sent, for the response headers and the first
body chunk together; ``idle_s`` bounds each gap between chunks after that and ``total_s`` the whole exchange. Once
the headers are in, the first-byte, idle and total deadlines are enforced by one watchdog timer per response that
closes it, so the per-chunk cost is one timestamp (and the first chunk needs no ``asyncio.timeout`` of its own).

A translated stream counts events, not bytes (``first_chunk(hold=True)``): bytes that decode to no event (comments,
deltas of a block that never started) neither end the first-byte phase nor an idle gap; the backend says when an
event came (``UpstreamCall.answered``). An idle gap that only such bytes filled ends the stream with a protocol error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from lip.bodylog import TRACE, traced
from lip.config.models import Timeouts
from lip.errors import (
    LipError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from lip.protocols.sse import SSEDecoder, loads_data

MAX_ERROR_BODY = 256 * 1024
MAX_RESPONSE_BODY = 64 * 1024 * 1024
INFINITY = float("inf")


@functools.lru_cache(maxsize=64)
def client_timeout(connect_s: float) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for a connect limit (the other phases are lip's own deadlines); made once per value."""
    return aiohttp.ClientTimeout(total=None, sock_connect=connect_s or None, connect=None)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def parse_body(raw: bytes) -> Any:
    """An upstream error body: its JSON; else the first JSON object of an SSE-framed body (some compatible servers
    send their errors as ``data: {"error": ...}`` events); else its text, whole (the backend keeps a redacted
    excerpt: cutting it first could leave half a key that redaction no longer recognises)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    framed = _framed_object(raw) if b"data:" in raw else None
    return framed if framed is not None else raw.decode("utf-8", "replace")


def _framed_object(raw: bytes) -> dict[str, Any] | None:
    decoder = SSEDecoder()
    for event in decoder.feed(raw) + decoder.flush():
        try:
            data = loads_data(event.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    return None


class UpstreamErrors:
    """Translate aiohttp/asyncio failures into lip's upstream errors; the one place that names aiohttp errors.

    ``timed_out`` says which phase a TimeoutError means where this is used: a message, or a callable that makes it
    (only when a timeout happened). A class rather than a generator context manager: it wraps every upstream call.
    """

    __slots__ = ("timed_out", "what")

    def __init__(self, what: str, timed_out: str | Callable[[], str] = "timed out") -> None:
        self.what = what
        self.timed_out = timed_out

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None and not isinstance(exc, LipError):
            error = self._mapped(exc)
            if error is not None:
                raise error from exc

    def _mapped(self, exc: BaseException) -> LipError | None:
        what = self.what
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return UpstreamTimeout(f"{what}: connecting to the upstream timed out (config.timeouts.connect_s)")
        if isinstance(exc, TimeoutError):
            timed_out = self.timed_out if isinstance(self.timed_out, str) else self.timed_out()
            return UpstreamTimeout(f"{what}: {timed_out}")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return UpstreamUnreachable(f"{what}: cannot connect to the upstream ({exc.os_error.strerror or 'refused'})")
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return UpstreamUnreachable(f"{what}: the upstream closed the connection")
        if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
            return UpstreamProtocolError(f"{what}: the upstream sent a broken response")
        if isinstance(exc, aiohttp.ClientError | ConnectionError | OSError):
            return UpstreamUnreachable(f"{what}: connection to the upstream failed")
        return None


@dataclass(frozen=True, slots=True)
class Deadlines:
    """One exchange's absolute deadlines (event-loop time), fixed when the request is sent."""

    first_byte: float  # headers and the first body chunk
    total: float
    timeouts: Timeouts

    @classmethod
    def start(cls, timeouts: Timeouts) -> Deadlines:
        now = asyncio.get_running_loop().time()
        first = now + timeouts.first_byte_s if timeouts.first_byte_s else INFINITY
        total = now + timeouts.total_s if timeouts.total_s else INFINITY
        return cls(min(first, total), total, timeouts)

    def first_byte_at(self) -> float | None:
        return None if self.first_byte == INFINITY else self.first_byte

    def first_byte_message(self) -> str:
        if self.first_byte == self.total:
            return f"no answer within {self.timeouts.total_s:g} s (config.timeouts.total_s)"
        return f"no first byte within {self.timeouts.first_byte_s:g} s (config.timeouts.first_byte_s)"

    def stream_message(self, fired: str) -> str:
        if fired == "idle":
            return f"the upstream sent nothing for {self.timeouts.idle_s:g} s mid-answer (config.timeouts.idle_s)"
        if fired == "no_event":
            return (
                f"the upstream sent nothing that makes an event for {self.timeouts.idle_s:g} s mid-answer, only bytes "
                "lip cannot use, such as deltas of a block it never started (config.timeouts.idle_s)"
            )
        return f"the answer took longer than {self.timeouts.total_s:g} s (config.timeouts.total_s)"


class Watchdog:
    """Closes a response that has not sent its first chunk by ``first_byte``, then one idle too long or past its
    total deadline; ``fired`` names the phase that ran out ("first_byte", "idle", "no_event" or "total")."""

    __slots__ = (
        "_by_events",
        "_first_byte",
        "_handle",
        "_idle",
        "_loop",
        "_response",
        "_seen",
        "deadline",
        "fired",
        "last",
    )

    def __init__(self, response: aiohttp.ClientResponse, idle: float, deadline: float, first_byte: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._response = response
        self._idle = idle
        self._first_byte: float | None = first_byte  # None once the first chunk (or event) came
        self._by_events = False  # set by ``hold``: only ``answered`` is progress, chunks are not
        self._seen = False  # by events: a chunk came since the last event
        now = self._loop.time()
        self.last = now
        self.deadline = deadline
        self.fired: str | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._schedule(now)

    def _due(self, now: float) -> float:
        idle = self._idle
        if self._first_byte is not None:  # waking by now + idle too, the first chunk never needs a new timer
            return min(self._first_byte, now + idle) if idle > 0 else self._first_byte
        return min(self.last + idle if idle > 0 else INFINITY, self.deadline)

    def _schedule(self, now: float) -> None:
        due = self._due(now)
        if due != INFINITY:
            self._handle = self._loop.call_at(max(due, now), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if self._first_byte is not None:
            if now >= self._first_byte:  # already the sooner of first byte and total (``Deadlines``)
                self.fired = "first_byte"
        elif now >= self.deadline:
            self.fired = "total"
        elif self._idle > 0 and now >= self.last + self._idle:
            self.fired = "no_event" if self._seen else "idle"
        if self.fired:
            self._response.close()
        else:
            self._schedule(now)

    def touch(self) -> None:
        """A chunk came: the idle gap starts again, and after the first one the idle and total deadlines apply (the
        timer already set is due no later than they are). Counting events (``hold``), a chunk is only noted."""
        if self._by_events:
            self._seen = True
            return
        self._first_byte = None
        self.last = self._loop.time()

    def hold(self) -> None:
        """Chunks no longer end the first-byte phase or an idle gap; ``answered`` does (a translated stream's bytes
        that decode to no event, such as comments or orphan deltas, are not an answer)."""
        self._by_events = True

    def answered(self) -> None:
        """An event came: the first-byte phase is over, and the idle gap starts again."""
        self._first_byte = None
        self._seen = False
        self.last = self._loop.time()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


@dataclass(slots=True)
class UpstreamCall:
    """An open upstream response with status 2xx."""

    response: aiohttp.ClientResponse
    deadlines: Deadlines
    what: str
    watchdog: Watchdog | None = None

    @property
    def content_type(self) -> str:
        return self.response.headers.get("Content-Type", "application/json")

    async def read_body(self) -> bytes:
        """The whole body, bounded by a size cap and by the watchdog: the first chunk by the first-byte deadline,
        each later gap by the idle one, all of it by the total one (as for a stream)."""
        watchdog = self._watch()
        chunks: list[bytes] = []
        size = 0
        try:
            with UpstreamErrors(self.what), WatchdogCut(self, watchdog):
                async for chunk in self.response.content.iter_any():
                    watchdog.touch()
                    size += len(chunk)
                    if size > MAX_RESPONSE_BODY:
                        # freed now: the error's traceback holds this frame, and with lip.heap's tuned collector
                        # the cycle it makes may live for many requests
                        chunks.clear()
                        del chunk
                        raise UpstreamProtocolError(f"{self.what}: the upstream response is larger than 64 MiB")
                    chunks.append(chunk)
        finally:
            watchdog.cancel()
        body = b"".join(chunks)
        if (trace := TRACE.get()) is not None:
            trace.from_upstream(body)
        return body

    async def first_chunk(self, hold: bool = False) -> tuple[bytes, AsyncIterator[bytes]]:
        """The first body chunk (by the first-byte deadline, which also covered the headers) and the rest. With
        ``hold``, the first-byte deadline goes on until ``answered`` (see ``Watchdog.hold``)."""
        chunks = self.response.content.iter_any()
        watchdog = self._watch()
        if hold:
            watchdog.hold()
        try:
            with UpstreamErrors(self.what), WatchdogCut(self, watchdog):
                try:
                    first = await anext(chunks)
                except StopAsyncIteration:
                    first = b""
        except BaseException:
            watchdog.cancel()
            raise
        watchdog.touch()
        if (trace := TRACE.get()) is not None:
            trace.from_upstream(first)
            return first, traced(self._rest(chunks, watchdog), trace)
        return first, self._rest(chunks, watchdog)

    def _watch(self) -> Watchdog:
        """The response's watchdog, from now: first byte, then idle gaps, and the total deadline."""
        deadlines = self.deadlines
        self.watchdog = Watchdog(self.response, deadlines.timeouts.idle_s, deadlines.total, deadlines.first_byte)
        return self.watchdog

    def answered(self) -> None:
        """An event came, for a call whose first chunk was ``hold``: the first-byte phase is over (the first time)
        and the idle gap starts again."""
        if self.watchdog is not None:
            self.watchdog.answered()

    def timed_out(self, fired: str) -> UpstreamError:
        deadlines = self.deadlines
        if fired == "no_event":  # bytes came, but nothing that makes an event: not silence, a broken stream
            return UpstreamProtocolError(f"{self.what}: {deadlines.stream_message(fired)}")
        message = deadlines.first_byte_message() if fired == "first_byte" else deadlines.stream_message(fired)
        return UpstreamTimeout(f"{self.what}: {message}")

    async def _rest(self, chunks: AsyncIterator[bytes], watchdog: Watchdog) -> AsyncGenerator[bytes]:
        try:
            with UpstreamErrors(self.what), WatchdogCut(self, watchdog):
                async for chunk in chunks:
                    watchdog.touch()
                    yield chunk
        finally:
            watchdog.cancel()

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.response.close()

    def release(self) -> None:
        self.response.release()


def bare_json(first: bytes) -> bool:
    """Whether a body labelled SSE whose first chunk is ``first`` is a bare JSON object (an upstream's error, or a
    whole answer): no SSE stream begins with ``{``, a line no SSE field starts with."""
    head = first[:1]
    if head.isspace():
        head = first.lstrip()[:1]
    return head == b"{"


async def read_rest(first: bytes, rest: AsyncIterator[bytes], what: str) -> bytes:
    """The whole body of a response whose first chunk was read already, bounded like ``UpstreamCall.read_body``."""
    chunks = [first]
    size = len(first)
    async for chunk in rest:
        size += len(chunk)
        if size > MAX_RESPONSE_BODY:
            chunks.clear()  # freed now, as in ``read_body``
            del chunk
            raise UpstreamProtocolError(f"{what}: the upstream response is larger than 64 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


class WatchdogCut:
    """Around reads the watchdog may cut short: once it fired, the read's end or its connection error becomes the
    UpstreamTimeout of the phase that ran out."""

    __slots__ = ("call", "watchdog")

    def __init__(self, call: UpstreamCall, watchdog: Watchdog) -> None:
        self.call = call
        self.watchdog = watchdog

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        fired = self.watchdog.fired
        if fired and (exc is None or isinstance(exc, aiohttp.ClientError | ConnectionError)):
            raise self.call.timed_out(fired) from exc


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    what: str,
) -> UpstreamCall:
    """POST and wait for the status line and headers; a non-2xx status raises (see ``raise_for_status``).

    The connect timeout bounds the TCP (and TLS) connect; the first-byte deadline starts now and covers the headers
    and the first body chunk (see ``UpstreamCall.first_chunk``); the total deadline covers the whole exchange.
    """
    deadlines = Deadlines.start(timeouts)
    timeout = client_timeout(timeouts.connect_s)
    with UpstreamErrors(what, deadlines.first_byte_message):
        async with asyncio.timeout_at(deadlines.first_byte_at()):
            response = await session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
            if response.status >= 300:
                await raise_for_status(response, what)
    return UpstreamCall(response, deadlines, what)


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    timeout_s: float,
    what: str,
    params: Mapping[str, str] | None = None,
) -> Any:
    """GET JSON; ``params`` are added to the URL's own query (a base_url may carry one). Redirects are not
    followed (see ``raise_for_status``)."""
    with UpstreamErrors(what):
        async with asyncio.timeout(timeout_s):
            async with session.get(url, headers=headers, params=params, allow_redirects=False) as response:
                if response.status >= 300:
                    await raise_for_status(response, what)
                raw = await response.content.read(MAX_RESPONSE_BODY)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict | list):
        raise UpstreamProtocolError(f"{what}: the upstream answered with something that is not JSON")
    return body


async def raise_for_status(response: aiohttp.ClientResponse, what: str) -> None:
    """A 3xx is an UpstreamProtocolError naming the status: lip never follows a redirect, which would hand the
    key (and, for 307/308, the prompt) to wherever ``Location`` points; the target is not named either. Any other
    status is an UpstreamStatusError with the parsed body."""
    if response.status < 400:
        response.release()
        raise UpstreamProtocolError(
            f"{what}: the upstream answered HTTP {response.status}, a redirect (lip does not follow redirects)"
        )
    try:
        raw = await response.content.read(MAX_ERROR_BODY)
    finally:
        response.release()
    body = parse_body(raw)
    raise UpstreamStatusError(
        f"{what}: upstream answered HTTP {response.status}",
        upstream_status=response.status,
        body=body,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def is_upstream_error(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamError)
