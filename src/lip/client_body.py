"""A client's request body, read in the gate before the request takes a concurrency slot: bounded in size and time.

A client that sends its head and then stalls (a chunked body that never ends, a ``Content-Length`` larger than what it
sends) holds its connection, but no slot of ``server.max_in_flight`` or ``server.max_per_client``, and gets a 408 in
its protocol's shape after ``server.body_timeout_s``. Other read failures (a body over ``server.max_body_bytes``, a
broken chunked encoding) are kept and raised where the handler asks for the body, as before.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from lip.errors import BodyTooLarge, RequestTimeout

BODY: web.RequestKey[object] = web.RequestKey("lip.body", object)  # the bytes, or the error reading them


async def read_body(http: web.Request, limit: int, timeout_s: float = 0.0) -> bytes:
    """The whole body; BodyTooLarge past ``limit`` bytes, RequestTimeout when it takes longer than ``timeout_s``
    (0: no limit)."""
    if http.content_length is not None and http.content_length > limit:
        raise _too_large(limit)
    content = http.content
    if content.is_eof():  # the commonest: a small body came whole with its head, nothing to wait for
        raw = content.read_nowait()
        if len(raw) > limit:
            raise _too_large(limit)
        return raw
    if not timeout_s:
        return await _read(http, limit)
    try:
        async with asyncio.timeout(timeout_s):
            return await _read(http, limit)
    except TimeoutError:
        raise RequestTimeout(
            f"the request body did not arrive within {timeout_s:g} s (server.body_timeout_s); send it whole"
        ) from None


async def _read(http: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in http.content.iter_any():
        size += len(chunk)
        if size > limit:
            chunks.clear()
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"the request body is larger than the limit of {limit} bytes")


async def preread(http: web.Request, limit: int, timeout_s: float) -> RequestTimeout | None:
    """Read a POST's body now (kept for ``body_of``); the timeout error when it stalled, for the gate to answer."""
    if http.method != "POST" or not http.body_exists:
        return None
    try:
        http[BODY] = await read_body(http, limit, timeout_s)
    except RequestTimeout as exc:
        return exc
    except Exception as exc:  # raised by ``body_of``, in the handler, as when the handler read the body itself
        http[BODY] = exc
    return None


async def body_of(http: web.Request, limit: int) -> bytes:
    """The body the gate read (or its read failure, raised), else read now."""
    found = http.get(BODY)
    if isinstance(found, bytes):
        return found
    if isinstance(found, Exception):
        raise found
    return await read_body(http, limit)
