"""An upstream cannot grow lip's memory or hold its event loop: one SSE event is capped (``max_event_bytes``), a
stream is decoded in linear time, and a compressed body is bounded by its decoded size as it is read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from tests.fakes import Action, Bomb, FakeProvider, HugeLine
from tests.harness import backend_row, run_lip
from tests.integration.operate import call, sse_data

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
OTHER = {  # the client's path -> a backend of the other protocol (translated: the SSE decoder reads the stream)
    CHAT: ("custom-anthropic-compatible", ""),
    MESSAGES: ("custom-openai-legacy-compatible", "/v1"),
}
BODY = {"model": "p:m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
HUGE = 100_000_000


def rows(client: str, url: str, **config: Any) -> list[dict[str, Any]]:
    kind, base = OTHER[client]
    return [
        backend_row(name, url + base, kind=kind, models=MODELS, circuit_failures=1000, **config) for name in ("p", "ok")
    ]


async def slowest_healthz(lip_url: str, done: asyncio.Event) -> float:
    """The longest /healthz answer while ``done`` is not set (the fake, lip and this probe share one loop)."""
    slowest = 0.0
    while not done.is_set():
        started = time.perf_counter()
        assert (await call(lip_url + "/healthz", method="GET", timeout=60)).status == 200
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return slowest


def error_message(client: str, frame: str) -> str:
    error = orjson.loads(frame)
    if client == MESSAGES:
        assert error["type"] == "error"
    message: str = error["error"]["message"]
    return message


@pytest.mark.parametrize("client", [CHAT, MESSAGES], ids=["chat", "messages"])
@pytest.mark.parametrize(
    "action", [HugeLine(HUGE), Bomb(HUGE, "gzip"), Bomb(HUGE, "deflate")], ids=["line", "gzip", "deflate"]
)
async def test_a_100_mb_stream_line_ends_the_stream_and_the_loop_keeps_answering(
    client: str, action: Action, fake_provider: FakeProvider
) -> None:
    fake_provider.script.append(action)
    async with run_lip({"plugins": {"backends": rows(client, fake_provider.url)}}) as lip:
        done = asyncio.Event()
        probe = asyncio.create_task(slowest_healthz(lip.url, done))
        try:
            reply = await call(lip.url + client, {**BODY, "stream": True}, timeout=60)
        finally:
            done.set()
        slowest = await probe
    assert reply.status == 200
    frames = sse_data(reply.body)
    assert "larger than 16777216 bytes" in error_message(client, frames[-1])
    assert slowest < 1.0  # generous: a bound, not a benchmark (a rescanning decoder took 22 s)


async def test_the_event_cap_is_configurable(fake_provider: FakeProvider) -> None:
    fake_provider.script.extend([HugeLine(5000), HugeLine(5000)])
    config = {"plugins": {"backends": rows(CHAT, fake_provider.url, max_event_bytes=4096)}}
    async with run_lip(config) as lip:
        capped = await call(lip.url + CHAT, {**BODY, "stream": True})
        other = {"plugins": {"backends": rows(CHAT, fake_provider.url, max_event_bytes=8192)}}
        async with run_lip(other) as roomy:
            passed = await call(roomy.url + CHAT, {**BODY, "stream": True})
    assert capped.status == 502, capped.body[:300]
    assert "larger than 4096 bytes" in capped.json()["error"]["message"]
    assert sse_data(passed.body)[-1] == "[DONE]"


@pytest.mark.parametrize(
    "action", [HugeLine(HUGE), Bomb(HUGE, "gzip"), Bomb(HUGE, "deflate")], ids=["huge", "gzip", "deflate"]
)
async def test_an_oversized_json_answer_is_an_upstream_error_and_fails_over(
    action: Action, fake_provider: FakeProvider
) -> None:
    async with run_lip({"plugins": {"backends": rows(CHAT, fake_provider.url)}}) as lip:
        fake_provider.script.append(action)  # for p; ok then answers
        reply = await call(lip.url + CHAT, {**BODY, "model": "p:m|ok:m"}, timeout=60)
        fake_provider.script.append(action)
        alone = await call(lip.url + CHAT, BODY, timeout=60)
    assert reply.status == 200, reply.body[:300]
    assert reply.headers["x-lip-backend"] == "ok:m"
    assert alone.status == 502
    assert "larger than 64 MiB" in alone.json()["error"]["message"]
