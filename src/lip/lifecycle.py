"""The life of a serving process: requests in flight, reload, graceful shutdown, and N workers on one port.

- Every request pins the runtime it arrived on (``track``). A reload (SIGHUP or ``POST /admin/reload``) validates
  the config file again and swaps a new runtime in for new requests; the old one is closed once its last request
  has ended. An invalid config is rejected with the check-config messages and the old one keeps serving.
- SIGTERM (or SIGINT) stops accepting, lets requests in flight finish for up to ``server.drain_timeout_s``, then
  ends what is left in the client's protocol (``drain_scope``): a stream gets the protocol's error event, a request
  still waiting for its answer gets a 503. The process exits 0.
- ``--workers N`` runs N processes that each bind the same port with SO_REUSEPORT; the parent forwards signals
  and replaces a worker that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from lip import heap
from lip.config.load import ConfigError, Settings, load_default, load_file
from lip.errors import ServiceUnavailable
from lip.middlewares import admin_refusal, client_key_problems, error_reply, is_admin
from lip.runtime import PINNED, RUNTIME, Runtime

log = logging.getLogger(__name__)
DRAINED = "lip is shutting down and its drain timeout has passed; please retry"  # what ended requests say
GRACE_S = 5.0  # after the drain timeout: how long ended requests get to write their error
RESTART_WINDOW_S = 60.0  # more worker exits than max(3, N) in this window stop the server instead
# aiohttp's default listen backlog is 128: a burst of new connections beyond it (256 clients connecting at once in
# the benchmark's S3) has SYNs dropped and retried by the clients after 1 s and 3 s. The kernel caps it at somaxconn.
LISTEN_BACKLOG = 4096


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
    from lip.server import SESSION, STORE  # server imports this module

    life = app[LIFECYCLE]
    holder = app[RUNTIME]
    old = holder.current
    new = Runtime(settings, app[SESSION], life.env, app[STORE], reloaded=True)
    new.observers.extend(old.observers)
    new.tracing = old.tracing
    if new.shared is not None:
        new.shared.previous = old.shared
    new.start_discovery()
    holder.current = new
    heap.thaw()  # the old configuration was frozen at start-up: let it be collected once it is retired
    life.retire(old)
    log.info("configuration reloaded from %s: %d backend(s)", settings.source, len(settings.backends))
    before, after = old.settings.config.server, settings.config.server
    if (before.host, before.port, before.max_header_bytes) != (after.host, after.port, after.max_header_bytes):
        log.warning("server.host, server.port and server.max_header_bytes take effect only after a restart")
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


# ---------------------------------------------------------------- one process


def make_runner(app: web.Application, settings: Settings) -> web.AppRunner:
    """The runner ``lip serve`` uses: handlers cancelled when the client leaves, header sizes bounded."""
    server = settings.config.server
    return web.AppRunner(
        app,
        handler_cancellation=True,
        access_log=None,
        shutdown_timeout=GRACE_S,
        max_line_size=server.max_header_bytes,
        max_field_size=server.max_header_bytes,
    )


async def serve(
    settings: Settings,
    env: Mapping[str, str],
    *,
    host: str,
    port: int,
    config_path: str | None = None,
    reuse_port: bool = False,
    metrics_dir: str | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain and return; SIGHUP reloads the config. ``metrics_dir``: see
    ``create_app``."""
    from lip.server import create_app  # server imports this module

    app = create_app(settings, env, config_path=config_path, metrics_dir=metrics_dir)
    runner = make_runner(app, settings)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloads: set[asyncio.Task[list[str]]] = set()

    def on_hup() -> None:
        task = loop.create_task(reload(app))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port, backlog=LISTEN_BACKLOG).start()
        for signum, callback in ((signal.SIGTERM, stop.set), (signal.SIGINT, stop.set), (signal.SIGHUP, on_hup)):
            loop.add_signal_handler(signum, callback)
        heap.tune()
        log.info("lip serving on http://%s:%d (pid %d)", host, port, os.getpid())
        await stop.wait()
        log.info("shutting down: no new connections; requests in flight may finish")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
        for task in list(reloads):
            task.cancel()
    log.info("lip stopped")


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop where available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        asyncio.run(main)
        return
    uvloop.run(main)


