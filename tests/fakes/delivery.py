"""Turn a scripted `Action` into the HTTP answer of one endpoint: JSON, SSE, errors, stalls and stream faults.

Stream faults on a non-streaming request: `DisconnectAfter` sends half the JSON body (after a full
Content-Length) then closes the connection; `StallMidStream` sends half, pauses, then the rest (with
`after_chunks=0`: the headers, a pause, then the body); `MalformedSSE`
sends a truncated JSON body; `ErrorMidStream` answers its `status` with the native error body.
"""

from __future__ import annotations

import asyncio
import secrets
from http import HTTPStatus
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.endpoint import Endpoint, mid_stream_error
from tests.fakes.errors import ApiError, Family, default_error, error_body
from tests.fakes.script import (
    Action,
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    Hostile,
    HtmlErrorPage,
    HugeResponse,
    IgnoreStream,
    MalformedSSE,
    NonObjectBody,
    OkWithErrorBody,
    Redirect,
    SSEFramedError,
    Stall,
    StallMidStream,
    StreamFault,
    Turn,
)
from tests.fakes.wire import json_bytes

__all__ = ["deliver", "error_response", "fail_response", "static_response"]

_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
_HUGE_PIECE = 16384


def _request_id_header(family: Family) -> dict[str, str]:
    """The provider's request id, and the bot-management cookie its CDN front sets on every answer (OpenAI and
    Anthropic both answer with a ``__cf_bm`` cookie): a gateway must not hand it on to other clients' requests."""
    cookie = {"set-cookie": f"__cf_bm={secrets.token_hex(12)}; path=/; HttpOnly; SameSite=None"}
    if family == "gemini":  # Google's front end: no request id header, no cookie
        return {"server": "scaffolding on HTTPServer2", "x-xss-protection": "0"}
    if family == "anthropic":
        return {"request-id": "req_011" + secrets.token_hex(10), **cookie}
    return {"x-request-id": "req_" + secrets.token_hex(16), **cookie}


