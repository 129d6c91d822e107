"""SSE keep-alive comments while lip waits for a slow first byte or fails over, when a backend row enables them
(config.keepalive_s); off by default, since the first comment commits the 200 status."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes import Fail, FakeProvider, Stall, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
KEEPALIVE = b": keep-alive\n\n"


def row(name: str, url: str, keepalive_s: float = 0.05, **config: Any) -> dict[str, Any]:
    timeouts = {"first_byte_s": 0.4, "idle_s": 1, "total_s": 5}
    return backend_row(name, url + "/v1", models=MODELS, keepalive_s=keepalive_s, timeouts=timeouts, **config)


async def raw_stream(lip: LipServer, model: str, stream: bool = True) -> tuple[int, dict[str, str], bytes]:
    body = {"model": model, "messages": MESSAGES, "stream": stream}
    async with aiohttp.ClientSession() as session, session.post(lip.url + "/v1/chat/completions", json=body) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def sdk_text(lip: LipServer, model: str) -> str:
    stream = await lip.openai().chat.completions.create(model=model, messages=MESSAGES, stream=True)
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


async def test_comments_flow_while_the_first_byte_is_slow(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.25, Turn(text="worth the wait")))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url)]}}) as lip:
        status, headers, body = await raw_stream(lip, "a:m")
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    assert len(headers["X-Request-ID"]) == 32  # committed by the first comment, before any leaf answered
    head, _, rest = body.partition(b"data: ")
    assert head.count(KEEPALIVE) >= 2 and head == KEEPALIVE * head.count(KEEPALIVE)
    assert b"worth" in rest and rest.rstrip().endswith(b"data: [DONE]")


async def test_the_sdk_ignores_the_comments(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.2, Turn(text="worth the wait")))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url)]}}) as lip:
        assert await sdk_text(lip, "a:m") == "worth the wait"


async def test_comments_flow_during_failover(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(Stall(2.0))  # no first byte within 0.4 s
    b.queue(Turn(text="from-b", chunks=1))
    async with run_lip({"plugins": {"backends": [row("a", a.url), row("b", b.url, keepalive_s=0)]}}) as lip:
        status, _, body = await raw_stream(lip, "a:m|b:m")
    assert status == 200 and body.startswith(KEEPALIVE) and b"from-b" in body


async def test_a_failure_after_the_first_comment_is_an_error_event(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(2.0))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url)]}}) as lip:
        stream = await lip.openai().chat.completions.create(model="a:m", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError, match=r"no first byte within 0\.4 s"):
            async for _ in stream:
                pass


async def test_a_fast_answer_commits_nothing_early_and_keeps_the_header(fake_provider: FakeProvider) -> None:
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url, keepalive_s=1.0)]}}) as lip:
        status, headers, body = await raw_stream(lip, "a:m")
    assert status == 200 and headers["x-lip-backend"] == "a:m" and KEEPALIVE not in body


async def test_off_by_default(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.2))
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    async with run_lip({"plugins": {"backends": [backend_row("a", fake_provider.url + "/v1", models=models)]}}) as lip:
        status, headers, body = await raw_stream(lip, "a:m")
    assert status == 200 and headers["x-lip-backend"] == "a:m" and KEEPALIVE not in body


async def test_never_for_non_streaming_requests(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.2, Turn()), Fail(503))
    async with run_lip({"plugins": {"backends": [row("a", fake_provider.url)]}}) as lip:
        status, headers, body = await raw_stream(lip, "a:m", stream=False)
        assert status == 200 and headers["x-lip-backend"] == "a:m" and body.startswith(b"{")
        status, _, body = await raw_stream(lip, "a:m", stream=False)
    assert status == 502 and body.startswith(b"{")  # an upstream 503 is still an HTTP error status


async def test_a_client_that_leaves_during_the_wait_cancels_the_upstream(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(3.0))
    cfg = {"plugins": {"backends": [row("a", fake_provider.url, max_concurrent_requests=1)]}}
    async with run_lip(cfg) as lip, aiohttp.ClientSession() as session:
        body = {"model": "a:m", "messages": MESSAGES, "stream": True}
        async with session.post(lip.url + "/v1/chat/completions", json=body) as response:
            assert await response.content.readexactly(len(KEEPALIVE)) == KEEPALIVE
        await asyncio.wait_for(fake_provider.client_gone.wait(), 1.0)
        for _ in range(100):
            if lip.runtime.backends["a"].diagnostics()["admission"]["in_flight"] == 0:
                break
            await asyncio.sleep(0.01)
        assert lip.runtime.backends["a"].diagnostics()["admission"]["in_flight"] == 0
