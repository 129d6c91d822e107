"""Requests in flight, drain and reload: the life of one app's requests across a reload or a shutdown.

- Every request pins the runtime it arrived on (``track``). A reload (SIGHUP or ``POST /admin/reload``) validates
  the config file again and swaps a new runtime in for new requests; the old one is closed once its last request
  has ended. An invalid config is rejected with the check-config messages and the old one keeps serving.
- SIGTERM (or SIGINT) stops accepting, lets requests in flight finish for up to ``server.drain_timeout_s``, then
  ends what is left in the client's protocol (``drain_scope``): a stream gets the protocol's error event, a request
  still waiting for its answer gets a 503. The process exits 0.

The process around the app (signals, the runner, ``--workers N``) is ``lip.process``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType

import orjson
from aiohttp import web

from lip import heap
from lip.config.load import ConfigError, Settings, load_default, load_file
from lip.config.models import ServerConfig
from lip.errors import ServiceUnavailable
from lip.middlewares import admin_refusal, client_key_problems, error_reply, is_admin
from lip.runtime import PINNED, RUNTIME, SESSION, STORE, Runtime

log = logging.getLogger(__name__)
DRAINED = "lip is shutting down and its drain timeout has passed; please retry"  # what ended requests say
GRACE_S = 5.0  # after the drain timeout: how long ended requests get to write their error


def load_settings(config_path: str | None, env: Mapping[str, str]) -> Settings:
    return load_file(config_path, env) if config_path else load_default(env)


# ---------------------------------------------------------------- requests in flight


@dataclass(eq=False, slots=True)
class InFlight:
    """One request in flight: the runtime it pinned and the drain scopes it is inside (innermost last)."""

    runtime: Runtime
    scopes: list[asyncio.Timeout] = field(default_factory=list)


class Lifecycle:
    """Requests in flight and the runtimes they pinned; draining; reload. One per application."""

    def __init__(self, env: Mapping[str, str], config_path: str | None = None) -> None:
        self.env = env
        self.config_path = config_path
        self.requests: set[InFlight] = set()
        self.streams = 0
        self.draining = False
        self.expired = False  # the drain timeout has passed
        self.reload_lock = asyncio.Lock()
        self._leases: dict[Runtime, int] = {}
        self._retired: set[Runtime] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self, runtime: Runtime) -> InFlight:
        entry = InFlight(runtime)
        self.requests.add(entry)
        self._leases[runtime] = self._leases.get(runtime, 0) + 1
        self._idle.clear()
        return entry

    def leave(self, entry: InFlight) -> None:
        self.requests.discard(entry)
        left = self._leases[entry.runtime] - 1
        if left:
            self._leases[entry.runtime] = left
        else:
            del self._leases[entry.runtime]
            if entry.runtime in self._retired:
                self._close(entry.runtime)
        if not self.requests:
            self._idle.set()

    def retire(self, runtime: Runtime) -> None:
        """Close ``runtime`` once the requests that pinned it have ended."""
        if runtime in self._leases:
            self._retired.add(runtime)
        else:
            self._close(runtime)

    def _close(self, runtime: Runtime) -> None:
        self._retired.discard(runtime)
        task = asyncio.get_running_loop().create_task(self._close_and_settle(runtime))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_and_settle(self, runtime: Runtime) -> None:
        await runtime.aclose()
        if not self._retired:  # the retired configuration is garbage now: freeze what stays (lip.heap)
            heap.settle()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def end_all(self) -> None:
        """The drain timeout has passed: end each request's current stage (see ``drain_scope``)."""
        self.expired = True
        now = asyncio.get_running_loop().time()
        for entry in self.requests:
            if entry.scopes:
                entry.scopes[-1].reschedule(now)

    async def aclose(self) -> None:
        for runtime in list(self._retired):
            self._close(runtime)
        if self._closing:
            await asyncio.gather(*self._closing)


LIFECYCLE: web.AppKey[Lifecycle] = web.AppKey("lip.lifecycle", Lifecycle)
ENTRY: web.RequestKey[InFlight] = web.RequestKey("lip.in_flight", InFlight)


def admit(request: web.Request) -> web.Response | None:
    """Pin the current runtime for the whole request and count it in flight (until ``leave``); a 503 refusal once
    shutting down."""
    life = request.app[LIFECYCLE]
    if life.draining:
        error = ServiceUnavailable("lip is shutting down; retry on another instance")
        return error_reply(request, error, {"Connection": "close", "Retry-After": "1"})
    runtime = request.app[RUNTIME].current
    request[ENTRY] = life.enter(runtime)
    request[PINNED] = runtime
    return None


def leave(request: web.Request) -> None:
    """The request that ``admit`` counted has ended (nothing when it was refused)."""
    entry = request.get(ENTRY)
    if entry is not None:
        request.app[LIFECYCLE].leave(entry)


