"""Health: consecutive failures open a backend's circuit; while open it is skipped (no request reaches it) as long
as another leaf exists; after the cooldown one probe goes through and a success closes the circuit again."""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def row(name: str, url: str, **config: Any) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    return backend_row(name, url + "/v1", models=models, circuit_failures=2, circuit_cooldown_s=30, **config)


def calls(fake: FakeProvider) -> int:
    return len(fake.requests_to("/chat/completions"))


async def served_by(lip: LipServer, model: str = "a:m|b:m") -> str | None:
    raw = await lip.openai().chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    return raw.headers.get("x-lip-backend")


async def test_a_circuit_opens_skips_and_recovers(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(Fail(503), Fail(503))
    async with run_lip({"plugins": {"backends": [row("a", a.url), row("b", b.url)]}}) as lip:
        clock = Clock()
        lip.runtime.health.clock = clock
        assert [await served_by(lip), await served_by(lip)] == ["b:m", "b:m"]
        assert calls(a) == 2
        state = (await diagnostics(lip))["circuits"]["a"]
        assert state["state"] == "open" and state["last_error"] == "http_503"

        assert await served_by(lip) == "b:m"
        assert calls(a) == 2  # skipped: nothing reached the open backend

        clock.now += 31  # cooldown over: half-open, the next request is the probe
        assert await served_by(lip) == "a:m"
        assert calls(a) == 3
        assert lip.runtime.health.state("a") == "closed"
        assert await served_by(lip) == "a:m"


async def test_a_failed_probe_reopens_the_circuit(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(Fail(503), Fail(503), Fail(502), Turn())
    async with run_lip({"plugins": {"backends": [row("a", a.url), row("b", b.url)]}}) as lip:
        clock = Clock()
        lip.runtime.health.clock = clock
        for _ in range(2):
            await served_by(lip)
        clock.now += 31
        assert await served_by(lip) == "b:m"  # the probe failed and the request failed over
        assert calls(a) == 3 and lip.runtime.health.state("a") == "open"
        assert await served_by(lip) == "b:m" and calls(a) == 3


async def test_an_open_circuit_is_still_tried_when_it_is_the_only_leaf(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Fail(503), Fail(503))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url)]}}) as lip:
        lip.runtime.health.clock = Clock()
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                await served_by(lip, "a:m")
        assert lip.runtime.health.state("a") == "open"
        assert await served_by(lip, "a:m") == "a:m"
        assert lip.runtime.health.state("a") == "closed"


async def test_a_backend_whose_keys_all_cool_down_is_skipped(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.keys = {"only-key": Fail(429, headers={"Retry-After": "60"})}
    cfg = {"plugins": {"backends": [row("a", a.url, api_key_env_var_root="A_KEY"), row("b", b.url)]}}
    async with run_lip(cfg, {"A_KEY": "only-key"}) as lip:
        assert await served_by(lip) == "b:m"
        assert await served_by(lip) == "b:m"
        assert calls(a) == 1  # the cooling key kept the second request away
        assert lip.runtime.health.blocked_for(lip.runtime.planner.plan("a:m")[0]) is not None


async def diagnostics(lip: LipServer) -> Any:
    async with aiohttp.ClientSession() as session, session.get(lip.url + "/v1/diagnostics") as response:
        assert response.status == 200
        return await response.json()
