"""One upstream HTTP call: headers, timeout phases, status -> error class; aiohttp errors are mapped here only.

Timeouts: ``connect`` is aiohttp's socket-connect timeout; ``first byte`` bounds the wait for headers and the first
body chunk; ``idle`` bounds each gap between chunks and ``total`` the whole exchange. Idle and total are enforced by
one watchdog timer per stream that closes the response, so the per-chunk cost is one timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from lip.config.models import Timeouts
from lip.errors import (
    LipError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

MAX_ERROR_BODY = 256 * 1024
MAX_RESPONSE_BODY = 64 * 1024 * 1024


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def parse_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")[:2000]


@contextlib.contextmanager
def map_upstream_errors(what: str) -> Iterator[None]:
    """Translate aiohttp/asyncio failures into lip's upstream errors; the one place that names aiohttp errors."""
    try:
        yield
    except LipError:
        raise
    except TimeoutError as exc:
        raise UpstreamTimeout(f"{what}: timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise UpstreamUnreachable(
            f"{what}: cannot connect to the upstream ({exc.os_error.strerror or 'refused'})"
        ) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise UpstreamUnreachable(f"{what}: the upstream closed the connection") from exc
    except (aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
        raise UpstreamProtocolError(f"{what}: the upstream sent a broken response") from exc
    except (aiohttp.ClientError, ConnectionError, OSError) as exc:
        raise UpstreamUnreachable(f"{what}: connection to the upstream failed") from exc


class Watchdog:
    """Closes a response when it is idle too long or runs past its total deadline."""

    __slots__ = ("_handle", "_idle", "_loop", "_response", "deadline", "fired", "last")

    def __init__(self, response: aiohttp.ClientResponse, idle: float, total: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._response = response
        self._idle = idle
        now = self._loop.time()
        self.last = now
        self.deadline = now + total if total > 0 else float("inf")
        self.fired: str | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._schedule(now)

    def _schedule(self, now: float) -> None:
        due = min(self.last + self._idle if self._idle > 0 else float("inf"), self.deadline)
        if due != float("inf"):
            self._handle = self._loop.call_at(max(due, now), self._check)

    def _check(self) -> None:
        now = self._loop.time()
        if now >= self.deadline:
            self.fired = "total"
        elif self._idle > 0 and now >= self.last + self._idle:
            self.fired = "idle"
        if self.fired:
            self._response.close()
        else:
            self._schedule(now)

    def touch(self) -> None:
        self.last = self._loop.time()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


@dataclass(slots=True)
class UpstreamCall:
    """An open upstream response with status 2xx."""

    response: aiohttp.ClientResponse
    timeouts: Timeouts
    what: str

    @property
    def content_type(self) -> str:
        return self.response.headers.get("Content-Type", "application/json")

    async def read_body(self) -> bytes:
        """The whole body, bounded by the first-byte and total timeouts and a size cap."""
        limit = self.timeouts.total_s or None
        with map_upstream_errors(self.what):
            async with asyncio.timeout(limit):
                chunks: list[bytes] = []
                size = 0
                async for chunk in self.response.content.iter_any():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BODY:
                        raise UpstreamProtocolError(f"{self.what}: the upstream response is larger than 64 MiB")
                    chunks.append(chunk)
                return b"".join(chunks)

    async def first_chunk(self) -> tuple[bytes, AsyncIterator[bytes]]:
        """The first body chunk (within the first-byte timeout) and an iterator over the rest."""
        t = self.timeouts
        watchdog = Watchdog(self.response, t.idle_s, t.total_s)
        chunks = self.response.content.iter_any()
        with map_upstream_errors(self.what):
            async with asyncio.timeout(t.first_byte_s or None):
                try:
                    first = await anext(chunks)
                except StopAsyncIteration:
                    first = b""
        watchdog.touch()
        return first, self._rest(chunks, watchdog)

    async def _rest(self, chunks: AsyncIterator[bytes], watchdog: Watchdog) -> AsyncIterator[bytes]:
        try:
            with map_upstream_errors(self.what):
                try:
                    async for chunk in chunks:
                        watchdog.touch()
                        yield chunk
                except (aiohttp.ClientError, ConnectionError) as exc:
                    if watchdog.fired:
                        raise UpstreamTimeout(
                            f"{self.what}: the upstream was silent too long ({watchdog.fired})"
                        ) from exc
                    raise
            if watchdog.fired:
                raise UpstreamTimeout(f"{self.what}: the upstream was silent too long ({watchdog.fired})")
        finally:
            watchdog.cancel()

    def close(self) -> None:
        self.response.close()

    def release(self) -> None:
        self.response.release()


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    what: str,
) -> UpstreamCall:
    """POST and wait for the status line and headers; a non-2xx status raises UpstreamStatusError."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect_s or None, connect=None)
    with map_upstream_errors(what):
        async with asyncio.timeout(timeouts.first_byte_s or None):
            response = await session.post(url, data=body, headers=headers, timeout=timeout)
            if response.status >= 300:
                await raise_for_status(response, what)
    return UpstreamCall(response, timeouts, what)


async def get_json(
    session: aiohttp.ClientSession, url: str, headers: Mapping[str, str], timeout_s: float, what: str
) -> Any:
    with map_upstream_errors(what):
        async with asyncio.timeout(timeout_s):
            async with session.get(url, headers=headers) as response:
                if response.status >= 300:
                    await raise_for_status(response, what)
                raw = await response.content.read(MAX_RESPONSE_BODY)
    body = parse_body(raw)
    if not isinstance(body, dict | list):
        raise UpstreamProtocolError(f"{what}: the upstream answered with something that is not JSON")
    return body


async def raise_for_status(response: aiohttp.ClientResponse, what: str) -> None:
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
