"""Misbehaving upstreams: each fault has one defined outcome in the client's protocol, nothing hangs, and lip keeps
serving. Chat and Messages clients; same protocol (relay) and translated; streamed and not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from lip.backends.registry import load_codec
from lip.config.load import load_text
from lip.server import create_app
from tests.fakes import (
    Action,
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeProvider,
    HtmlErrorPage,
    HugeResponse,
    MalformedSSE,
    OkWithErrorBody,
    Stall,
    StallMidStream,
    Turn,
)
from tests.harness import backend_row, run_lip
from tests.integration.operate import call, sse_data

TIMEOUTS = {"connect_s": 2, "first_byte_s": 1.0, "idle_s": 1.0, "total_s": 5}  # roomy: a loaded CI machine is slow
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
DONE, ERROR_EVENT = "done", "error event"  # how a 200 stream ends
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
BACKEND_KIND = {CHAT: "custom-openai-legacy-compatible", MESSAGES: "custom-anthropic-compatible"}
BASE_PATH = {CHAT: "/v1", MESSAGES: ""}


def wired(path: str) -> bool:
    app = create_app(load_text("server: {allow_no_backends: true}", "probe.yaml", {}), {})
    protocol = "anthropic_messages" if path == MESSAGES else "openai_chat"
    routes = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    return path in routes and load_codec(protocol) is not None


CLIENTS = [path for path in (CHAT, MESSAGES) if wired(path)]
TRANSLATABLE = load_codec("anthropic_messages") is not None

# fault -> (outcome without stream, outcome with stream): an HTTP status, or how the 200 stream ends
OUTCOMES: dict[str, tuple[Action | None, int | str, int | str]] = {
    "connection reset mid-stream": (DisconnectAfter(2), 502, ERROR_EVENT),
    "malformed SSE": (MalformedSSE(1), 502, ERROR_EVENT),  # relayed verbatim by the same-protocol relay
    "invalid JSON in a 200": (Fail(200, body=b"{not json"), 502, 502),
    "non-JSON error page": (HtmlErrorPage(502), 502, 502),
    "stalled before the first byte": (Stall(3), 504, 504),
    "headers that never end": (None, 504, 504),
    "a 200 with an error body": (OkWithErrorBody(500), 502, 502),
    "error event mid-stream": (ErrorMidStream(2), 502, ERROR_EVENT),
    "stalled mid-stream": (StallMidStream(1, 3), 504, ERROR_EVENT),  # a JSON body: half, then past idle_s
    "headers, then silence past the first-byte deadline": (StallMidStream(0, 3), 504, 504),
    "huge response": (HugeResponse(3_000_000), 200, DONE),
}


@asynccontextmanager
async def endless_headers() -> AsyncIterator[str]:
    """A server that starts a response's headers and never finishes them."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: ")
        try:
            await reader.read()  # until lip gives up and closes
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def row(client: str, variant: str, prefix: str, url: str) -> dict[str, Any]:
    """A backend of the client's protocol (relay), or of the other one (translated)."""
    backend = client if variant == "relay" else (MESSAGES if client == CHAT else CHAT)
    settings = {"timeouts": TIMEOUTS, "models": MODELS, "circuit_failures": 1000}
    return backend_row(prefix, url + BASE_PATH[backend], kind=BACKEND_KIND[backend], **settings)


def error_of(client: str, body: Any) -> dict[str, Any]:
    """The error object of an error body or event in the client's protocol."""
    if client == MESSAGES:
        assert body["type"] == "error"
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str) and isinstance(error["type"], str)
    return error


def check(client: str, reply_status: int, body: bytes, expected: int | str) -> None:
    if isinstance(expected, int):
        assert reply_status == expected, body[:300]
        if expected >= 400:
            error_of(client, orjson.loads(body))
        return
    assert reply_status == 200, body[:300]
    last = sse_data(body)[-1]
    if expected == DONE:
        assert last == "[DONE]" if client == CHAT else orjson.loads(last)["type"] == "message_stop", last
    else:
        error_of(client, orjson.loads(last))


@pytest.mark.parametrize("variant", ["relay", "translated"] if TRANSLATABLE else ["relay"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("client", CLIENTS, ids=["chat", "messages"][: len(CLIENTS)])
@pytest.mark.parametrize("fault", list(OUTCOMES))
async def test_fault_has_a_defined_outcome(
    fault: str, client: str, stream: bool, variant: str, fake_provider: FakeProvider
) -> None:
    action, plain, streamed = OUTCOMES[fault]
    expected = streamed if stream else plain
    if variant == "relay" and fault == "malformed SSE" and stream:
        expected = DONE  # the same-protocol relay passes the provider's bytes through untouched
    async with endless_headers() as stuck:
        upstream = stuck if action is None else fake_provider.url
        rows = [row(client, variant, "p", upstream), row(client, variant, "ok", fake_provider.url)]
        if action is not None:
            fake_provider.script.append(action)
        async with run_lip({"plugins": {"backends": rows}}) as lip:
            body = {"model": "p:m", "stream": stream, "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
            started = time.monotonic()
            reply = await call(lip.url + client, body, timeout=8)
            elapsed = time.monotonic() - started
            after = await call(lip.url + client, {**body, "model": "ok:m"})
    check(client, reply.status, reply.body, expected)
    assert elapsed < 3
    assert after.status == 200
    if fault == "huge response" and not stream:
        assert len(reply.body) > 3_000_000


async def test_faults_through_the_official_sdk(fake_provider: FakeProvider) -> None:
    import openai

    fake_provider.script.extend([DisconnectAfter(2), Fail(200, body=b"{not json"), Turn(text="fine")])
    config = {"plugins": {"backends": [row(CHAT, "relay", "p", fake_provider.url)]}}
    async with run_lip(config) as lip:
        client = lip.openai()
        messages: Any = [{"role": "user", "content": "hi"}]
        with pytest.raises(openai.APIError, match="broken response"):
            async for _ in await client.chat.completions.create(model="p:m", messages=messages, stream=True):
                pass
        with pytest.raises(openai.InternalServerError, match="invalid JSON"):
            await client.chat.completions.create(model="p:m", messages=messages)
        fine = await client.chat.completions.create(model="p:m", messages=messages)
    assert fine.choices[0].message.content == "fine"
