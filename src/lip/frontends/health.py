"""GET /healthz: 200 while serving."""

from __future__ import annotations

from aiohttp import web


async def healthz(http: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")