class DrainScope:
    """A stage of a request that the drain timeout may end: it then raises ServiceUnavailable out of the block.

    Wrap a wait for the upstream or a stream's relay loop in it; the caller turns the error into a 503 or the
    protocol's error event. Outside any scope a request is never interrupted. (A class, not a generator-based
    context manager: it is entered on every request.)
    """

    __slots__ = ("_entry", "_lifecycle", "_stream", "_timeout")

    def __init__(self, http: web.Request, stream: bool) -> None:
        self._entry = http.get(ENTRY)  # None in an app without the tracking middleware
        self._lifecycle = http.app[LIFECYCLE] if self._entry is not None else None
        self._stream = int(stream)
        self._timeout: asyncio.Timeout | None = None

    async def __aenter__(self) -> None:
        if self._entry is None or self._lifecycle is None:
            return
        self._timeout = timeout = asyncio.timeout(0 if self._lifecycle.expired else None)
        self._entry.scopes.append(timeout)
        self._lifecycle.streams += self._stream
        await timeout.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        timeout = self._timeout
        if timeout is None or self._entry is None or self._lifecycle is None:
            return
        self._entry.scopes.remove(timeout)
        self._lifecycle.streams -= self._stream
        try:
            await timeout.__aexit__(kind, error, tb)
        except TimeoutError:
            if timeout.expired():
                raise ServiceUnavailable(DRAINED) from None
            raise


def drain_scope(http: web.Request, *, stream: bool = False) -> DrainScope:
    """See ``DrainScope``; ``stream``: the stage relays a stream (counted in lip_in_flight_streams)."""
    return DrainScope(http, stream)


async def drain(app: web.Application) -> None:
    """on_shutdown: new connections are refused already; let requests finish, then end what is left."""
    life = app[LIFECYCLE]
    life.draining = True
    timeout = app[RUNTIME].current.settings.config.server.drain_timeout_s
    if life.requests:
        log.info("draining %d request(s) in flight for up to %g s", len(life.requests), timeout)
    if await life.wait_idle(timeout):
        return
    log.warning("drain timeout (%g s) passed: ending %d request(s) with an error", timeout, len(life.requests))
    life.end_all()
    if not await life.wait_idle(GRACE_S):
        log.warning("%d request(s) did not end in time; closing their connections", len(life.requests))


async def close_retired(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: at the end, close runtimes a reload retired (before the session they use closes)."""
    yield
    await app[LIFECYCLE].aclose()


# ---------------------------------------------------------------- reload


async def reload(app: web.Application) -> list[str]:
    """Re-read and validate the config; swap it in when valid. Returns the problems ([] when reloaded)."""
    life = app[LIFECYCLE]
    async with life.reload_lock:
        try:
            settings = await asyncio.to_thread(load_settings, life.config_path, life.env)
        except ConfigError as error:
            problems = error.problems
        else:
            problems = client_key_problems(settings, life.env)
        if problems:
            source = life.config_path or "the embedded default"
            log.error("reload rejected: %s is invalid; the current configuration keeps serving", source)
            for problem in problems:
                log.error("  - %s", problem)
            return problems
        swap(app, settings)
        return []


def swap(app: web.Application, settings: Settings) -> None:
    """Serve new requests with ``settings``; requests in flight finish on the runtime they started with."""
    life = app[LIFECYCLE]
    holder = app[RUNTIME]
    old = holder.current
    new = Runtime(settings, app[SESSION], life.env, app[STORE], reloaded=True)
    new.observers.extend(old.observers)
    new.inventory.listeners.extend(old.inventory.listeners)
    new.tracing = old.tracing
    if new.shared is not None:
        new.shared.previous = old.shared
    new.start_discovery()
    holder.current = new
    heap.thaw()  # the old configuration was frozen at start-up: let it be collected once it is retired
    life.retire(old)
    log.info("configuration reloaded from %s: %d backend(s)", settings.source, len(settings.backends))
    before, after = old.settings.config.server, settings.config.server
    if _at_start(before) != _at_start(after):
        log.warning(
            "server.host, server.port, server.max_header_bytes, server.head_timeout_s and server.max_pending_heads "
            "take effect only after a restart"
        )
    if old.settings.config.store != settings.config.store:
        log.warning("the store section takes effect only after a restart (the store in use keeps serving)")
    if old.settings.config.telemetry != settings.config.telemetry:
        log.warning("the telemetry section takes effect only after a restart")


async def admin_reload(http: web.Request) -> web.Response:
    """POST /admin/reload: needs an admin client key when keys are configured (an env key, or a keys-file key with
    ``admin: true``), else a request from this machine."""
    if not is_admin(http):
        return error_reply(http, admin_refusal(http))
    problems = await reload(http.app)
    body: dict[str, object]
    if problems:
        body = {"status": "rejected", "problems": problems}
        return web.Response(body=orjson.dumps(body), status=422, content_type="application/json")
    settings = http.app[RUNTIME].current.settings
    body = {"status": "reloaded", "source": settings.source, "backends": len(settings.backends)}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def _at_start(server: ServerConfig) -> tuple[object, ...]:
    """The server settings read once, when the listening socket and its connections are set up."""
    return (server.host, server.port, server.max_header_bytes, server.head_timeout_s, server.max_pending_heads)
