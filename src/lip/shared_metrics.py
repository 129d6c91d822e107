"""One /metrics for every worker of ``lip serve --workers N`` (N > 1), through prometheus_client's multiprocess mode.

The parent makes a private directory (``shared_directory``) and hands it to the workers; each worker's
prometheus_client keeps every value in mmap files there (``use_shared_files``: one file per metric kind and pid).
A scrape, whichever worker answers it, merges all the files:

- counters and histograms are summed over every worker that ever ran, the dead ones included (a restarted worker's
  requests still count, as in any prometheus_client multiprocess setup);
- ``lip_in_flight_requests``, ``lip_in_flight_streams`` and ``lip_workers`` are summed over live workers
  (``livesum``: the parent deletes a dead worker's live-gauge files, ``forget_worker``);
- ``lip_backend_keys`` has one series per live worker, labelled with its ``pid`` (``liveall``): each worker holds
  its own key cooldowns, so a key a 429 cools in one worker is still usable in another, and a sum or a maximum
  over workers would add up to more keys than a backend has. Each worker writes its counts every
  ``KEYS_REFRESH_S``; the worker that answers a scrape writes its own first. ``lip_store_up`` is per worker the
  same way (each worker has its own connection to Redis); ``lip_store_failed_calls`` and ``lip_store_outages`` are
  summed (each worker adds what it counted since its last write).

One worker never comes here: it keeps a registry of its own and writes no file (``lip.observability``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from lip.lifecycle import InFlight, Lifecycle
from lip.observability import (
    IN_FLIGHT_HELP,
    KEYS_HELP,
    STORE_FAILED_HELP,
    STORE_OUTAGES_HELP,
    STORE_UP_HELP,
    STREAMS_HELP,
    WORKERS_HELP,
    key_counts,
    store_health,
)
from lip.runtime import Runtime

ENV = "PROMETHEUS_MULTIPROC_DIR"
KEYS_REFRESH_S = 1.0


# ---------------------------------------------------------------- the parent


@contextlib.contextmanager
def shared_directory() -> Iterator[str]:
    """A private directory (mode 0700) for the workers' metric files; removed with what is in it at exit."""
    path = tempfile.mkdtemp(prefix="lip-metrics-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def forget_worker(pid: int, path: str) -> None:
    """A worker has exited: its live gauges leave the totals; its counters and histograms stay in them."""
    mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------- a worker


def use_shared_files(path: str) -> None:
    """Before a worker's first metric: prometheus_client keeps every value in mmap files of this pid in ``path``.

    The pid is read once. prometheus_client's default asks the kernel for it on every write, to notice a fork; a
    worker never forks, and the system call was half of each write's cost (1.4 instead of 3.4 µs here).
    """
    os.environ[ENV] = path  # where prometheus_client's values open their files
    pid = os.getpid()
    values.ValueClass = values.MultiProcessValue(lambda: pid)  # type: ignore[no-untyped-call]


class SharedMetrics:
    """A worker's gauges written to the shared files, and a scrape that merges every worker's files."""

    def __init__(self, path: str, current: Callable[[], Runtime | None]) -> None:
        if not getattr(values.ValueClass, "_multiprocess", False):
            raise RuntimeError("call use_shared_files() before the first metric: the workers would not share metrics")
        self.current = current
        self.registry = CollectorRegistry()
        MultiProcessCollector(self.registry, path)  # type: ignore[no-untyped-call]
        self.in_flight = Gauge("lip_in_flight_requests", IN_FLIGHT_HELP, registry=None, multiprocess_mode="livesum")
        self.streams = Gauge("lip_in_flight_streams", STREAMS_HELP, registry=None, multiprocess_mode="livesum")
        self.keys = Gauge(
            "lip_backend_keys", KEYS_HELP, ["backend", "state"], registry=None, multiprocess_mode="liveall"
        )
        self._written: set[tuple[str, str]] = set()
        Gauge("lip_workers", WORKERS_HELP, registry=None, multiprocess_mode="livesum").set(1)
        self.store_up = Gauge("lip_store_up", STORE_UP_HELP, registry=None, multiprocess_mode="liveall")
        self.store_failed = Counter("lip_store_failed_calls", STORE_FAILED_HELP, registry=None)
        self.store_outages = Counter("lip_store_outages", STORE_OUTAGES_HELP, registry=None)
        self._store_counted = (0, 0)  # failed calls and outages already added to the counters

    def refresh(self) -> None:
        self.refresh_keys()
        self.refresh_store()

    def refresh_store(self) -> None:
        """Write this worker's view of the shared store: up (one series per worker), failed calls and outages (summed
        over the workers)."""
        health = store_health(self.current())
        if health is None:
            return
        self.store_up.set(int(health.reachable))
        failed, outages = self._store_counted
        self.store_failed.inc(health.failed_calls - failed)
        self.store_outages.inc(health.outages - outages)
        self._store_counted = (health.failed_calls, health.outages)

    def refresh_keys(self) -> None:
        """Write this worker's key counts; a backend a reload removed drops to 0."""
        seen: set[tuple[str, str]] = set()
        for prefix, state, count in key_counts(self.current()):
            self.keys.labels(prefix, state).set(count)
            seen.add((prefix, state))
        for gone in self._written - seen:
            self.keys.labels(*gone).set(0)
        self._written |= seen

    def render(self) -> bytes:
        self.refresh()
        return generate_latest(self.registry)

    async def refresh_forever(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context: refresh the key counts and the store state every ``KEYS_REFRESH_S`` while the app runs."""

        async def loop() -> None:
            while True:
                self.refresh()
                await asyncio.sleep(KEYS_REFRESH_S)

        task = asyncio.get_running_loop().create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class CountedLifecycle(Lifecycle):
    """The lifecycle of a worker with shared metrics: requests and streams in flight are written as they change.

    (One process reads ``len(requests)`` and ``streams`` at scrape time instead: nothing per request.)
    """

    def __init__(self, env: Mapping[str, str], config_path: str | None, metrics: SharedMetrics) -> None:
        self._streams = 0
        self._in_flight_gauge = metrics.in_flight
        self._streams_gauge = metrics.streams
        super().__init__(env, config_path)

    def enter(self, runtime: Runtime) -> InFlight:
        entry = super().enter(runtime)
        self._in_flight_gauge.set(len(self.requests))
        return entry

    def leave(self, entry: InFlight) -> None:
        super().leave(entry)
        self._in_flight_gauge.set(len(self.requests))

    @property
    def streams(self) -> int:
        return self._streams

    @streams.setter
    def streams(self, count: int) -> None:
        if count != self._streams:
            self._streams = count
            self._streams_gauge.set(count)