def _response(family: Family, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> web.Response:
    headers = CIMultiDict({"content-type": content_type, **_request_id_header(family)})
    headers.update(extra)
    return web.Response(status=status, body=body, headers=headers)


def error_response(family: Family, err: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    return _response(family, err.status, json_bytes(error_body(family, err)), "application/json", headers or {})


def fail_response(family: Family, fail: Fail) -> web.Response:
    """`Fail`: dict/None bodies as JSON, str as text/plain, bytes verbatim labelled application/json."""
    if fail.body is None:
        return error_response(family, default_error(family, fail.status), fail.headers)
    if isinstance(fail.body, dict):
        return _response(family, fail.status, json_bytes(fail.body), "application/json", fail.headers)
    if isinstance(fail.body, str):
        return _response(family, fail.status, fail.body.encode(), "text/plain; charset=utf-8", fail.headers)
    return _response(family, fail.status, fail.body, "application/json", fail.headers)


def _html_page(status: int) -> bytes:
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = f"{status} Error"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


StaticAction = Fail | HtmlErrorPage | OkWithErrorBody | Redirect | NonObjectBody | SSEFramedError


def _native_error(family: Family, status: int, message: str | None) -> dict[str, Any]:
    err = default_error(family, status)
    if message is not None:
        err.message = message
    return error_body(family, err)


def static_response(family: Family, action: StaticAction) -> web.Response:
    """Answers that do not depend on the request body."""
    if isinstance(action, Fail):
        return fail_response(family, action)
    if isinstance(action, HtmlErrorPage):
        return _response(family, action.status, _html_page(action.status), "text/html", {})
    if isinstance(action, Redirect):
        page = f"<html><body>Moved to <a href='{action.location}'>here</a></body></html>".encode()
        return _response(family, action.status, page, "text/html", {"location": action.location})
    if isinstance(action, NonObjectBody):
        return _response(family, 200, action.payload, "application/json", {})
    if isinstance(action, SSEFramedError):
        event = json_bytes(_native_error(family, action.status, action.message))
        frame = (b"event: error\n" if family == "anthropic" else b"") + b"data: " + event + b"\n\n"
        return _response(family, action.status, frame, _SSE_HEADERS["content-type"], {"cache-control": "no-cache"})
    payload = action.body or _native_error(family, action.status, action.message)
    return _response(family, 200, json_bytes(payload), action.content_type, {})


async def deliver(request: web.Request, endpoint: Endpoint, body: dict[str, Any], action: Action) -> web.StreamResponse:
    family = endpoint.family
    if isinstance(action, Hostile):
        raise TypeError("hostile answers are delivered by tests.fakes.hostile")
    if isinstance(action, Stall):
        await asyncio.sleep(action.seconds)
        return await deliver(request, endpoint, body, action.then or Turn())
    if isinstance(action, Fail | HtmlErrorPage | OkWithErrorBody | Redirect | NonObjectBody | SSEFramedError):
        return static_response(family, action)
    if isinstance(action, IgnoreStream):
        return _response(family, 200, json_bytes(endpoint.respond(body, action.turn)), "application/json", {})
    if isinstance(action, HugeResponse):
        action = Turn(text="x" * action.n_bytes, chunks=action.n_bytes // _HUGE_PIECE + 1)
    turn = action if isinstance(action, Turn) else action.turn
    fault = None if isinstance(action, Turn) else action
    if body.get("stream") is True:
        return await _stream(request, endpoint, body, turn, fault)
    return await _answer(request, endpoint, body, turn, fault)


async def _stream(
    request: web.Request, endpoint: Endpoint, body: dict[str, Any], turn: Turn, fault: StreamFault | None
) -> web.StreamResponse:
    error_fault = fault if isinstance(fault, ErrorMidStream) else None
    frames = [frame.encode() for frame in endpoint.frames(body, turn, error_fault)]
    own = getattr(endpoint, "stream_headers", None)  # Gemini: its JSON-array stream is application/json
    headers = {**_SSE_HEADERS, **(own(body) if own is not None else {})}
    response = web.StreamResponse(headers={**headers, **_request_id_header(endpoint.family)})
    await response.prepare(request)
    for i in range(len(frames) + 1):
        if isinstance(fault, DisconnectAfter) and i == min(fault.n_chunks, len(frames)):
            _drop(request)
            return response
        if isinstance(fault, MalformedSSE) and i == min(fault.after_chunks, len(frames)):
            await response.write(fault.line)
        if isinstance(fault, StallMidStream) and i == min(fault.after_chunks, len(frames)):
            await asyncio.sleep(fault.seconds)
        if i == len(frames):
            break
        if i and turn.delay_between_chunks:
            await asyncio.sleep(turn.delay_between_chunks)
        await response.write(frames[i])
    await response.write_eof()
    return response


async def _answer(
    request: web.Request, endpoint: Endpoint, body: dict[str, Any], turn: Turn, fault: StreamFault | None
) -> web.StreamResponse:
    family = endpoint.family
    if isinstance(fault, ErrorMidStream):
        return error_response(family, mid_stream_error(family, fault))
    payload = json_bytes(endpoint.respond(body, turn))
    if fault is None:
        return _response(family, 200, payload, "application/json", {})
    half = len(payload) // 2
    if isinstance(fault, MalformedSSE):
        return _response(family, 200, payload[:half], "application/json", {})
    response = web.StreamResponse(headers={"content-type": "application/json", **_request_id_header(family)})
    response.content_length = len(payload)
    await response.prepare(request)
    if isinstance(fault, StallMidStream) and fault.after_chunks == 0:
        await asyncio.sleep(fault.seconds)  # prepare sent the status line and headers; the body waits
    await response.write(payload[:half])
    if isinstance(fault, DisconnectAfter):
        _drop(request)
        return response
    if isinstance(fault, StallMidStream) and fault.after_chunks:
        await asyncio.sleep(fault.seconds)
    await response.write(payload[half:])
    await response.write_eof()
    return response


def _drop(request: web.Request) -> None:
    """Close the TCP connection without finishing the HTTP message (flushes what was already written)."""
    if request.transport is not None:
        request.transport.close()
