"""create_app(settings) -> the aiohttp application; its cleanup context owns the session and the runtime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
import orjson
from aiohttp import web

from lip.config.load import Settings
from lip.frontends.diagnostics import diagnostics
from lip.frontends.health import healthz
from lip.frontends.models import list_models
from lip.frontends.openai_chat import chat_completions
from lip.runtime import RUNTIME, Runtime, RuntimeHolder

log = logging.getLogger(__name__)
SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("lip.session", aiohttp.ClientSession)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        json_serialize=lambda obj: orjson.dumps(obj).decode(),
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
    )


@web.middleware
async def json_http_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own 404/405/413 as JSON an SDK can read; never touches a streaming body."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": {"message": exc.reason, "type": "invalid_request_error", "param": None, "code": exc.status}}
        return web.Response(
            body=orjson.dumps(body),
            status=exc.status,
            content_type="application/json",
            headers={k: v for k, v in exc.headers.items() if k.lower() == "allow"},
        )


def add_routes(app: web.Application) -> None:
    chat = chat_completions()
    app.router.add_post("/v1/chat/completions", chat.handle)
    app.router.add_post("/chat/completions", chat.handle)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/models", list_models)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/diagnostics", diagnostics)


def create_app(settings: Settings, env: Mapping[str, str]) -> web.Application:
    app = web.Application(
        middlewares=[json_http_errors],
        client_max_size=settings.config.server.max_body_bytes + 1,
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = new_session()
        app[SESSION] = session
        runtime = Runtime(settings, session, env)
        app[RUNTIME] = RuntimeHolder(runtime)
        runtime.start_discovery()
        yield
        await app[RUNTIME].current.aclose()
        await session.close()

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    return app


async def serve(settings: Settings, env: Mapping[str, str], *, host: str, port: int) -> None:
    app = create_app(settings, env)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=False)
    await site.start()
    log.info("lip serving on http://%s:%d", host, port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
