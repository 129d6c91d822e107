"""Scripted failures: HTTP errors per status, API keys, mid-stream errors, disconnects, stalls and odd bodies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import anthropic
import openai
import pytest

from tests.fakes import (
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeProvider,
    FakeToolCall,
    HtmlErrorPage,
    HugeResponse,
    IgnoreStream,
    MalformedSSE,
    NonObjectBody,
    OkWithErrorBody,
    Redirect,
    SSEFramedError,
    Stall,
    StallMidStream,
    Turn,
)
from tests.fakes import conformance as conf
from tests.fakes.rawhttp import request

USER = [{"role": "user", "content": "hi"}]
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
CHAT = {"model": "m", "messages": USER}
CHAT_STREAM = {**CHAT, "stream": True}


@pytest.fixture
async def oai(fake_provider: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{fake_provider.url}/v1", api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture
async def ant(fake_provider: FakeProvider) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake_provider.url, api_key="k", max_retries=0) as client:
        yield client


# -- HTTP errors in each protocol's own shape -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc_type", "error_type"),
    [
        (400, openai.BadRequestError, "invalid_request_error"),
        (401, openai.AuthenticationError, "invalid_request_error"),
        (403, openai.PermissionDeniedError, "invalid_request_error"),
        (404, openai.NotFoundError, "invalid_request_error"),
        (429, openai.RateLimitError, "requests"),
        (500, openai.InternalServerError, "server_error"),
        (503, openai.InternalServerError, "server_error"),
    ],
)
async def test_openai_fail_statuses(
    fake_provider: FakeProvider, oai: openai.AsyncOpenAI, status: int, exc_type: type[Exception], error_type: str
) -> None:
    fake_provider.queue(Fail(status), Fail(status))
    with pytest.raises(exc_type) as caught:
        await oai.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert isinstance(caught.value, openai.APIStatusError) and caught.value.status_code == status
    assert conf.check_openai_error(caught.value.response.json()).type == error_type
    with pytest.raises(exc_type):
        await oai.responses.create(model="m", input="x")


@pytest.mark.parametrize(
    ("status", "exc_type", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
async def test_anthropic_fail_statuses(
    fake_provider: FakeProvider, ant: anthropic.AsyncAnthropic, status: int, exc_type: type[Exception], error_type: str
) -> None:
    fake_provider.queue(Fail(status))
    with pytest.raises(exc_type) as caught:
        await ant.messages.create(model="claude-test", max_tokens=9, messages=USER)  # type: ignore[arg-type]
    assert isinstance(caught.value, anthropic.APIStatusError) and caught.value.status_code == status
    assert conf.check_anthropic_error(caught.value.response.json()).error.type == error_type
    assert caught.value.response.headers["request-id"].startswith("req_")


async def test_fail_headers_and_custom_bodies(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    fake_provider.queue(
        Fail(429, headers={"retry-after": "7"}),
        Fail(418, body={"error": {"message": "teapot", "type": "x", "param": None, "code": "tea"}}),
        Fail(500, body="upstream exploded"),
        Fail(502, body=b"{broken"),
    )
    with pytest.raises(openai.RateLimitError) as limited:
        await oai.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert limited.value.response.headers["retry-after"] == "7"
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 418 and reply.json()["error"]["code"] == "tea"
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert (reply.status, reply.body, reply.headers["content-type"]) == (
        500,
        b"upstream exploded",
        "text/plain; charset=utf-8",
    )
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert (reply.status, reply.body) == (502, b"{broken")


# -- API keys ---------------------------------------------------------------------------------------------------


async def test_openai_keys(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"k-good": None, "k-401": Fail(401), "k-429": Fail(429, headers={"retry-after": "7"})}
    url = f"{fake_provider.url}/v1/chat/completions"
    assert (await request("POST", url, CHAT, {"authorization": "Bearer k-good"})).status == 200
    assert (await request("POST", url, CHAT, {"authorization": "Bearer k-401"})).status == 401
    limited = await request("POST", url, CHAT, {"authorization": "Bearer k-429"})
    assert limited.status == 429 and limited.headers["retry-after"] == "7"
    unknown = await request("POST", url, CHAT, {"authorization": "Bearer sk-unknown-secret-1234"})
    error = conf.check_openai_error(unknown.json())
    assert unknown.status == 401 and error.code == "invalid_api_key"
    assert "sk-unknown-secret-1234" not in error.message, "the key is masked like OpenAI does"
    missing = await request("POST", url, CHAT)
    assert missing.status == 401 and "didn't provide an API key" in conf.check_openai_error(missing.json()).message
    assert (await request("GET", f"{fake_provider.url}/v1/models")).status == 401


async def test_anthropic_keys(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"k-good": None, "k-429": Fail(429)}
    url = f"{fake_provider.url}/v1/messages"
    body = {"model": "claude-test", "max_tokens": 9, "messages": USER}
    version = {"anthropic-version": "2023-06-01"}
    async with anthropic.AsyncAnthropic(base_url=fake_provider.url, api_key="k-good", max_retries=0) as client:
        await client.messages.create(**body)  # type: ignore[arg-type]
    async with anthropic.AsyncAnthropic(base_url=fake_provider.url, api_key="k-429", max_retries=0) as client:
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.create(**body)  # type: ignore[arg-type]
    unknown = await request("POST", url, body, {**version, "x-api-key": "nope"})
    assert unknown.status == 401 and conf.check_anthropic_error(unknown.json()).error.type == "authentication_error"
    assert (await request("POST", url, body, {**version, "x-api-key": "k-good"})).status == 200
    missing = await request("POST", url, body, version)
    assert missing.status == 401 and "x-api-key" in conf.check_anthropic_error(missing.json()).error.message
    assert fake_provider.received[0].headers["AUTHORIZATION"] == "Bearer k-good"  # what this SDK sends


# -- mid-stream errors ------------------------------------------------------------------------------------------


async def test_chat_error_mid_stream(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    fake_provider.queue(ErrorMidStream(after_chunks=2, message="boom"))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    events = conf.parse_sse(reply.body)
    assert len(events) == 3 and all(e.data != "[DONE]" for e in events)
    conf.check_chat_stream(b"".join(f"data: {e.data}\n\n".encode() for e in events[:2]), expect_done=False)
    assert conf.check_openai_error(events[-1].json()).message == "boom"

    fake_provider.queue(ErrorMidStream(after_chunks=2, message="boom"))
    stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError, match="boom"):
        async for _ in stream:
            pass


@pytest.mark.parametrize("variant", ["response.failed", "error"])
async def test_responses_error_mid_stream(fake_provider: FakeProvider, variant: str) -> None:
    fake_provider.queue(ErrorMidStream(after_chunks=4, status=500, message="boom", responses_event=variant))  # type: ignore[arg-type]
    reply = await request("POST", f"{fake_provider.url}/v1/responses", {"model": "m", "input": "x", "stream": True})
    events = conf.check_responses_stream(reply.body)
    assert len(events) == 5 and events[-1].type == variant
    if variant == "error":
        assert (events[-1].message, events[-1].code) == ("boom", "server_error")
    else:
        assert events[-1].response.status == "failed" and events[-1].response.error.message == "boom"


async def test_anthropic_error_mid_stream(fake_provider: FakeProvider, ant: anthropic.AsyncAnthropic) -> None:
    fake_provider.queue(ErrorMidStream(after_chunks=3, status=529))
    body = {"model": "claude-test", "max_tokens": 9, "messages": USER, "stream": True}
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    conf.check_anthropic_stream(reply.body)
    last = conf.parse_sse(reply.body)[-1]
    assert last.event == "error" and last.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}

    fake_provider.queue(ErrorMidStream(after_chunks=3, status=529))
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with ant.messages.stream(model="claude-test", max_tokens=9, messages=USER) as stream:  # type: ignore[arg-type]
            await stream.get_final_message()
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]["type"] == "overloaded_error"


async def test_error_mid_stream_on_non_stream_request(fake_provider: FakeProvider) -> None:
    fake_provider.queue(ErrorMidStream(status=503))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 503 and conf.check_openai_error(reply.json()).type == "server_error"


# -- transport faults -------------------------------------------------------------------------------------------


async def test_disconnect_after(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    fake_provider.queue(DisconnectAfter(2, Turn(chunks=5)))
    received: list[object] = []
    stream = await oai.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2

    fake_provider.queue(DisconnectAfter(2))
    with pytest.raises(openai.APIConnectionError):
        await oai.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert fake_provider.disconnects == 0, "the fake dropping the line is not the client leaving"


async def test_malformed_sse(fake_provider: FakeProvider) -> None:
    fake_provider.queue(MalformedSSE(after_chunks=1), MalformedSSE())
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    assert b"data: {this is not json\n\n" in reply.body and reply.body.endswith(b"data: [DONE]\n\n")
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 200
    with pytest.raises(ValueError):
        reply.json()


async def test_stall_then_answer(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.3, then=Turn(text="late")))
    started = time.monotonic()
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert time.monotonic() - started >= 0.3
    assert conf.check_chat_completion(reply.json()).choices[0].message.content == "late"


async def test_stall_client_timeout_sets_client_gone(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(30))
    async with openai.AsyncOpenAI(
        base_url=f"{fake_provider.url}/v1", api_key="k", max_retries=0, timeout=0.2
    ) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    await asyncio.wait_for(fake_provider.client_gone.wait(), 5)
    assert fake_provider.disconnects == 1 and fake_provider.in_flight == 0


async def test_client_leaving_mid_stream_is_detected(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(chunks=40, delay_between_chunks=0.05))
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake_provider.url}/v1/chat/completions", json=CHAT_STREAM) as resp,
    ):
        await resp.content.readuntil(b"\n\n")
        assert fake_provider.in_flight == 1
        resp.close()
    await asyncio.wait_for(fake_provider.client_gone.wait(), 5)
    assert fake_provider.disconnects == 1


async def test_stall_mid_stream(fake_provider: FakeProvider) -> None:
    fake_provider.queue(StallMidStream(after_chunks=2, seconds=0.3))
    gaps: list[float] = []
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake_provider.url}/v1/chat/completions", json=CHAT_STREAM) as resp,
    ):
        last = time.monotonic()
        raw = b""
        while chunk := await resp.content.readuntil(b"\n\n"):
            raw += chunk
            gaps.append(time.monotonic() - last)
            last = time.monotonic()
    conf.check_chat_stream(raw)
    assert gaps[2] >= 0.25 and gaps.index(max(gaps)) == 2, gaps


async def test_html_error_page(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    fake_provider.queue(HtmlErrorPage(502), HtmlErrorPage(503))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 502 and reply.headers["content-type"].startswith("text/html")
    assert b"<title>502 Bad Gateway</title>" in reply.body
    with pytest.raises(openai.InternalServerError) as caught:
        await oai.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == 503


async def test_ok_with_error_body(fake_provider: FakeProvider) -> None:
    fake_provider.queue(OkWithErrorBody(), OkWithErrorBody(529))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 200 and conf.check_openai_error(reply.json()).type == "server_error"
    body = {"model": "claude-test", "max_tokens": 9, "messages": USER}
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    assert reply.status == 200 and conf.check_anthropic_error(reply.json()).error.type == "overloaded_error"


async def test_redirect(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Redirect("http://127.0.0.1:9/v1/chat/completions", 308))
    fake_provider.models_behaviour = Redirect("http://127.0.0.1:9/v1/models", 302)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake_provider.url}/v1/chat/completions", json=CHAT, allow_redirects=False
        ) as response:
            assert response.status == 308 and response.headers["location"] == "http://127.0.0.1:9/v1/chat/completions"
        async with session.get(f"{fake_provider.url}/v1/models", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["location"] == "http://127.0.0.1:9/v1/models"


async def test_non_object_body(fake_provider: FakeProvider) -> None:
    fake_provider.queue(NonObjectBody(), NonObjectBody(b"null"))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json" and reply.json() == [1, 2, 3]
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    assert reply.status == 200 and reply.json() is None


async def test_ignore_stream(fake_provider: FakeProvider) -> None:
    fake_provider.queue(IgnoreStream(Turn(text="whole")), IgnoreStream(), IgnoreStream())
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    assert reply.headers["content-type"] == "application/json"
    assert conf.check_chat_completion(reply.json()).choices[0].message.content == "whole"
    reply = await request("POST", f"{fake_provider.url}/v1/responses", {"model": "m", "input": "hi", "stream": True})
    assert conf.check_response(reply.json()).output_text == "Hello from fake"
    body = {"model": "claude-test", "max_tokens": 9, "messages": USER, "stream": True}
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    assert conf.check_anthropic_message(reply.json()).content[0].type == "text"


async def test_sse_framed_error(fake_provider: FakeProvider) -> None:
    fake_provider.queue(SSEFramedError(500, "resting"), SSEFramedError(529))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert reply.status == 500 and reply.headers["content-type"].startswith("text/event-stream")
    (event,) = conf.parse_sse(reply.body)
    assert event.event is None and conf.check_openai_error(event.json()).message == "resting"
    body = {"model": "claude-test", "max_tokens": 9, "messages": USER}
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    (event,) = conf.parse_sse(reply.body)
    assert reply.status == 529 and event.event == "error"
    assert conf.check_anthropic_error(event.json()).error.type == "overloaded_error"


async def test_huge_response(fake_provider: FakeProvider) -> None:
    size = 300_000
    fake_provider.queue(HugeResponse(size), HugeResponse(size))
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    chunks = conf.check_chat_stream(reply.body)
    assert sum(len(c.choices[0].delta.content or "") for c in chunks if c.choices) == size
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT)
    assert len(conf.check_chat_completion(reply.json()).choices[0].message.content or "") == size


async def test_finish_quirks(fake_provider: FakeProvider) -> None:
    call = FakeToolCall("f", '{"a": 1}')
    fake_provider.queue(Turn(omit_finish_reason=True), Turn(tool_calls=[call], chat_finish_override="stop"))
    chunks = conf.check_chat_stream((await request("POST", f"{fake_provider.url}/chat/completions", CHAT_STREAM)).body)
    assert all(c.choices[0].finish_reason is None for c in chunks)
    chunks = conf.check_chat_stream((await request("POST", f"{fake_provider.url}/chat/completions", CHAT_STREAM)).body)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert any(c.choices[0].delta.tool_calls for c in chunks)


async def test_delay_between_chunks(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(chunks=3, delay_between_chunks=0.05))
    started = time.monotonic()
    await request("POST", f"{fake_provider.url}/v1/chat/completions", CHAT_STREAM)
    assert time.monotonic() - started >= 0.05 * 5  # role + 3 deltas + finish + [DONE] => 5 gaps
