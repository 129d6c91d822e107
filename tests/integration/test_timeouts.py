"""Timeouts per backend row (config.timeouts): connect, first byte (headers and first chunk under one deadline),
idle gap between chunks, total. Before output a timeout fails over (or answers 504/502); after output the stream
ends with the protocol's error event."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from aiohttp import web

from lip.config.models import Timeouts
from tests.fakes import FakeProvider, Stall, StallMidStream, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, free_port, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}


def cfg(*urls: str, **timeouts: float) -> dict[str, Any]:
    limits = {"connect_s": 0.3, "first_byte_s": 0.3, "idle_s": 0.3, "total_s": 5.0, **timeouts}
    rows = [backend_row(n, u + "/v1", models=MODELS, timeouts=limits) for n, u in zip("abc", urls, strict=False)]
    return {"plugins": {"backends": rows}}


async def stream_text(lip: LipServer, model: str = "a:m") -> tuple[str, openai.APIError | None]:
    """What a streaming client saw: the text, and the error that ended the stream if one did."""
    seen: list[str] = []
    try:
        stream = await lip.openai().chat.completions.create(model=model, messages=MESSAGES, stream=True)
        async for chunk in stream:
            seen.extend(c.delta.content or "" for c in chunk.choices)
    except openai.APIError as exc:
        return "".join(seen), exc
    return "".join(seen), None


def test_defaults_are_generous_for_thinking_models() -> None:
    assert Timeouts() == Timeouts(connect_s=10, first_byte_s=300, idle_s=120, total_s=1800)


@pytest.mark.parametrize("stream", [False, True])
async def test_no_first_byte_is_a_504_quickly(fake_provider: FakeProvider, stream: bool) -> None:
    fake_provider.queue(Stall(3.0))
    async with run_lip(cfg(fake_provider.url)) as lip:
        started = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="a:m", messages=MESSAGES, stream=stream)
    assert caught.value.status_code == 504 and time.perf_counter() - started < 1.5
    assert "first byte within 0.3 s" in caught.value.message and "first_byte_s" in caught.value.message


async def test_headers_without_a_first_chunk_fail_over(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(StallMidStream(0, 3.0))  # 200 and SSE headers at once, then silence
    b.queue(Turn(text="from b"))
    async with run_lip(cfg(a.url, b.url)) as lip:
        assert await stream_text(lip, "a:m|b:m") == ("from b", None)


async def slow_headers_then_slow_chunk(request: web.Request) -> web.StreamResponse:
    await request.read()
    await asyncio.sleep(0.2)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await asyncio.sleep(0.2)
    await response.write(b'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n')
    await response.write_eof()
    return response


@pytest.fixture
async def slow_upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", slow_headers_then_slow_chunk)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_one_first_byte_deadline_covers_headers_and_first_chunk(slow_upstream: str) -> None:
    """0.2 s to headers and 0.2 s more to the first chunk: each is under 0.3 s, together they are not."""
    async with run_lip(cfg(slow_upstream)) as lip:
        text, error = await stream_text(lip)
    assert text == "" and isinstance(error, openai.APIStatusError) and error.status_code == 504


async def test_idle_mid_stream_ends_the_stream_with_an_error_event(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.queue(StallMidStream(2, 3.0, Turn(text="one two three four", chunks=4)))
    async with run_lip(cfg(a.url, b.url, idle_s=0.2)) as lip:
        started = time.perf_counter()
        text, error = await stream_text(lip, "a:m|b:m")
    assert text and "one two three four".startswith(text) and text != "one two three four"
    assert error is not None and "idle_s" in error.message
    assert time.perf_counter() - started < 1.5
    assert not b.requests_to("/chat/completions")  # never a failover after output


async def test_total_bounds_a_stream_that_keeps_trickling(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text=" ".join(["w"] * 20), chunks=20, delay_between_chunks=0.05))
    async with run_lip(cfg(fake_provider.url, total_s=0.4, idle_s=0.3)) as lip:
        text, error = await stream_text(lip)
    assert text and error is not None and "total_s" in error.message


async def test_a_closed_port_is_a_502_or_a_failover(fake_provider: FakeProvider) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with run_lip(cfg(closed, fake_provider.url)) as lip:
        with pytest.raises(openai.InternalServerError) as caught:
            await lip.openai().chat.completions.create(model="a:m", messages=MESSAGES)
        assert caught.value.status_code == 502 and "cannot connect" in caught.value.message
        assert await stream_text(lip, "a:m|b:m") == ("Hello from fake", None)


@pytest.fixture
def unresponsive_port() -> Any:
    """A listening socket whose accept queue is full: a further SYN is dropped, so connecting hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    yield server.getsockname()[1]
    for sock in (*fillers, server):
        sock.close()


async def test_connect_timeout_fails_over(unresponsive_port: int, fake_provider: FakeProvider) -> None:
    async with run_lip(cfg(f"http://127.0.0.1:{unresponsive_port}", fake_provider.url, connect_s=0.2)) as lip:
        started = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="a:m", messages=MESSAGES)
        assert caught.value.status_code == 504 and "connect_s" in caught.value.message
        assert time.perf_counter() - started < 1.0
        assert await stream_text(lip, "a:m|b:m") == ("Hello from fake", None)
