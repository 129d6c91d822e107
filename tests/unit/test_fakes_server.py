"""FakeProvider plumbing: suffix routing, request recording, the FIFO script, model listing, fixtures, checkers."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.fakes import Fail, FakeProvider, HtmlErrorPage, Stall, Turn
from tests.fakes import conformance as conf
from tests.fakes.fixtures import FakeProviderFactory
from tests.fakes.rawhttp import request

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
MESSAGES = {"model": "claude-test", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/v1/chat/completions", CHAT, {}),
        ("/anything/v1/chat/completions", CHAT, {}),
        ("/chat/completions/", CHAT, {}),
        ("/responses", {"model": "m", "input": "x"}, {}),
        ("/openai/v1/responses", {"model": "m", "input": "x"}, {}),
        ("/v1/messages", MESSAGES, ANTHROPIC_HEADERS),
        ("/proxy/anthropic/v1/messages", MESSAGES, ANTHROPIC_HEADERS),
        ("/v1/messages/count_tokens", {"model": "claude-test", "messages": MESSAGES["messages"]}, ANTHROPIC_HEADERS),
    ],
)
async def test_routes_match_by_suffix(
    fake_provider: FakeProvider, path: str, body: dict[str, object], headers: dict[str, str]
) -> None:
    reply = await request("POST", fake_provider.url + path, body, headers)
    assert reply.status == 200, reply.body
    assert fake_provider.last.path == path and fake_provider.last.method == "POST"


async def test_unknown_route_is_a_native_404(fake_provider: FakeProvider) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/embeddings", {"model": "m"})
    assert reply.status == 404 and "Invalid URL (POST /v1/embeddings)" in conf.check_openai_error(reply.json()).message


async def test_sdk_base_url_prefix_is_recorded(fake_provider: FakeProvider) -> None:
    async with openai.AsyncOpenAI(base_url=f"{fake_provider.url}/team-a/v1", api_key="k", max_retries=0) as client:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert fake_provider.requests_to("/chat/completions")[0].path == "/team-a/v1/chat/completions"


async def test_received_records_headers_body_and_raw(fake_provider: FakeProvider) -> None:
    await request("POST", f"{fake_provider.url}/v1/chat/completions?x=1", CHAT, {"X-Custom": "yes"})
    received = fake_provider.last
    assert received.headers["x-custom"] == received.headers["X-CUSTOM"] == "yes"
    assert received.body == CHAT and received.raw.startswith(b"{") and received.query["x"] == "1"


async def test_script_is_fifo_then_default(fake_provider: FakeProvider) -> None:
    fake_provider.script = [Turn(text="one"), Fail(500), Turn(text="two")]
    url = f"{fake_provider.url}/v1/chat/completions"
    answers = [await request("POST", url, CHAT) for _ in range(4)]
    assert [a.status for a in answers] == [200, 500, 200, 200]
    texts = [a.json()["choices"][0]["message"]["content"] for a in answers if a.status == 200]
    assert texts == ["one", "two", "Hello from fake"] and fake_provider.script == []


async def test_models_behaviour(fake_provider: FakeProvider) -> None:
    url = f"{fake_provider.url}/v1/models"
    fake_provider.models_behaviour = Fail(503)
    reply = await request("GET", url)
    assert reply.status == 503 and conf.check_openai_error(reply.json()).type == "server_error"
    reply = await request("GET", url, headers=ANTHROPIC_HEADERS)
    assert reply.status == 503
    fake_provider.models_behaviour = HtmlErrorPage(502)
    assert (await request("GET", url)).headers["content-type"].startswith("text/html")
    fake_provider.models_behaviour = Stall(0.2)
    started = time.monotonic()
    reply = await request("GET", url)
    assert time.monotonic() - started >= 0.2 and conf.check_openai_models(reply.json())


async def test_anthropic_models_pagination(fake_provider: FakeProvider) -> None:
    fake_provider.models = ["a", "b", "c"]
    url = f"{fake_provider.url}/v1/models"
    first = (await request("GET", f"{url}?limit=2", headers=ANTHROPIC_HEADERS)).json()
    second = (await request("GET", f"{url}?limit=2&after_id={first['last_id']}", headers=ANTHROPIC_HEADERS)).json()
    ids = [m.id for m in conf.check_anthropic_models(first) + conf.check_anthropic_models(second)]
    assert ids == ["c", "b", "a"] and second["has_more"] is False


async def test_factory_starts_independent_providers(fake_provider_factory: FakeProviderFactory) -> None:
    one, two = await asyncio.gather(fake_provider_factory(), fake_provider_factory(models=["only"]))
    assert one.url != two.url and two.models == ["only"]
    one.queue(Turn(text="from one"))
    reply = await request("POST", f"{one.url}/v1/chat/completions", CHAT)
    assert reply.json()["choices"][0]["message"]["content"] == "from one" and two.received == []


async def test_close_with_a_stalled_request_is_quick() -> None:
    fake = await FakeProvider().start()
    fake.queue(Stall(30))
    pending = asyncio.create_task(request("POST", f"{fake.url}/v1/chat/completions", CHAT))
    while not fake.in_flight:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await fake.close()
    assert time.monotonic() - started < 5 and fake.disconnects == 0
    with pytest.raises(Exception):  # noqa: B017 - whichever client error the abrupt close causes
        await pending


def test_checker_refuses_unknown_and_missing_fields() -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}],
    }
    conf.validate_strict(ChatCompletionChunk, chunk)
    with pytest.raises(AssertionError, match="bogus"):
        conf.validate_strict(ChatCompletionChunk, {**chunk, "choices": [{**chunk["choices"][0], "bogus": 1}]})
    with pytest.raises(ValueError, match="created"):
        conf.validate_strict(ChatCompletionChunk, {k: v for k, v in chunk.items() if k != "created"})


def test_parse_sse() -> None:
    raw = b': comment\n\nevent: a\ndata: {"x": 1}\n\ndata: line1\ndata: line2\r\n\r\ndata: [DONE]\n\n'
    assert conf.parse_sse(raw) == [conf.SSE("a", '{"x": 1}'), conf.SSE(None, "line1\nline2"), conf.SSE(None, "[DONE]")]
