"""The Redis store against a real redis-server: a key prefix, TTLs, an atomic set-if-later; a timeout on every
call; Redis down or silent costs one warning per outage, counted, while this process's copy answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from lip.config.models import StoreConfig
from lip.store import Store, open_store
from tests.harness import CANARY, free_port
from tests.redisd import RedisServer


def redis_store(url: str, **config: object) -> Store:
    return open_store(StoreConfig.model_validate({"kind": "redis", "prefix": "p:", **config}), {"LIP_REDIS_URL": url})


async def test_values_live_under_the_prefix_with_their_ttl(redis_server: RedisServer) -> None:
    store = redis_store(redis_server.url)
    try:
        assert await store.set("x", b"value", 30)
        assert await redis_server.command("GET", "p:x") == b"value"
        assert 29_000 < int((await redis_server.command("PTTL", "p:x")).lstrip(b":")) <= 30_000
        assert await store.get_many(["x", "y"]) == [b"value", None]
        await redis_server.command("SET", "p:y", "theirs")
        assert await store.get("y") == b"theirs"
        assert await store.delete("x") and await redis_server.command("GET", "p:x") == b"$-1"
    finally:
        await store.aclose()


async def test_set_later_is_atomic_in_redis(redis_server: RedisServer) -> None:
    one, other = redis_store(redis_server.url), redis_store(redis_server.url)
    try:
        await asyncio.gather(*(s.set_later("cool", t, 60) for s, t in ((one, 100.0), (other, 50.0), (one, 75.0))))
        assert await redis_server.command("GET", "p:cool") == b"100.0"
        await other.set_later("cool", 150.0, 60)
        assert await one.get("cool") == b"150.0"
    finally:
        await one.aclose()
        await other.aclose()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", free_port())
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_a_silent_redis_times_out_once_then_is_skipped(
    silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    store = redis_store(f"redis://:{CANARY}@127.0.0.1:{silent_port}/0", timeout_s=0.1)
    try:
        with caplog.at_level(logging.WARNING, logger="lip.store.redis_store"):
            started = time.perf_counter()
            assert not await store.set("r", b"kept here", 60)
            first = time.perf_counter() - started
            assert await store.get("r") == b"kept here"  # this process's copy
            assert await store.get_many(["r"]) == [b"kept here"]
            skipped = time.perf_counter() - started - first
        assert first < 0.5 and skipped < 0.05, "one timeout, then no call is tried during the outage"
        description = store.describe()
        assert description["reachable"] is False and description["failed_calls"] == 1
        assert description["outages"] == 1
        [warning] = [r.getMessage() for r in caplog.records]
        assert "unreachable" in warning and "redis://***:***@127.0.0.1" in warning and CANARY not in warning
    finally:
        await store.aclose()


async def test_a_wrong_password_is_an_outage_that_never_shows_the_password(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = redis_server.url.replace(CANARY, CANARY + "-wrong")
    store = redis_store(url)
    try:
        with caplog.at_level(logging.WARNING, logger="lip.store.redis_store"):
            assert await store.get("x") is None
        assert store.describe()["failed_calls"] == 1
        assert all(CANARY not in r.getMessage() for r in caplog.records)
    finally:
        await store.aclose()


async def test_a_cancelled_call_stays_cancelled(silent_port: int) -> None:
    store = redis_store(f"redis://127.0.0.1:{silent_port}/0", timeout_s=5)
    try:
        call = asyncio.ensure_future(store.get("x"))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert store.describe()["failed_calls"] == 0, "a cancelled call is not an outage"
    finally:
        await store.aclose()


async def test_counters_add_atomically_across_stores_with_a_ttl(redis_server: RedisServer) -> None:
    one, other = redis_store(redis_server.url), redis_store(redis_server.url)
    try:
        sums = await asyncio.gather(*(s.incr("n", 2, 60) for s in [one, other] * 10))
        assert sorted(sums) == list(range(2, 41, 2))  # every addition saw a different total: no lost update
        assert await one.counters(["n", "missing"]) == [40, 0]
        assert 30_000 < int((await redis_server.command("PTTL", "p:n")).lstrip(b":")) <= 60_000  # set once, not reset
    finally:
        await one.aclose()
        await other.aclose()
