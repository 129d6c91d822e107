"""Request ids: the client's ``X-Request-ID`` when it is usable, else a new one; returned on every response and
quoted in error bodies that carry one (``lip.server.gate`` assigns it first thing)."""

from __future__ import annotations

import re

from aiohttp import web

from lip.ids import unique_hex

REQUEST_ID: web.RequestKey[str] = web.RequestKey("lip.request_id", str)
NOT_ID_CHARS = re.compile(r"[^A-Za-z0-9._:/+=@-]")
MAX_ID_LENGTH = 128


def request_id(http: web.Request) -> str:
    """The client's X-Request-ID with unsafe characters removed and at most 128 long, else a new one."""
    found = http.get(REQUEST_ID)
    if found is None:
        found = http[REQUEST_ID] = _new_request_id(http)
    return found


def id_header(http: web.Request) -> dict[str, str]:
    """The header that returns the request's id: ``lip.server.gate`` adds it to every response it hands back
    unsent; a handler that starts a stream itself puts it in the stream's headers."""
    return {"X-Request-ID": request_id(http)}


def _new_request_id(http: web.Request) -> str:
    given = NOT_ID_CHARS.sub("", http.headers.get("X-Request-ID", ""))[:MAX_ID_LENGTH]
    return given or unique_hex()


def assign_request_id(request: web.Request) -> None:
    """The request's id: the client's X-Request-ID when it is usable, else a new one (``lip.server.gate``)."""
    request[REQUEST_ID] = _new_request_id(request)
