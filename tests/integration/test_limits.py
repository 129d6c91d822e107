"""Limits: body size (413), header size, per-client (429) and total (503) concurrency, in the client's shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import yaml
from aiohttp import web

from lip.config.load import load_text
from lip.process import make_runner
from lip.server import create_app
from tests.harness import free_port, run_lip
from tests.integration.operate import CHAT, CLIENT_KEY, call, raw_exchange

SLOW = {"id": "local-stub", "kind": "local-stub", "config": {"chunk_delay_s": 0.4}}
STREAM = {**CHAT, "stream": True}


def config(**server: Any) -> dict[str, Any]:
    return {"server": server, "plugins": {"backends": [SLOW]}}


def post_paths(app: web.Application) -> list[str]:
    return [
        r.resource.canonical
        for r in app.router.routes()
        if r.method == "POST"
        and r.resource is not None
        and r.resource.canonical.startswith("/v1/")
        and "{" not in r.resource.canonical
    ]


def shaped(path: str, body: Any) -> bool:
    """An error body in the protocol of ``path``."""
    if path.startswith("/v1/messages"):
        return body.get("type") == "error" and isinstance(body["error"]["message"], str)
    return isinstance(body["error"]["message"], str) and isinstance(body["error"]["type"], str)


async def test_a_body_over_the_limit_is_413_in_the_client_shape() -> None:
    async with run_lip(config(max_body_bytes=2048)) as lip:
        paths = post_paths(lip.app)
        big = {**CHAT, "padding": "x" * 4096}
        for path in paths:
            reply = await call(lip.url + path, big)
            assert reply.status == 413, (path, reply.body)
            assert shaped(path, reply.json())

        async def chunks() -> AsyncIterator[bytes]:
            yield orjson.dumps(CHAT)[:-1] + b',"padding":"'
            for _ in range(10):
                yield b"y" * 1024
            yield b'"}'

        async with (
            aiohttp.ClientSession() as session,
            session.post(lip.url + "/v1/chat/completions", data=chunks()) as response,
        ):
            chunked = response.status, await response.json()
        ok = await call(lip.url + "/v1/chat/completions", CHAT)
    assert len(paths) >= 1
    assert chunked[0] == 413 and chunked[1]["error"]["code"] == "body_too_large"
    assert ok.status == 200


async def test_a_lying_content_length_gets_a_4xx_and_the_server_keeps_serving() -> None:
    async with run_lip(config(max_body_bytes=2048)) as lip:
        body = orjson.dumps(CHAT)
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        short = await raw_exchange(lip.url, head + b"Content-Length: 10\r\n\r\n" + body, read_timeout=2.0)
        huge = await raw_exchange(lip.url, head + b"Content-Length: 999999999\r\n\r\n" + body, read_timeout=2.0)
        # claims more than it sends, then stops: the handler waits for the body and is cancelled at the close
        host, port = lip.url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(head + b"Content-Length: 500\r\n\r\n" + body[:20])
        await writer.drain()
        writer.close()
        ok = await call(lip.url + "/v1/chat/completions", CHAT)
    # the first 10 bytes are the body (invalid JSON); the rest parses as a broken next request: 400 either way
    assert short.split(b" ")[1] == b"400", short[:200]
    assert huge.startswith(b"HTTP/1.1 413"), huge[:200]
    assert ok.status == 200


@asynccontextmanager
async def served(config: Mapping[str, Any]) -> AsyncIterator[str]:
    """lip with the runner `lip serve` uses (header limits apply)."""
    settings = load_text(yaml.safe_dump(dict(config)), "limits.yaml", {})
    runner = make_runner(create_app(settings, {}), settings)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_header_size_is_bounded_by_max_header_bytes() -> None:
    async with served(config(max_header_bytes=12 * 1024)) as url:
        fits = await call(url + "/v1/chat/completions", CHAT, headers={"x-big": "a" * 10_000})
        too_big = await raw_exchange(
            url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: " + b"a" * 13_000 + b"\r\n\r\n", read_timeout=2.0
        )
        ok = await call(url + "/healthz", method="GET")
    assert fits.status == 200  # above aiohttp's default of 8190
    assert too_big.split(b" ")[1] in (b"400", b"431"), too_big[:100]
    assert ok.status == 200


async def _hold(url: str, headers: Mapping[str, str]) -> tuple[aiohttp.ClientSession, aiohttp.ClientResponse]:
    """Start a slow stream and read its first bytes, so that it is in flight."""
    session = aiohttp.ClientSession()
    response = await session.post(url + "/v1/chat/completions", json=STREAM, headers=headers)
    assert response.status == 200
    await response.content.readline()
    return session, response


async def test_per_client_concurrency_is_limited_by_key() -> None:
    env = {"LIP_API_KEY": CLIENT_KEY, "LIP_API_KEY_2": CLIENT_KEY + "-2"}
    first = {"x-api-key": CLIENT_KEY}
    async with run_lip(config(max_per_client=1), env) as lip:
        session, held = await _hold(lip.url, first)
        try:
            same = await call(lip.url + "/v1/chat/completions", CHAT, headers=first)
            other = await call(lip.url + "/v1/chat/completions", CHAT, headers={"x-api-key": CLIENT_KEY + "-2"})
            health = await call(lip.url + "/healthz", method="GET")
        finally:
            held.close()
            await session.close()
        await asyncio.sleep(0.05)
        again = await call(lip.url + "/v1/chat/completions", CHAT, headers=first)
    assert same.status == 429 and same.headers["Retry-After"] == "1"
    assert same.json()["error"]["type"] == "rate_limit_error"
    assert other.status == 200 and health.status == 200
    assert again.status == 200


async def test_without_keys_a_client_is_its_address() -> None:
    async with run_lip(config(max_per_client=1)) as lip:
        session, held = await _hold(lip.url, {})
        try:
            second = await call(lip.url + "/v1/chat/completions", CHAT)
        finally:
            held.close()
            await session.close()
    assert second.status == 429


async def test_total_in_flight_is_limited() -> None:
    async with run_lip(config(max_in_flight=1)) as lip:
        session, held = await _hold(lip.url, {})
        try:
            busy = await call(lip.url + "/v1/messages", {"model": "local-stub:echo", "max_tokens": 5, "messages": []})
            busy_chat = await call(lip.url + "/v1/chat/completions", CHAT)
            metrics = await call(lip.url + "/metrics", method="GET")
        finally:
            held.close()
            await session.close()
    assert busy.status == 503 and busy.json()["type"] == "error"
    assert busy_chat.status == 503 and busy_chat.headers["Retry-After"] == "1"
    assert busy_chat.json()["error"]["type"] == "server_error"
    assert metrics.status == 200
