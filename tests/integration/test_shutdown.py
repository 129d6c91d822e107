"""SIGTERM: stop accepting, let streams in flight finish up to server.drain_timeout_s, then end what is left in the
client's protocol (an error event in a stream, a 503 for a request still waiting), and exit 0."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aiohttp
import orjson
import pytest

from lip.config.load import load_text
from lip.server import create_app
from tests.fakes import FakeProvider, Stall, Turn
from tests.harness import backend_row
from tests.integration.operate import call, lip_process, sse_data

MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}
STREAM = {"model": "p:gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def config(fake: FakeProvider, drain_timeout_s: float) -> dict[str, Any]:
    backends = [backend_row("p", fake.url + "/v1", models=MODELS)]
    return {"server": {"drain_timeout_s": drain_timeout_s}, "plugins": {"backends": backends}}


async def test_streams_in_flight_finish_and_new_connections_are_refused(fake_provider: FakeProvider) -> None:
    words = "one two three four five six"
    fake_provider.script.extend([Turn(text=words, chunks=6, delay_between_chunks=0.25) for _ in range(3)])
    async with lip_process(config(fake_provider, 10)) as lip, aiohttp.ClientSession() as session:
        responses = [await session.post(lip.url + "/v1/chat/completions", json=STREAM) for _ in range(3)]
        for response in responses:
            await response.content.readline()
        lip.signal(signal.SIGTERM)
        await lip.wait_for_log("shutting down")
        with pytest.raises(aiohttp.ClientConnectionError):
            await call(lip.url + "/healthz", method="GET", timeout=2)
        bodies = [await r.read() for r in responses]
        code = await lip.wait()
    assert code == 0
    for body in bodies:
        data = sse_data(body)
        assert data[-1] == "[DONE]"
        text = "".join(
            orjson.loads(d)["choices"][0]["delta"].get("content") or "" for d in data[:-1] if orjson.loads(d)["choices"]
        )
        assert text == words
    assert "draining 3 request(s)" in lip.log


async def test_after_the_drain_timeout_streams_end_with_an_error_event(fake_provider: FakeProvider) -> None:
    fake_provider.script.extend([Turn(text="w " * 40, chunks=40, delay_between_chunks=0.25), Stall(30)])
    async with lip_process(config(fake_provider, 0.5)) as lip, aiohttp.ClientSession() as session:
        streamed = await session.post(lip.url + "/v1/chat/completions", json=STREAM)
        await streamed.content.readline()
        waiting = asyncio.ensure_future(call(lip.url + "/v1/chat/completions", {**STREAM, "stream": False}))
        while len(fake_provider.received) < 2:
            await asyncio.sleep(0.02)
        started = time.monotonic()
        lip.signal(signal.SIGTERM)
        body = await streamed.read()
        reply = await waiting
        code = await lip.wait()
        elapsed = time.monotonic() - started
    assert code == 0
    assert elapsed < 5
    last = sse_data(body)[-1]
    assert last != "[DONE]"
    error = orjson.loads(last)["error"]
    assert "shutting down" in error["message"] and error["type"] == "server_error"
    assert reply.status == 503
    assert "shutting down" in reply.json()["error"]["message"]
    assert "drain timeout (0.5 s) passed: ending 2 request(s)" in lip.log


def has_route(path: str) -> bool:
    app = create_app(load_text("server: {allow_no_backends: true}", "probe.yaml", {}), {})
    return any(r.resource is not None and r.resource.canonical == path for r in app.router.routes())


@pytest.mark.skipif(not has_route("/v1/messages"), reason="the Messages frontend is not wired yet")
async def test_an_anthropic_stream_ends_with_its_own_error_event() -> None:
    slow = {"id": "local-stub", "kind": "local-stub", "config": {"chunk_delay_s": 2}}
    config = {"server": {"drain_timeout_s": 0.3}, "plugins": {"backends": [slow]}}
    messages = [{"role": "user", "content": "hi"}]
    body = {"model": "local-stub:echo", "max_tokens": 50, "stream": True, "messages": messages}
    async with lip_process(config) as lip, aiohttp.ClientSession() as session:
        response = await session.post(lip.url + "/v1/messages", json=body)
        await response.content.readline()
        lip.signal(signal.SIGTERM)
        text = (await response.read()).decode()
        code = await lip.wait()
    assert code == 0
    assert "event: error" in text
    error = orjson.loads(sse_data(text.encode())[-1])
    assert error["type"] == "error" and "shutting down" in error["error"]["message"]
