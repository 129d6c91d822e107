"""The official google-genai SDK as a client of lip: generateContent, streams (SSE as the SDK asks; Google's JSON
array for a client that does not), function calling with thought signatures, countTokens with failover, the model
list and one model, errors in Google's shape; to a Gemini backend (passthrough, the upstream's bytes and its
``usageMetadata``) and to a Chat backend (translated)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest
from google.genai import errors as genai_errors
from google.genai import types

from tests.fakes import Fail, FakeProvider, FakeToolCall, FakeUsage, Stall, Turn
from tests.fakes import conformance as conf
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import CANARY, LipServer, backend_row, run_lip
from tests.integration.operate import call
from tests.integration.test_metrics import sample, scrape
from tests.integration.test_stalled_bodies import answer, stall

GEMINI = "custom-gemini-compatible"
KEY_ENV = {"GEM_KEY": "gemini-upstream-key"}
MODEL = "gem:gemini-2.5-flash"
CONTENTS = {"contents": [{"role": "user", "parts": [{"text": "What is the weather in Paris?"}]}]}
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The weather in a city",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def rows(gemini: FakeProvider, chat: FakeProvider | None = None) -> dict[str, Any]:
    found = [backend_row("gem", gemini.url + "/v1beta", kind=GEMINI, key_root="GEM_KEY")]
    if chat is not None:
        found.append(backend_row("chat", chat.url + "/v1"))
    return {"plugins": {"backends": found}}


async def test_generate_content_passes_through_to_a_gemini_backend(fake_provider_factory: FakeProviderFactory) -> None:
    upstream = await fake_provider_factory(models=["gemini-2.5-flash"], keys={"gemini-upstream-key": None})
    upstream.queue(Turn(text="Sunny.", usage=FakeUsage(input_tokens=12, output_tokens=7, cached=2, reasoning=3)))
    async with run_lip(rows(upstream), KEY_ENV) as lip:
        answer = await lip.gemini().aio.models.generate_content(
            model=MODEL, contents="What is the weather in Paris?", config={"temperature": 0.1}
        )
        metrics = await scrape(lip.url)
    assert answer.text == "Sunny."
    sent = upstream.last
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"  # the native model, in the URL
    assert sent.headers["x-goog-api-key"] == "gemini-upstream-key" and "client-key" not in str(dict(sent.headers))
    assert sent.body == {
        "contents": [{"parts": [{"text": "What is the weather in Paris?"}], "role": "user"}],
        "generationConfig": {"temperature": 0.1},
    }  # the client's own body: no model, no stream flag
    assert sample(metrics, "lip_tokens_total", frontend="gemini", backend="gem", direction="in") == 12
    assert sample(metrics, "lip_tokens_total", frontend="gemini", backend="gem", direction="out") == 7


async def test_a_stream_relays_the_upstreams_sse_and_reads_its_usage(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    upstream = await fake_provider_factory(models=["gemini-2.5-flash"])
    upstream.queue(Turn(text="one two three", chunks=3, usage=FakeUsage(input_tokens=4, output_tokens=3)))
    upstream.queue(Turn(text="abc", chunks=3))
    async with run_lip(rows(upstream), KEY_ENV) as lip:
        chunks = [c async for c in await lip.gemini().aio.models.generate_content_stream(model=MODEL, contents="hi")]
        raw = await call(lip.url + f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", CONTENTS)
        metrics = await scrape(lip.url)
    assert "".join(c.text or "" for c in chunks) == "one two three"
    assert chunks[-1].usage_metadata and chunks[-1].usage_metadata.candidates_token_count == 3
    assert upstream.requests_to(":streamGenerateContent")[0].query.get("alt") == "sse"
    assert raw.headers["content-type"].startswith("text/event-stream") and raw.headers["x-lip-backend"] == MODEL
    assert [c.text for c in conf.check_gemini_stream(raw.body, sse=True)] == ["a", "b", "c"]  # \r\n\r\n kept
    tokens_in = sample(metrics, "lip_tokens_total", frontend="gemini", backend="gem", direction="in")
    assert tokens_in == 4 + 10  # the usageMetadata of both streams


@pytest.mark.parametrize("backend", ["gem", "chat"])
async def test_without_alt_sse_a_stream_is_googles_json_array(
    fake_provider_factory: FakeProviderFactory, backend: str
) -> None:
    gemini, chat = await fake_provider_factory(), await fake_provider_factory()
    for fake in (gemini, chat):  # chunks apart: a relay hands on all but the first from the upstream's callback
        fake.queue(Turn(text="abc", chunks=3, delay_between_chunks=0.05))
    async with run_lip(rows(gemini, chat), KEY_ENV) as lip:
        reply = await call(lip.url + f"/v1beta/models/{backend}:gpt-4o:streamGenerateContent", CONTENTS)
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    assert reply.body.startswith(b"[{") and reply.body.endswith(b"}\r\n]")
    chunks = conf.check_gemini_stream(reply.body, sse=False)
    assert "".join(c.text or "" for c in chunks) == "abc"
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == "STOP"


async def test_a_function_call_loop_keeps_its_thought_signature(fake_provider_factory: FakeProviderFactory) -> None:
    upstream = await fake_provider_factory(models=["gemini-2.5-flash"])
    upstream.queue(
        Turn(text="", reasoning="I need the tool.", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]),
        Turn(text="It is sunny in Paris."),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    async with run_lip(rows(upstream), KEY_ENV) as lip:
        models = lip.gemini().aio.models
        question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])
        first = await models.generate_content(model=MODEL, contents=[question], config=config)
        [called] = first.function_calls or []
        assert (called.name, called.args) == ("get_weather", {"city": "Paris"})
        turn = first.candidates[0].content if first.candidates else None
        assert turn is not None
        result = types.Part.from_function_response(name="get_weather", response={"output": "sunny"})
        second = await models.generate_content(
            model=MODEL, contents=[question, turn, types.Content(role="user", parts=[result])], config=config
        )
    assert second.text == "It is sunny in Paris."
    [call_part] = [p for p in upstream.last.body["contents"][1]["parts"] if "functionCall" in p]
    assert call_part["thoughtSignature"]  # the fake refuses the turn without it (Gemini 3's 400)


async def test_function_calling_through_a_chat_backend(fake_provider_factory: FakeProviderFactory) -> None:
    gemini, chat = await fake_provider_factory(), await fake_provider_factory()
    chat.queue(Turn(text="", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}', id="call_1")]))
    chat.queue(Turn(text="Sunny in Paris."))
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    async with run_lip(rows(gemini, chat), KEY_ENV) as lip:
        models = lip.gemini().aio.models
        question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])
        chunks = [
            c
            async for c in await models.generate_content_stream(model="chat:gpt-4o", contents=[question], config=config)
        ]
        calls = [fc for c in chunks for fc in c.function_calls or []]
        assert [(fc.name, fc.args) for fc in calls] == [("get_weather", {"city": "Paris"})]
        turn = types.Content(role="model", parts=[types.Part(function_call=calls[0])])
        result = types.Part.from_function_response(name="get_weather", response={"output": "sunny"})
        second = await models.generate_content(
            model="chat:gpt-4o", contents=[question, turn, types.Content(role="user", parts=[result])], config=config
        )
    assert second.text == "Sunny in Paris."
    sent = chat.last.body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    tool_messages = [m for m in sent["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1 and "sunny" in str(tool_messages[0]["content"])


async def test_count_tokens_is_exact_from_gemini_fails_over_and_estimates_elsewhere(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    broken, gemini, chat = [await fake_provider_factory() for _ in range(3)]
    broken.keys = {"gemini-upstream-key": Fail(503)}
    config = rows(gemini, chat)
    config["plugins"]["backends"].insert(
        0, backend_row("broken", broken.url + "/v1beta", kind=GEMINI, key_root="GEM_KEY")
    )
    async with run_lip(config, KEY_ENV) as lip:
        models = lip.gemini().aio.models
        exact = await models.count_tokens(model="broken:gemini-2.5-pro|gem:gemini-2.5-pro", contents="Hello there")
        estimated = await models.count_tokens(model="chat:gpt-4o", contents="Hello there")
    [counted] = gemini.requests_to(":countTokens")
    assert counted.path == "/v1beta/models/gemini-2.5-pro:countTokens" and counted.body == {
        "contents": [{"parts": [{"text": "Hello there"}], "role": "user"}]
    }
    assert len(broken.requests_to(":countTokens")) == 1
    assert exact.total_tokens == len(b'[{"parts":[{"text":"Hello there"}],"role":"user"}]') // 4  # the fake's count
    assert estimated.total_tokens and estimated.total_tokens > 0 and not chat.received[1:]


async def test_the_model_list_pages_and_names_each_model_by_its_selector(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    gemini = await fake_provider_factory(models=["gemini-2.5-flash", "gemini-2.5-pro"])
    async with run_lip(rows(gemini), KEY_ENV) as lip:
        beta = lip.gemini(api_version="v1beta")
        paged = [m async for m in await beta.aio.models.list(config={"page_size": 1})]
        listed = [m.name async for m in await lip.gemini().aio.models.list()]  # v1: lip's GET /v1/models
        one = await beta.aio.models.get(model="gem:gemini-2.5-pro")
        with pytest.raises(genai_errors.ClientError) as missing:
            await beta.aio.models.get(model="gem:nope")
        page = await call(lip.url + "/v1beta/models?pageSize=1", method="GET")
    names = [m.name for m in paged]
    assert names == listed == ["models/gem:gemini-2.5-flash", "models/gem:gemini-2.5-pro"]  # no embedding model
    assert one.input_token_limit == 1_048_576 and one.output_token_limit == 65_536
    assert one.supported_actions and "generateContent" in one.supported_actions
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    conf.check_gemini_models(page.json())
    assert page.json()["nextPageToken"]
    assert [r.query.get("pageSize") for r in gemini.requests_to("/models")] == ["1000"]  # discovery, paged


async def test_the_selector_splits_at_the_last_colon_before_the_method(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    gemini = await fake_provider_factory()
    config = {"plugins": {"backends": [backend_row("p", gemini.url + "/v1beta", kind=GEMINI, prefix="provider123")]}}
    async with run_lip(config) as lip:
        reply = await call(lip.url + "/v1beta/models/provider123:some-model:generateContent", CONTENTS)
        wrong = await call(lip.url + "/v1beta/models/provider123:some-model:embedContent", CONTENTS)
    assert reply.status == 200 and reply.headers["x-lip-backend"] == "provider123:some-model"
    assert gemini.last.path == "/v1beta/models/some-model:generateContent"
    assert wrong.status == 404 and conf.check_gemini_error(wrong.json())["status"] == "NOT_FOUND"


async def errors_of(lip: LipServer, path: str, **kwargs: Any) -> tuple[int, str, str]:
    reply = await call(lip.url + path, **kwargs)
    error = conf.check_gemini_error(reply.json())
    return reply.status, error["status"], error["message"]


async def test_errors_are_in_googles_shape_with_its_status_text(fake_provider_factory: FakeProviderFactory) -> None:
    gemini = await fake_provider_factory(models=["gemini-2.5-flash"], strict_models=True)
    config = {**rows(gemini), "server": {"max_body_bytes": 4096}}
    async with run_lip(config, {**KEY_ENV, "LIP_API_KEY": "lip-client-key-0123456789abcdef"}) as lip:
        key = {"x-goog-api-key": "lip-client-key-0123456789abcdef"}
        generate = f"/v1beta/models/{MODEL}:generateContent"
        no_key = await errors_of(lip, generate, body=CONTENTS)
        unknown = await errors_of(lip, "/v1beta/models/gem:gemini-9:generateContent", body=CONTENTS, headers=key)
        invalid = await errors_of(lip, generate, body={"contents": "nope"}, headers=key)
        too_big = await errors_of(lip, generate, body={"contents": [{"parts": [{"text": "x" * 5000}]}]}, headers=key)
        no_backend = await errors_of(lip, "/v1beta/models/none:m:generateContent", body=CONTENTS, headers=key)
        by_query = await call(lip.url + generate + "?key=lip-client-key-0123456789abcdef", CONTENTS)
        gemini.queue(Fail(429))
        limited = await errors_of(lip, generate, body=CONTENTS, headers=key)  # the key cools: the last upstream call
        with pytest.raises(genai_errors.ClientError) as refused:
            await lip.gemini(api_key="not-a-client-key-at-all").aio.models.generate_content(model=MODEL, contents="hi")
    assert no_key[:2] == (401, "UNAUTHENTICATED")
    assert limited[:2] == (429, "RESOURCE_EXHAUSTED")
    assert unknown[:2] == (404, "NOT_FOUND") and "gemini-9" in unknown[2]
    assert invalid[:2] == (400, "INVALID_ARGUMENT")
    assert too_big[0] == 413
    assert no_backend[0] == 404
    assert by_query.status == 200
    assert refused.value.code == 401 and refused.value.status == "UNAUTHENTICATED"


async def test_a_key_in_the_query_string_is_never_logged(
    fake_provider_factory: FakeProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    gemini = await fake_provider_factory()
    config = {**rows(gemini), "logging": {"access_log": True, "log_bodies": True}}
    key = CANARY + "-client-key"
    caplog.set_level(logging.DEBUG)
    async with run_lip(config, {**KEY_ENV, "LIP_API_KEY": key}) as lip:
        ok = await call(lip.url + f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse&key={key}", CONTENTS)
        bad = await call(lip.url + f"/v1beta/models/{MODEL}:generateContent?key={CANARY}-wrong", CONTENTS)
        models = await call(lip.url + f"/v1beta/models?key={key}", method="GET")
    assert (ok.status, bad.status, models.status) == (200, 401, 200)
    assert "access" in caplog.text and CANARY not in caplog.text
    assert all("key=" not in r.headers.get("x-goog-api-key", "") for r in gemini.received)
    assert not any("key" in r.query for r in gemini.received)  # never passed upstream


async def test_a_stalled_body_and_a_full_lip_answer_in_googles_shape(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    gemini = await fake_provider_factory()
    gemini.queue(Stall(2.0))
    config = {**rows(gemini), "server": {"max_in_flight": 1, "body_timeout_s": 0.5}}
    async with run_lip(config, KEY_ENV) as lip:
        generate = lip.url + f"/v1beta/models/{MODEL}:generateContent"
        slow = asyncio.ensure_future(call(generate, CONTENTS))
        while not gemini.requests_to(":generateContent"):
            await asyncio.sleep(0.01)
        busy = await call(generate, CONTENTS)  # the one slot is taken
        await slow
        reader, writer = await stall(lip.url, f"/v1beta/models/{MODEL}:generateContent", chunked=False)
        status, _, body = await answer(reader)
        writer.close()
    assert busy.status == 503 and conf.check_gemini_error(busy.json())["status"] == "UNAVAILABLE"
    assert status == 408 and conf.check_gemini_error(orjson.loads(body))["status"] == "DEADLINE_EXCEEDED"


async def test_a_key_google_calls_invalid_is_disabled_and_the_next_one_serves(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    gemini = await fake_provider_factory(keys={"second-good-key": None})  # any other key: 400 API_KEY_INVALID
    env = {"GEM_KEY": "first-bad-key", "GEM_KEY_2": "second-good-key"}
    async with run_lip(rows(gemini), env) as lip:
        replies = [await call(lip.url + f"/v1beta/models/{MODEL}:generateContent", CONTENTS) for _ in range(3)]
        keys = lip.runtime.backends["gem"].diagnostics()["keys"]
    assert [r.status for r in replies] == [200, 200, 200]
    sent = [r.headers["x-goog-api-key"] for r in gemini.requests_to(":generateContent")]
    assert sent.count("first-bad-key") == 1 and sent.count("second-good-key") == 3  # refused once, then never tried
    assert [k["disabled"] for k in keys] == [True, False]


async def test_a_signed_gemini_call_id_reaches_a_chat_backend_within_openais_id_limit(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    """A conversation that moves from a Gemini leaf to a Chat one (a failover, a model switch): the tool_use id lip
    minted with the thought signature is far longer than the 40 characters OpenAI takes, and the Chat fake refuses it
    as OpenAI does, so the Chat leaf gets a digest in the call and its result."""
    gemini, chat = await fake_provider_factory(models=["gemini-2.5-flash"]), await fake_provider_factory()
    gemini.queue(Turn(text="", reasoning="I need the tool.", tool_calls=[FakeToolCall("get_weather", '{"city": "P"}')]))
    chat.queue(Turn(text="Sunny in Paris."))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    tools: Any = [{"name": "get_weather", "input_schema": schema}]
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    async with run_lip(rows(gemini, chat), KEY_ENV) as lip:
        client = lip.anthropic()
        first = await client.messages.create(model=MODEL, max_tokens=256, messages=[question], tools=tools)
        [use] = [block for block in first.content if block.type == "tool_use"]
        assert len(use.id) > 40  # it carries Gemini's signature
        result: Any = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}
        history: Any = [question, {"role": "assistant", "content": [b.model_dump() for b in first.content]}, result]
        second = await client.messages.create(model="chat:gpt-4o", max_tokens=256, messages=history, tools=tools)
    assert [b.text for b in second.content if b.type == "text"] == ["Sunny in Paris."]
    sent = chat.last.body["messages"]
    [call_id] = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert len(call_id) <= 40 and [m["tool_call_id"] for m in sent if m["role"] == "tool"] == [call_id]
