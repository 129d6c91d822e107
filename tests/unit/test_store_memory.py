"""The in-memory store: bounded (least recently used goes first), every entry with a TTL, set-if-later."""

from __future__ import annotations

import pytest

from lip.config.models import StoreConfig
from lip.store import MemoryStore, open_store


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_entries_expire_and_the_least_recently_used_goes_first() -> None:
    clock = Clock()
    store = MemoryStore(max_items=2, clock=clock)
    assert await store.set("a", b"1", 10) and await store.set("b", b"2", 5)
    assert await store.get("a") == b"1"
    await store.set("c", b"3", 10)
    assert await store.get_many(["a", "b", "c", "d"]) == [b"1", None, b"3", None]
    clock.now = 10
    assert await store.get("a") is None and len(store) == 1
    assert await store.delete("c") and await store.get("c") is None


async def test_set_later_keeps_the_later_time() -> None:
    store = MemoryStore()
    await store.set_later("k", 100.0, 60)
    await store.set_later("k", 50.0, 60)
    assert await store.get("k") == b"100.0"
    await store.set_later("k", 150.5, 60)
    assert await store.get("k") == b"150.5"


def test_memory_is_the_default_and_is_not_shared() -> None:
    store = open_store(StoreConfig(), {})
    assert isinstance(store, MemoryStore) and not store.shared and store.secrets() == []
    with pytest.raises(ValueError):
        MemoryStore(max_items=0)


async def test_counters_expire_with_their_window() -> None:
    now = [0.0]
    store = MemoryStore(max_items=1, clock=lambda: now[0])
    assert await store.incr("a", 5, 10) == 5 and await store.incr("a", -1, 10) == 4
    assert await store.incr("b", 1, 10) == 1 and await store.set("x", b"1", 10) and await store.set("y", b"2", 10)
    assert await store.counters(["a", "b", "c"]) == [4, 1, 0]  # the LRU's size does not evict a counter
    now[0] = 10.0
    assert await store.counters(["a"]) == [0] and await store.incr("a", 1, 10) == 1
