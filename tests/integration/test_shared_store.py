"""store.kind redis: two lip servers sharing one real Redis behave as one deployment — a response made through one
continues through the other, a key cooled or a circuit opened by one is skipped by the other — and a Redis that
goes away fails no request. The Redis URL holds a password (the canary) that never shows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from lip.lifecycle import reload
from lip.runtime import RUNTIME
from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import CANARY, LipServer, backend_row, run_lip
from tests.integration.operate import call, run_lip_file, write_config
from tests.integration.test_metrics import sample, scrape
from tests.redisd import RedisServer

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
MESSAGES = [{"role": "user", "content": "hi"}]
FAST_SYNC = 0.05  # store.sync_interval_s in these tests


def config(*rows: dict[str, Any], kind: str = "redis") -> dict[str, Any]:
    store = {"kind": kind, "url_env": "TEST_REDIS_URL", "prefix": "t:", "sync_interval_s": FAST_SYNC, "timeout_s": 2}
    return {"plugins": {"backends": list(rows)}, "store": store}


def row(name: str, fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    return backend_row(name, fake.url + "/v1", models=MODELS, **extra)


@asynccontextmanager
async def two_lips(cfg: dict[str, Any], env: dict[str, str]) -> AsyncIterator[tuple[LipServer, LipServer]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(run_lip(cfg, env))
        second = await stack.enter_async_context(run_lip(cfg, env))
        yield first, second


async def diagnostics(lip: LipServer) -> Any:
    async with aiohttp.ClientSession() as session, session.get(lip.url + "/v1/diagnostics") as response:
        assert response.status == 200
        text = await response.text()
    assert CANARY not in text
    return orjson.loads(text)


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(FAST_SYNC / 2)


async def served_by(lip: LipServer, model: str = "a:m|b:m") -> str | None:
    raw = await lip.openai().chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    return raw.headers.get("x-lip-backend")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_response_made_through_one_lip_continues_through_the_other(
    fake_provider: FakeProvider, redis_server: RedisServer, stream: bool
) -> None:
    fake_provider.queue(Turn(text="Nice to meet you, Ada."), Turn(text="Ada."))
    env = {"TEST_REDIS_URL": redis_server.url}
    async with two_lips(config(row("a", fake_provider)), env) as (one, other):
        if stream:
            async with one.openai().responses.stream(model="a:m", input="My name is Ada.") as events:
                first = await events.get_final_response()
        else:
            first = await one.openai().responses.create(model="a:m", input="My name is Ada.")
        second = await other.openai().responses.create(
            model="a:m", input="What is my name?", previous_response_id=first.id
        )
    assert second.output_text == "Ada."
    sent = fake_provider.requests_to("/chat/completions")[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]


async def test_a_key_cooled_by_one_lip_is_skipped_by_the_other(
    fake_provider: FakeProvider, redis_server: RedisServer
) -> None:
    fake_provider.keys = {"key-a": Fail(429, headers={"Retry-After": "60"}), "key-b": None}
    env = {"TEST_REDIS_URL": redis_server.url, "P_KEY": "key-a", "P_KEY_2": "key-b"}
    async with two_lips(config(row("a", fake_provider, key_root="P_KEY")), env) as (one, other):
        assert await served_by(one, "a:m") == "a:m"  # key-a: 429, then key-b

        async def other_knows() -> bool:
            keys = (await diagnostics(other))["backends"][0]["keys"]
            return bool(keys[0]["cooling_s"] > 50 and keys[1]["cooling_s"] == 0)

        await eventually(other_knows)
        assert await served_by(other, "a:m") == "a:m"
    sent = [r.headers["Authorization"] for r in fake_provider.requests_to("/chat/completions")]
    assert sent == ["Bearer key-a", "Bearer key-b", "Bearer key-b"], "the other lip never tried the cooling key"


async def test_a_key_rejected_through_one_lip_is_disabled_in_the_other(
    fake_provider: FakeProvider, redis_server: RedisServer
) -> None:
    fake_provider.keys = {"key-a": Fail(401), "key-b": None}
    env = {"TEST_REDIS_URL": redis_server.url, "P_KEY": "key-a", "P_KEY_2": "key-b"}
    async with two_lips(config(row("a", fake_provider, key_root="P_KEY")), env) as (one, other):
        assert await served_by(one, "a:m") == "a:m"

        async def other_knows() -> bool:
            return bool((await diagnostics(other))["backends"][0]["keys"][0]["disabled"])

        await eventually(other_knows)
        assert await served_by(other, "a:m") == "a:m"
    sent = [r.headers["Authorization"] for r in fake_provider.requests_to("/chat/completions")]
    assert sent == ["Bearer key-a", "Bearer key-b", "Bearer key-b"]


async def test_a_circuit_opened_by_one_lip_is_open_in_the_other_and_closes_in_both(
    fake_provider_factory: FakeProviderFactory, redis_server: RedisServer
) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(Fail(503), Fail(503))
    rows = [row(n, f, circuit_failures=2, circuit_cooldown_s=30) for n, f in (("a", a), ("b", b))]
    async with two_lips(config(*rows), {"TEST_REDIS_URL": redis_server.url}) as (one, other):
        assert [await served_by(one), await served_by(one)] == ["b:m", "b:m"]

        async def other_open() -> bool:
            return bool((await diagnostics(other))["circuits"].get("a", {}).get("state") == "open")

        await eventually(other_open)
        assert await served_by(other) == "b:m"
        assert len(a.requests_to("/chat/completions")) == 2, "nothing reached the open backend through the other"

        assert await served_by(one, "a:m") == "a:m"  # the only leaf: tried although open; it succeeds and closes

        async def other_closed() -> bool:
            return "a" not in (await diagnostics(other))["circuits"]

        await eventually(other_closed)
        assert await served_by(other) == "a:m"


async def test_redis_going_away_fails_no_request(
    fake_provider: FakeProvider, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_provider.queue(*(Turn(text=f"answer {n}") for n in range(8)))
    async with run_lip(config(row("a", fake_provider)), {"TEST_REDIS_URL": redis_server.url}) as lip:
        client = lip.openai()
        before = await client.responses.create(model="a:m", input="one")
        up = await scrape(lip.url)
        await redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="lip.store.redis_store"):
            during = await client.responses.create(model="a:m", input="two", previous_response_id=before.id)
            again = await client.responses.create(model="a:m", input="three", previous_response_id=during.id)
            chat = await client.chat.completions.create(model="a:m", messages=MESSAGES)
            store = (await diagnostics(lip))["store"]
            down = await scrape(lip.url)
            await redis_server.start()

            async def reachable() -> bool:  # the store tries Redis again a second after a failure
                return bool((await diagnostics(lip))["store"]["reachable"])

            await eventually(reachable)
            after = await client.responses.create(model="a:m", input="four", previous_response_id=again.id)
            back = await scrape(lip.url)
        assert (during.output_text, again.output_text, after.output_text) == ("answer 1", "answer 2", "answer 4")
        assert chat.choices[0].message.content == "answer 3"
        assert store["reachable"] is False and store["failed_calls"] >= 1 and store["outages"] == 1
        assert CANARY not in str(store) and store["url"].startswith("redis://***:***@127.0.0.1:")
    assert (sample(up, "lip_store_up"), sample(up, "lip_store_failed_calls_total")) == (1, 0)
    assert sample(down, "lip_store_up") == 0 and sample(down, "lip_store_outages_total") == 1
    assert sample(down, "lip_store_failed_calls_total") >= store["failed_calls"] >= 1
    assert sample(back, "lip_store_up") == 1 and sample(back, "lip_store_outages_total") == 1
    assert CANARY not in up + down + back
    unreachable = [r for r in caplog.records if "is unreachable" in r.getMessage()]
    assert len(unreachable) == 1, "one warning per outage"
    assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_the_memory_default_is_per_process(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="one"))
    async with two_lips(config(row("a", fake_provider), kind="memory"), {}) as (one, other):
        first = await one.openai().responses.create(model="a:m", input="hi")
        with pytest.raises(openai.BadRequestError) as caught:
            await other.openai().responses.create(model="a:m", input="again", previous_response_id=first.id)
        assert caught.value.code == "previous_response_not_found"
        assert (await diagnostics(one))["store"] == {"kind": "memory", "items": 1, "max_items": 2048}
        assert "lip_store" not in await scrape(one.url)  # the in-process store cannot fail: no store metrics


async def test_a_reload_keeps_the_store_and_gives_rejected_keys_another_chance(
    tmp_path: Path, fake_provider: FakeProvider, redis_server: RedisServer
) -> None:
    fake_provider.keys = {"key-a": Fail(401), "key-b": None}
    path = str(tmp_path / "lip.yaml")
    write_config(path, config(row("a", fake_provider, key_root="P_KEY")))
    env = {"TEST_REDIS_URL": redis_server.url, "P_KEY": "key-a", "P_KEY_2": "key-b"}
    async with run_lip_file(path, env) as (app, url):
        first = await call(url + "/v1/responses", {"model": "a:m", "input": "one"})
        assert first.status == 200
        fake_provider.keys = {"key-a": None, "key-b": None}  # the operator fixed key-a, then reloads
        assert await reload(app) == []
        runtime = app[RUNTIME].current
        assert runtime.shared is not None
        await runtime.shared.synced.wait()
        body = {"model": "a:m", "input": "two", "previous_response_id": first.json()["id"]}
        assert (await call(url + "/v1/responses", body)).status == 200
        assert (await call(url + "/v1/chat/completions", {"model": "a:m", "messages": MESSAGES})).status == 200
    sent = [r.headers["Authorization"] for r in fake_provider.requests_to("/chat/completions")]
    assert sent == ["Bearer key-a", "Bearer key-b", "Bearer key-a", "Bearer key-b"]
