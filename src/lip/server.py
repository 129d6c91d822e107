"""create_app(settings) -> the aiohttp application; its cleanup context owns the session and the runtime."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import aiohttp
import orjson
from aiohttp import web

from lip.client_body import preread
from lip.config.load import Settings
from lip.config.models import TelemetryConfig
from lip.errors import ClientError, LipError
from lip.frontends import anthropic_messages, gemini, openai_chat, openai_responses
from lip.frontends.diagnostics import diagnostics
from lip.frontends.endpoint import Frontend
from lip.frontends.health import healthz, root
from lip.frontends.models import get_model, list_models
from lip.frontends.ui import ui_page, ui_state
from lip.frontends.usage import usage_endpoint
from lip.lifecycle import LIFECYCLE, Lifecycle, admin_reload, admit, close_retired, drain, leave
from lip.middlewares import LIMITS, Limits, error_reply, key_refusal, release_slot, slot_refusal
from lip.observability import OBSERVABILITY, current_runtime, install
from lip.requestid import assign_request_id, id_header, request_id
from lip.runtime import RUNTIME, SESSION, STORE, Runtime, RuntimeHolder, runtime_of
from lip.shared_metrics import CountedLifecycle, SharedMetrics
from lip.status import StatusBoard
from lip.store import open_store
from lip.telemetry import trace_settings

if TYPE_CHECKING:
    from lip.otel import Tracing

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# one per client protocol; each serves the routes its codec names (``Codec.served``)
FRONTENDS: tuple[Callable[[], Frontend], ...] = (
    openai_chat.frontend,
    openai_responses.frontend,
    anthropic_messages.frontend,
    gemini.frontend,
)


def new_session() -> aiohttp.ClientSession:
    """Every upstream call names its own User-Agent, so aiohttp adds none; ``skip_auto_headers`` would do the same
    at ~12 µs a request (it rebuilds a header multidict each time)."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        json_serialize=lambda obj: orjson.dumps(obj).decode(),
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),  # a provider's cookies must not pass from one client to the next
    )


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request's way in and out, in order: its id; the shutdown check and the runtime pin; the client key; the
    body, read within ``server.body_timeout_s`` (a stalled one never holds a slot); the concurrency limits. Then
    aiohttp's own 404/405/413, and a 500 for an error lip did not expect (logged with its traceback), become JSON an
    SDK can read, in the path's protocol. On the way out: the slot and the pin are released and the response is
    counted (and logged when no frontend did).

    One middleware, not one per job: each would add a coroutine that every resumption of every request passes
    through. The checks stay in their modules; a streaming body is never touched here.
    """
    started = time.perf_counter()
    assign_request_id(request)
    status = 500
    try:
        refusal = admit(request)
        if refusal is None:
            refusal = key_refusal(request)
        if refusal is None:
            refusal = await body_refusal(request)
        if refusal is None:
            refusal = slot_refusal(request)
        response: web.StreamResponse
        if refusal is not None:
            response = refusal
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = http_error_reply(request, exc)
            except Exception as exc:
                if request.writer.output_size > 0:  # a stream had begun: aiohttp ends the connection
                    raise
                response = unexpected_failure(request, exc)
        if not response.prepared:  # a stream a handler started carries the id already (``id_header``)
            response.headers.update(id_header(request))
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    finally:
        release_slot(request)
        leave(request)
        request.app[OBSERVABILITY].finished(request, status, started)


async def body_refusal(request: web.Request) -> web.Response | None:
    """A 408 for a POST whose body did not arrive in time, sent at once and the connection closed (aiohttp would
    otherwise linger reading the rest for 10 s); the body is read otherwise."""
    server = runtime_of(request).settings.config.server
    stalled = await preread(request, server.max_body_bytes, server.body_timeout_s)
    if stalled is None:
        return None
    response = error_reply(request, stalled, {"Connection": "close", **id_header(request)})
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # what was written is flushed first
    return response


def unexpected_failure(request: web.Request, exc: Exception) -> web.Response:
    """A 500 for an error lip did not foresee (a bug). The log gets its type and where it happened, not its message:
    that may quote a key or a prompt. The client gets the request id to quote."""
    rid = request_id(request)
    where = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "lip failed on %s %s (request id %s): %s at\n%s",
        request.method,
        request.path[:200],
        rid,
        type(exc).__name__,
        where.rstrip(),
    )
    return error_reply(request, LipError(f"lip failed on this request; its log has the details (request id {rid})"))


def http_error_reply(request: web.Request, exc: web.HTTPException) -> web.Response:
    what = f"{exc.reason}: {request.method} {request.path[:200]}"
    error = ClientError(what, status=exc.status, code=str(exc.status))
    return error_reply(request, error, {k: v for k, v in exc.headers.items() if k.lower() == "allow"})


def add_routes(app: web.Application) -> None:
    """Each client protocol's routes, as its codec names them; then lip's own."""
    for make in FRONTENDS:
        frontend = make()
        for route in frontend.codec.served:
            app.router.add_route(route.method, route.path, frontend.operations[route.operation])
    app.router.add_get("/v1/models", list_models)  # in the shape the client's headers ask for
    app.router.add_get("/models", list_models)
    app.router.add_get("/v1/models/{name:.+}", get_model)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", root)  # HEAD / too (aiohttp adds it)
    app.router.add_get("/v1/diagnostics", diagnostics)


def create_app(
    settings: Settings, env: Mapping[str, str], *, config_path: str | None = None, metrics_dir: str | None = None
) -> web.Application:
    """``config_path``: the file a reload re-reads (None: the embedded default); ``metrics_dir``: a worker of
    ``lip serve --workers N`` shares its metrics with its siblings there (``lip.shared_metrics``)."""
    app = web.Application(
        middlewares=[gate],
        client_max_size=settings.config.server.max_body_bytes + 1,
    )
    shared = SharedMetrics(metrics_dir, current_runtime(app)) if metrics_dir is not None else None
    app[LIFECYCLE] = Lifecycle(env, config_path) if shared is None else CountedLifecycle(env, config_path, shared)
    install(app, app[LIFECYCLE], shared)
    if settings.config.ui.enabled:
        app[OBSERVABILITY].board = StatusBoard(settings.config.ui.recent_requests)
    app[LIMITS] = Limits()
    app.on_shutdown.append(drain)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        session = new_session()
        app[SESSION] = session
        app[STORE] = store = open_store(settings.config.store, env)
        tracing = open_tracing(settings.config.telemetry, env)
        try:
            runtime = Runtime(settings, session, env, store)
            runtime.tracing = tracing
            runtime.observers.append(app[OBSERVABILITY].observe)
            runtime.inventory.listeners.append(app[OBSERVABILITY].inventory_fetched)
            app[RUNTIME] = RuntimeHolder(runtime)
            runtime.start_discovery()
            yield
            await app[RUNTIME].current.aclose()
        finally:
            if tracing is not None:
                await tracing.aclose()
            await store.aclose()
            await session.close()

    app.cleanup_ctx.append(lifecycle)
    app.cleanup_ctx.append(close_retired)
    if shared is not None:
        app.cleanup_ctx.append(shared.refresh_forever)
    add_routes(app)
    app.router.add_post("/admin/reload", admin_reload)
    app.router.add_get("/admin/usage", usage_endpoint)
    app.router.add_get("/ui", ui_page)
    app.router.add_get("/ui/state", ui_state)
    return app


def open_tracing(config: TelemetryConfig, env: Mapping[str, str]) -> Tracing | None:
    """The app's tracer, or None when tracing is off (then OpenTelemetry is never imported)."""
    settings = trace_settings(config, env)
    if settings is None:
        return None
    from lip.otel import Tracing  # an optional dependency: pip install 'lip[otel]'

    return Tracing(settings)
