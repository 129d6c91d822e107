"""The store interface, the in-memory default (bounded, TTL'd, per process).

What lip keeps in the store, and who reads it::

    resp:<response id>            the conversation behind previous_response_id   (lip.response_store)
    key:<backend id>:<fp>:cool    an API key's 429 cool-down, wall-clock seconds  (lip.routing.shared)
    key:<backend id>:<fp>:off     an API key rejected with 401                    (lip.routing.shared)
    circuit:<backend id>          an open backend circuit: until and last error   (lip.routing.shared)
    quota:<key name>:<what>:<n>   a client key's counter in one window (``incr``)  (lip.quotas)
    aff:<hash>                    the leaf a sticky conversation is bound to        (lip.routing.affinity)
    chain:<response id>           the conversation a Responses answer belongs to    (lip.routing.affinity)

``<fp>`` is a truncated SHA-256 of the backend id and the key, never the key. Values are bytes; every entry has a
TTL. A store never raises because it is unreachable: the Redis store logs one warning per outage, counts the failed
calls and answers from this process's own copy meanwhile (see lip.store.redis_store).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lip.credentials import Secret


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """A shared store's state for the metrics: answering now, calls failed and outages so far."""

    reachable: bool
    failed_calls: int
    outages: int


class Store(Protocol):
    kind: str
    shared: bool  # True when other processes see what this one writes

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    # writes return True when the store took them (False: Redis was unreachable; only this process's copy has it)

    async def set(self, key: str, value: bytes, ttl_s: float) -> bool: ...

    async def set_later(self, key: str, until: float, ttl_s: float) -> bool:
        """Store the number ``until`` unless the stored one is larger (atomic: two writers keep the later)."""
        ...

    async def delete(self, key: str) -> bool: ...

    async def incr(self, key: str, amount: int, ttl_s: float) -> int:
        """Add ``amount`` to the counter ``key`` and return the sum (atomic: no read-modify-write race between
        processes); a new counter expires after ``ttl_s``."""
        ...

    async def counters(self, keys: Sequence[str]) -> list[int]:
        """The counters ``keys`` (0 for a missing one)."""
        ...

    def describe(self) -> dict[str, object]: ...

    def health(self) -> StoreHealth | None:
        """None for a store that cannot fail (the in-process one)."""
        ...

    def secrets(self) -> list[Secret]: ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """One process's store: an LRU of at most ``max_items`` entries, each dropped when its TTL has passed."""

    kind = "memory"
    shared = False

    def __init__(self, max_items: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self.clock = clock
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # key -> (value, expires at)
        self._counters: dict[str, tuple[int, float]] = {}  # apart from the LRU: a limit must not be evicted

    def __len__(self) -> int:
        return len(self._items)

    def peek(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._items[key] = (value, self.clock() + ttl_s)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def put_later(self, key: str, until: float, ttl_s: float) -> None:
        current = self.peek(key)
        if current is None or float(current) < until:
            self.put(key, repr(until).encode(), ttl_s)

    def remove(self, key: str) -> None:
        self._items.pop(key, None)

    async def get(self, key: str) -> bytes | None:
        return self.peek(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.peek(key) for key in keys]

    async def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        self.put(key, value, ttl_s)
        return True

    async def set_later(self, key: str, until: float, ttl_s: float) -> bool:
        self.put_later(key, until, ttl_s)
        return True

    async def delete(self, key: str) -> bool:
        self.remove(key)
        return True

    def add(self, key: str, amount: int, ttl_s: float) -> int:
        now = self.clock()
        value, expires = self._counters.get(key, (0, 0.0))
        if expires <= now:
            value, expires = 0, now + ttl_s
            if len(self._counters) > self.max_items:  # windows pass: drop the expired counters now and then
                self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._counters[key] = (value + amount, expires)
        return value + amount

    def counter(self, key: str) -> int:
        value, expires = self._counters.get(key, (0, 0.0))
        return value if expires > self.clock() else 0

    async def incr(self, key: str, amount: int, ttl_s: float) -> int:
        return self.add(key, amount, ttl_s)

    async def counters(self, keys: Sequence[str]) -> list[int]:
        return [self.counter(key) for key in keys]

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "items": len(self._items), "max_items": self.max_items}

    def health(self) -> StoreHealth | None:
        return None

    def secrets(self) -> list[Secret]:
        return []

    async def aclose(self) -> None:
        return None
