"""Hostile answers (`Hostile` in script.py): huge lines and bodies, compression bombs, bad usage counts, orphan deltas.

Each is the protocol's own answer, bent the way a broken or malicious upstream bends it: a huge line is an SSE comment
(valid SSE) and a huge body is the JSON answer after leading whitespace (valid JSON), so only size makes them hostile.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.fakes.delivery import _SSE_HEADERS, _request_id_header, _response
from tests.fakes.endpoint import Endpoint
from tests.fakes.script import BadUsage, Bomb, FakeUsage, Hostile, HugeLine, OrphanDeltas, Turn
from tests.fakes.wire import Frame, json_bytes

__all__ = ["deliver_hostile"]

PIECE = 64 * 1024
_IN, _OUT = 900001, 900002  # usage counts no other answer has: rewritten to the bad value
_BOMBS: dict[tuple[str, bool, str], bytes] = {}  # made once per shape: compressing 100 MB takes a while


async def deliver_hostile(
    request: web.Request, endpoint: Endpoint, body: dict[str, Any], action: Hostile
) -> web.StreamResponse:
    stream = body.get("stream") is True
    if isinstance(action, BadUsage):
        return await _bad_usage(request, endpoint, body, action, stream)
    if isinstance(action, OrphanDeltas):
        return await _orphans(request, endpoint, body, action, stream)
    pieces: Iterator[bytes]
    if isinstance(action, Bomb):
        key = (type(endpoint).__name__, stream, repr(action))
        if key not in _BOMBS:
            pieces = _huge(endpoint, body, action, stream)
            _BOMBS[key] = await asyncio.to_thread(_compressed, pieces, action.encoding)  # not on the loop lip shares
        pieces = _cut(_BOMBS[key])
        extra = {"content-encoding": action.encoding}
    else:
        pieces, extra = _huge(endpoint, body, action, stream), {}
    content_type = "text/event-stream; charset=utf-8" if stream else "application/json"
    headers = {**(_SSE_HEADERS if stream else {}), "content-type": content_type, **extra}
    response = web.StreamResponse(headers={**headers, **_request_id_header(endpoint.family)})
    await response.prepare(request)
    for piece in pieces:
        await response.write(piece)
    await response.write_eof()
    return response


def _huge(endpoint: Endpoint, body: dict[str, Any], action: HugeLine | Bomb, stream: bool) -> Iterator[bytes]:
    """The answer with `n_bytes` of padding: a comment line after `after_chunks` events, or leading whitespace."""
    whole, rest = divmod(action.n_bytes, PIECE)
    padding = [b" " * PIECE] * whole + ([b" " * rest] if rest else [])
    if not stream:
        yield from padding
        yield json_bytes(endpoint.respond(body, action.turn))
        return
    frames = [frame.encode() for frame in endpoint.frames(body, action.turn)]
    yield from frames[: action.after_chunks]
    yield b":"
    yield from padding
    yield b"\n\n"
    yield from frames[action.after_chunks :]


def _compressed(pieces: Iterator[bytes], encoding: str) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    out = [compressor.compress(piece) for piece in pieces]
    return b"".join([*out, compressor.flush()])


def _cut(data: bytes) -> Iterator[bytes]:
    return (data[i : i + PIECE] for i in range(0, len(data), PIECE))


async def _bad_usage(
    request: web.Request, endpoint: Endpoint, body: dict[str, Any], action: BadUsage, stream: bool
) -> web.StreamResponse:
    turn = replace(action.turn, usage=FakeUsage(input_tokens=_IN, output_tokens=_OUT))
    bad = json_bytes(action.value)

    def bent(data: bytes) -> bytes:
        return data.replace(str(_IN).encode(), bad).replace(str(_OUT).encode(), bad)

    if not stream:
        return _response(endpoint.family, 200, bent(json_bytes(endpoint.respond(body, turn))), "application/json", {})
    return await _send_frames(request, endpoint, [bent(frame.encode()) for frame in endpoint.frames(body, turn)])


async def _orphans(
    request: web.Request, endpoint: Endpoint, body: dict[str, Any], action: OrphanDeltas, stream: bool
) -> web.StreamResponse:
    if endpoint.family != "anthropic" or not stream:
        raise ValueError("OrphanDeltas is an Anthropic stream fault")
    delta = Frame(
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "orphan "}},
    ).encode()
    response = await _open_stream(request, endpoint)
    if action.started:
        start = endpoint.frames(body, Turn())[0]
        assert start.event == "message_start"
        await response.write(start.encode())
    for i in range(action.count):
        if i and action.delay:
            await asyncio.sleep(action.delay)
        await response.write(delta)
    if action.finish:
        end = endpoint.frames(body, Turn())[-2:]  # message_delta, message_stop
        await response.write(b"".join(frame.encode() for frame in end))
    await response.write_eof()
    return response


async def _open_stream(request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
    response = web.StreamResponse(headers={**_SSE_HEADERS, **_request_id_header(endpoint.family)})
    await response.prepare(request)
    return response


async def _send_frames(request: web.Request, endpoint: Endpoint, frames: list[bytes]) -> web.StreamResponse:
    response = await _open_stream(request, endpoint)
    for frame in frames:
        await response.write(frame)
    await response.write_eof()
    return response
