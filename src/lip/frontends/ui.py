"""GET /ui: the live status page (a static page with no build step and nothing from a CDN) and GET /ui/state, the
JSON it polls. Off unless ``ui.enabled``; with client keys set, an admin key (a browser sends it as the password of
HTTP Basic authentication; any user name)."""

from __future__ import annotations

import time
from importlib import resources

import orjson
from aiohttp import web

from lip.errors import NotFound
from lip.frontends.usage import key_report
from lip.lifecycle import LIFECYCLE
from lip.middlewares import admin_refusal, error_reply, is_admin
from lip.observability import OBSERVABILITY
from lip.runtime import runtime_of
from lip.status import backend_states

PAGE = resources.files("lip.frontends").joinpath("ui.html").read_bytes()
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _refusal(http: web.Request) -> web.Response | None:
    if http.app[OBSERVABILITY].board is None:
        return error_reply(http, NotFound("the status page is off; set ui.enabled: true to turn it on"))
    if not is_admin(http):
        return error_reply(http, admin_refusal(http))
    return None


async def ui_page(http: web.Request) -> web.Response:
    refusal = _refusal(http)
    if refusal is not None:
        return refusal
    return web.Response(body=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)


async def ui_state(http: web.Request) -> web.Response:
    refusal = _refusal(http)
    if refusal is not None:
        return refusal
    board = http.app[OBSERVABILITY].board
    assert board is not None
    runtime = runtime_of(http)
    life = http.app[LIFECYCLE]
    usage = await key_report(http)
    state = {
        "now": time.time(),
        "source": runtime.settings.source,
        "in_flight": max(0, len(life.requests) - 1),  # not counting this request
        "streams": life.streams,
        "backends": backend_states(runtime),
        "recent": list(board.recent),
        "rates": board.rates(),
        "keys": [
            {
                "name": k["name"],
                "limits": k["limits"],
                "windows": k.get("windows"),
                "usage": (k["usage"] or {}).get("total"),
            }
            for k in usage["keys"]
        ],
        "store": {"kind": runtime.store.kind, "shared": runtime.store.shared},
    }
    return web.Response(
        body=orjson.dumps(state), content_type="application/json", headers={"Cache-Control": "no-store"}
    )
