"""GET /v1/diagnostics: the serving state as JSON (backends, keys, admission, circuits, inventory, and the process's
garbage-collector settings, ``lip.heap``); never a secret.

A plain route: client authentication, when configured, is the server's middleware's job, as for every /v1 route.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from lip import heap
from lip.runtime import describe, runtime_of


async def diagnostics(http: web.Request) -> web.Response:
    body = orjson.dumps({**describe(runtime_of(http)), "gc": heap.state()}, option=orjson.OPT_INDENT_2)
    return web.Response(body=body, content_type="application/json")
