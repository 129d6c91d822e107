"""The stack's ceiling: a bare aiohttp relay (uvloop, one pooled ClientSession; no routing, translation or checks).

`python bare_relay.py PORT UPSTREAM_URL` relays every POST to UPSTREAM_URL (one fixed endpoint) with the client's
body unchanged and streams the upstream's answer back as it arrives. bench/run.py measures it as target "bare".
"""

from __future__ import annotations

import sys

import aiohttp
import uvloop
from aiohttp import web


def make_app(upstream: str) -> web.Application:
    async def session_ctx(app: web.Application) -> object:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app["session"].close()

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
        async with request.app["session"].post(upstream, data=body, headers=headers) as up:
            if up.content_type != "text/event-stream":
                return web.Response(body=await up.read(), status=up.status, content_type=up.content_type)
            resp = web.StreamResponse(status=up.status, headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            async for chunk in up.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_post("/{tail:.*}", relay)
    return app


if __name__ == "__main__":
    port, upstream = int(sys.argv[1]), sys.argv[2]
    web.run_app(
        make_app(upstream), host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop()
    )
