"""Admission: max_concurrent_requests per backend instance, a short bounded wait, then 429 with Retry-After in the
client's shape; a flood on one backend never starves requests for another."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest

from tests.fakes import FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
SLOW = Turn(text="s l o w", chunks=3, delay_between_chunks=0.07)  # about 0.4 s: the delay is between all 7 frames


def row(name: str, url: str, limit: int, wait: float) -> dict[str, Any]:
    return backend_row(name, url + "/v1", models=MODELS, max_concurrent_requests=limit, admission_wait_s=wait)


def client(lip: LipServer) -> openai.AsyncOpenAI:
    """One client per test: making one costs tens of milliseconds, which would blur the timings."""
    if not lip.clients:
        return lip.openai()
    made = lip.clients[0]
    assert isinstance(made, openai.AsyncOpenAI)
    return made


async def drain(lip: LipServer, model: str) -> str:
    stream = await client(lip).chat.completions.create(model=model, messages=MESSAGES, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


async def until_in_flight(lip: LipServer, prefix: str, count: int) -> None:
    admission = lip.runtime.backends[prefix].admission  # type: ignore[attr-defined]
    for _ in range(200):
        if admission.in_flight >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{prefix} never reached {count} requests in flight")


async def test_over_the_limit_a_short_wait_then_429_with_retry_after(fake_provider: FakeProvider) -> None:
    fake_provider.queue(SLOW)
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url, 1, 0.2)]}}) as lip:
        holder = asyncio.create_task(drain(lip, "a:m"))
        await until_in_flight(lip, "a", 1)
        started = time.perf_counter()
        with pytest.raises(openai.RateLimitError) as caught:
            await client(lip).chat.completions.create(model="a:m", messages=MESSAGES)
        waited = time.perf_counter() - started
        assert await holder == "s l o w"
    assert 0.18 <= waited < 0.4
    error = caught.value
    assert error.status_code == 429 and error.response.headers["Retry-After"] == "1"
    assert isinstance(error.body, dict) and set(error.body) == {"message", "type", "param", "code"}
    assert error.body["code"] == "admission_full" and "limit of 1 concurrent" in error.body["message"]
    assert len(fake_provider.requests_to("/chat/completions")) == 1  # the refused request never left lip


async def test_a_slot_freed_within_the_wait_admits_the_request(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="first", chunks=2, delay_between_chunks=0.15), Turn(text="second"))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url, 1, 2.0)]}}) as lip:
        holder = asyncio.create_task(drain(lip, "a:m"))
        await until_in_flight(lip, "a", 1)
        assert await drain(lip, "a:m") == "second"
        assert await holder == "first"
        assert lip.runtime.backends["a"].diagnostics()["admission"]["in_flight"] == 0


async def test_a_full_leaf_fails_over(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(SLOW)
    b.queue(Turn(text="from b"))
    async with run_lip({"plugins": {"backends": [row("a", a.url, 1, 0.1), row("b", b.url, 1, 0.1)]}}) as lip:
        holder = asyncio.create_task(drain(lip, "a:m"))
        await until_in_flight(lip, "a", 1)
        assert await drain(lip, "a:m|b:m") == "from b"
        await holder
        assert lip.runtime.health.state("a") == "closed"  # lip's own limit says nothing about a's health


async def test_a_flood_on_one_backend_does_not_starve_another(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(*[SLOW] * 8)
    async with run_lip({"plugins": {"backends": [row("a", a.url, 2, 0.3), row("b", b.url, 2, 0.3)]}}) as lip:
        flood = [asyncio.create_task(drain(lip, "a:m")) for _ in range(8)]
        await until_in_flight(lip, "a", 2)
        for _ in range(5):
            started = time.perf_counter()
            assert await drain(lip, "b:m") == "Hello from fake"
            assert time.perf_counter() - started < 0.1
        outcomes = await asyncio.gather(*flood, return_exceptions=True)
    assert sum(o == "s l o w" for o in outcomes) == 2
    assert sum(isinstance(o, openai.RateLimitError) for o in outcomes) == 6
