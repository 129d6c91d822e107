"""Key cool-downs, disabled keys and backend circuits shared between lip processes through the store.

The request path never waits for the store. A change seen here (a key cooled by a 429 or disabled by a 401, a
backend circuit opened or closed) is queued and written by one background task, in order. Every
``store.sync_interval_s`` one ``get_many`` reads what the other processes wrote for this configuration's keys and
backends and applies it to the local ``KeyRing``s and ``Health``, which are all the request path reads. So another
process skips a cooling key or an open circuit within one interval; until then it may try it once and learn the same
thing itself.

Entries (names in lip.store.base), with wall-clock times, since processes on other machines compare them:

- ``key:<id>:<fp>:cool``: when the cool-down ends; the later of two writers wins; gone when it ends.
- ``key:<id>:<fp>:off``: the key was rejected (401). A process that reloads its configuration deletes the marks of
  the keys it loads (the operator's way to try a key again); they also expire after ``DISABLED_TTL_S``.
- ``circuit:<id>``: ``{"until", "error"}``, kept ``CIRCUIT_LINGER_S`` past ``until`` so the half-open probe of each
  process decides; deleted when a request succeeds. A process whose circuit came from (or went to) the store closes
  it when the entry is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

import orjson

from lip.backends.base import Backend
from lip.credentials import KeyRing, KeyState
from lip.routing.health import Circuit, Health
from lip.store import Store

log = logging.getLogger(__name__)
DISABLED_TTL_S = 7 * 86400.0
CIRCUIT_LINGER_S = 60.0
MAX_QUEUED_WRITES = 1024
PREVIOUS_FLUSH_S = 2.0  # how long a reloaded routing waits for the one it replaces to write its last changes
Write = Callable[[], Awaitable[object]]


def fingerprint(backend_id: str, state: KeyState) -> str:
    """A key's name in the store: a truncated hash, never the key."""
    digest = hashlib.sha256(b"lip key\0" + backend_id.encode() + b"\0" + state.secret.reveal().encode())
    return digest.hexdigest()[:24]


class _RingListener:
    """One backend's KeyRing -> the shared store."""

    def __init__(self, shared: SharedRouting, backend_id: str, names: dict[int, str]) -> None:
        self.shared = shared
        self.backend_id = backend_id
        self.names = names  # id(KeyState) -> "key:<id>:<fp>"

    def cooled(self, state: KeyState, seconds: float) -> None:
        until = self.shared.wall() + seconds
        name = self.names[id(state)] + ":cool"
        self.shared.queue(lambda: self.shared.store.set_later(name, until, seconds + 1.0))

    def disabled(self, state: KeyState) -> None:
        name = self.names[id(state)] + ":off"
        self.shared.queue(lambda: self.shared.store.set(name, b"1", DISABLED_TTL_S))


class SharedRouting:
    def __init__(
        self,
        store: Store,
        health: Health,
        backends: Iterable[Backend],
        interval_s: float,
        *,
        reloaded: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.health = health
        self.interval_s = interval_s
        self.reloaded = reloaded
        self.wall = wall
        self.rings: list[tuple[str, KeyRing, list[tuple[KeyState, str]]]] = []
        self.backend_ids: list[str] = []
        for backend in backends:
            self.backend_ids.append(backend.id)
            ring = getattr(backend, "keys", None)
            if isinstance(ring, KeyRing) and ring.keys:
                keys = [(state, f"key:{backend.id}:{fingerprint(backend.id, state)}") for state in ring.keys]
                ring.listener = _RingListener(self, backend.id, {id(state): name for state, name in keys})
                self.rings.append((backend.id, ring, keys))
        health.listener = self
        self._writes: asyncio.Queue[Write] = asyncio.Queue(MAX_QUEUED_WRITES)
        self._tasks: list[asyncio.Task[None]] = []
        self.synced = asyncio.Event()  # set once the first sync has applied (after a reload's clearing)
        self.previous: SharedRouting | None = None  # the routing this one replaces on a reload
        self._closing = False

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_loop()), loop.create_task(self._sync_loop())]

    # ---- changes seen here -> the store

    def queue(self, write: Write) -> None:
        try:
            self._writes.put_nowait(write)
        except asyncio.QueueFull:
            log.debug("shared routing: too many changes queued; one is not shared")

    def opened(self, name: str, circuit: Circuit, seconds: float) -> None:
        record = orjson.dumps({"until": self.wall() + seconds, "error": circuit.last_error})

        async def write() -> None:
            if await self.store.set("circuit:" + name, record, seconds + CIRCUIT_LINGER_S):
                circuit.shared_since = self.health.clock()

        self.queue(write)

    def closed(self, name: str) -> None:
        self.queue(functools.partial(self.store.delete, "circuit:" + name))

    async def _write_loop(self) -> None:
        while not self._closing or not self._writes.empty():
            write = await self._writes.get()
            try:
                await write()
            finally:
                self._writes.task_done()

    # ---- the store -> local state

    async def flushed(self, limit_s: float) -> None:
        """Wait (at most ``limit_s``) until the changes queued so far have been written."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._writes.join(), limit_s)

    async def _sync_loop(self) -> None:
        if self.reloaded:
            if self.previous is not None:  # its last changes first: a rejection queued just before the reload
                await self.previous.flushed(PREVIOUS_FLUSH_S)  # must not land after the clearing below
            for _, _, keys in self.rings:
                for _, name in keys:
                    self.queue(functools.partial(self.store.delete, name + ":off"))
            await self._writes.join()
        while not self._closing:
            await self.sync()
            self.synced.set()
            await asyncio.sleep(self.interval_s)

    async def sync(self) -> None:
        """Read the shared entries of this configuration's keys and backends once and apply them."""
        names = [name + suffix for _, _, keys in self.rings for _, name in keys for suffix in (":cool", ":off")]
        names += ["circuit:" + backend_id for backend_id in self.backend_ids]
        read_at = self.health.clock()
        values = iter(await self.store.get_many(names))
        now = self.wall()
        for backend_id, ring, keys in self.rings:
            for number, (state, _) in enumerate(keys, 1):
                cool, off = next(values), next(values)
                cool_for = _number(cool) - now
                if ring.adopt(state, disabled=off is not None, cool_for=cool_for):
                    what = "disabled (rejected)" if off is not None else f"cooling down for {cool_for:.0f} s"
                    log.info("backend '%s': API key %d is %s, as another lip process found", backend_id, number, what)
        for backend_id in self.backend_ids:
            self._apply_circuit(backend_id, next(values), now, read_at)

    def _apply_circuit(self, name: str, value: bytes | None, now: float, read_at: float) -> None:
        if value is None:
            self.health.release(name, read_at)
            return
        try:
            record = orjson.loads(value)
            open_for = float(record["until"]) - now
            error = record.get("error")
        except (ValueError, TypeError, KeyError, AttributeError):
            log.debug("shared routing: an unreadable circuit entry for %s", name)
            return
        if open_for > 0:
            self.health.adopt(name, open_for, error if isinstance(error, str) else None)

    async def aclose(self, grace_s: float = 1.0) -> None:
        """Stop syncing; give queued changes ``grace_s`` to reach the store."""
        self._closing = True
        if not self._tasks:
            return
        self._tasks[1].cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await self._writes.join()
        pending = set(self._tasks)
        while pending:  # a cancellation a library swallowed is repeated
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)


def _number(value: bytes | None) -> float:
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
