"""The serving process, above the app: ``serve`` (signals, the runner, one port), and ``--workers N``.

- ``serve`` runs one app until SIGTERM or SIGINT, then drains it (``lip.lifecycle``); SIGHUP reloads the config.
- ``--workers N`` runs N processes that each bind the same port with SO_REUSEPORT; the parent (``Supervisor``)
  forwards signals and replaces a worker that dies. The workers share their metrics (``lip.shared_metrics``).
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
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from lip import heap
from lip.config.load import ConfigError, Settings
from lip.connections import HeadGuard, HeadTimedRunner
from lip.lifecycle import GRACE_S, load_settings, reload
from lip.observability import configure_logging
from lip.server import create_app
from lip.shared_metrics import forget_worker, shared_directory, use_shared_files

log = logging.getLogger(__name__)
RESTART_WINDOW_S = 60.0  # more worker exits than max(3, N) in this window stop the server instead
# aiohttp's default listen backlog is 128: a burst of new connections beyond it (256 clients connecting at once in
# the benchmark's S3) has SYNs dropped and retried by the clients after 1 s and 3 s. The kernel caps it at somaxconn.
LISTEN_BACKLOG = 4096


def make_runner(app: web.Application, settings: Settings) -> web.AppRunner:
    """The runner ``lip serve`` uses: handlers cancelled when the client leaves, header sizes bounded, request heads
    bounded in time and in how many connections wait for one (``lip.connections``)."""
    server = settings.config.server
    return HeadTimedRunner(
        app,
        HeadGuard(server.head_timeout_s, server.max_pending_heads),
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
    configure_logging(args.level, args.log_format)
    if args.metrics_dir is not None:
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
