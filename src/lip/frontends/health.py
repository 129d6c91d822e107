"""GET /healthz: 200 while serving. GET and HEAD /: 200, for clients that probe the base URL at start (Claude Code
sends ``HEAD /``); open without a client key, like /healthz, and it says nothing but that lip is there."""

from __future__ import annotations

from aiohttp import web


async def healthz(http: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def root(http: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok","service":"lip"}', content_type="application/json")