# ---------------------------------------------------------------- N workers


@dataclass(frozen=True, slots=True)
class WorkerArgs:
    config_path: str | None
    host: str
    port: int
    level: str
    log_format: str
    metrics_dir: str | None = None  # where the workers share their metrics (``lip.shared_metrics``)


def worker_main(args: WorkerArgs) -> None:
    """One worker process (started with the spawn method): load the config and serve with SO_REUSEPORT."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # until the loop's own handlers are in place
    from lip.observability import configure_logging

    configure_logging(args.level, args.log_format)
    if args.metrics_dir is not None:
        from lip.shared_metrics import use_shared_files  # it imports this module

        use_shared_files(args.metrics_dir)
    try:
        settings = load_settings(args.config_path, os.environ)
    except ConfigError as error:
        for problem in error.problems:
            log.error("%s", problem)
        sys.exit(1)
    coroutine = serve(
        settings,
        os.environ,
        host=args.host,
        port=args.port,
        config_path=args.config_path,
        reuse_port=True,
        metrics_dir=args.metrics_dir,
    )
    try:
        run(coroutine)
    except OSError as exc:
        log.error("cannot serve on %s:%d: %s", args.host, args.port, exc.strerror or exc)
        sys.exit(1)


class Supervisor:
    """Starts the workers, forwards SIGTERM/SIGINT/SIGHUP to them, and replaces a worker that dies. The workers
    share their metrics through a private directory that exists while the supervisor runs."""

    def __init__(self, count: int, args: WorkerArgs) -> None:
        self.count = count
        self.args = args
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, multiprocessing.process.BaseProcess] = {}
        self.exits: list[float] = []
        self.stopping = False
        self.failed = False

    def start(self, number: int) -> None:
        process = self.context.Process(target=worker_main, args=(self.args,), name=f"lip-worker-{number}")
        process.start()
        self.workers[number] = process

    def forward(self, signum: int, frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
        for process in self.workers.values():
            if process.pid is not None and process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

    def run(self) -> int:
        from lip.shared_metrics import shared_directory  # it imports this module

        with shared_directory() as metrics_dir:
            self.args = replace(self.args, metrics_dir=metrics_dir)
            return self._supervise()

    def _supervise(self) -> int:
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {signum: signal.signal(signum, self.forward) for signum in handled}
        try:
            for number in range(self.count):
                self.start(number)
            log.info(
                "lip started %d workers on http://%s:%d; they share their metrics in %s",
                self.count,
                self.args.host,
                self.args.port,
                self.args.metrics_dir,
            )
            while self.workers:
                sentinels = [process.sentinel for process in self.workers.values()]
                multiprocessing.connection.wait(sentinels, timeout=1.0)
                self._reap()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 1 if self.failed else 0

    def _reap(self) -> None:
        from lip.shared_metrics import forget_worker  # it imports this module

        for number, process in list(self.workers.items()):
            if process.is_alive():
                continue
            process.join()
            del self.workers[number]
            if process.pid is not None and self.args.metrics_dir is not None:
                forget_worker(process.pid, self.args.metrics_dir)
            code = process.exitcode
            if self.stopping:
                self.failed |= code not in (0, -signal.SIGTERM, -signal.SIGINT)
                continue
            now = time.monotonic()
            self.exits = [t for t in self.exits if now - t < RESTART_WINDOW_S] + [now]
            if len(self.exits) > max(3, self.count):
                log.error("workers keep exiting (worker %d: exit code %s); stopping the server", number, code)
                self.failed = True
                self.forward(signal.SIGTERM, None)
                continue
            log.error("worker %d (pid %s) exited with code %s; starting a new one", number, process.pid, code)
            self.start(number)
