"""The Gemini fake against the official google-genai SDK: every body and chunk validates strictly against its types,
the SDK reads the fake's answers (stream, function calls with thought signatures, countTokens, paged model lists,
errors), and the fake refuses what Google refuses."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.fakes import Fail, FakeProvider, FakeToolCall, FakeUsage, Turn
from tests.fakes import conformance as conf
from tests.fakes.rawhttp import request

KEY = {"x-goog-api-key": "g-key"}
USER = {"contents": [{"role": "user", "parts": [{"text": "What is the weather in Paris?"}]}]}
TOOLS = [{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "object"}}]}]
THINKING = {"thinkingConfig": {"includeThoughts": True}}
TOOL_TURN = Turn(
    text="Let me check.",
    reasoning="The user wants the weather.",
    tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}'), FakeToolCall("get_time", '{"tz": "CET"}')],
    usage=FakeUsage(input_tokens=20, output_tokens=7, cached=4, reasoning=3),
)


@pytest.fixture
async def client(fake_provider: FakeProvider) -> AsyncIterator[genai.Client]:
    sdk = genai.Client(api_key="g-key", http_options=types.HttpOptions(base_url=fake_provider.url))
    yield sdk
    await sdk.aio.aclose()


def url(fake: FakeProvider, method: str, model: str = "gemini-2.5-flash", query: str = "") -> str:
    return f"{fake.url}/v1beta/models/{model}:{method}{query}"


async def test_a_whole_answer_validates_and_the_sdk_reads_it(fake_provider: FakeProvider, client: genai.Client) -> None:
    fake_provider.queue(TOOL_TURN)
    reply = await request("POST", url(fake_provider, "generateContent"), {**USER, "tools": TOOLS}, KEY)
    assert reply.status == 200
    body = conf.check_gemini_response(reply.json())
    [candidate] = body.candidates or []
    parts = candidate.content.parts if candidate.content else []
    assert [p.function_call.name for p in parts or [] if p.function_call] == ["get_weather", "get_time"]
    assert candidate.finish_reason == "STOP"  # Gemini says STOP when it calls tools
    usage = body.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.thoughts_token_count) == (20, 4, 3)
    assert usage.cached_content_token_count == 4

    sdk = await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert sdk.text == "Hello from fake"
    assert fake_provider.last.path == "/v1/models/gemini-2.5-flash:generateContent"  # the SDK calls v1


async def test_the_sse_stream_validates_and_the_sdk_streams_it(
    fake_provider: FakeProvider, client: genai.Client
) -> None:
    fake_provider.queue(TOOL_TURN)
    body = {**USER, "tools": TOOLS, "generationConfig": THINKING}
    reply = await request("POST", url(fake_provider, "streamGenerateContent", query="?alt=sse"), body, KEY)
    assert reply.headers["content-type"].startswith("text/event-stream")
    chunks = conf.check_gemini_stream(reply.body, sse=True)
    parts = [p for c in chunks for p in (c.candidates or [])[0].content.parts or []]  # type: ignore[union-attr]
    assert "".join(p.text or "" for p in parts if p.thought) == "The user wants the weather."
    signed = [p for p in parts if p.thought_signature]
    assert len(signed) == 1 and signed[0].function_call and signed[0].function_call.name == "get_weather"
    assert chunks[-1].usage_metadata and chunks[-1].usage_metadata.candidates_token_count == 4

    fake_provider.queue(Turn(text="Sunny and warm", chunks=3))
    texts = [c.text async for c in await client.aio.models.generate_content_stream(model="m", contents="hi")]
    assert texts == ["Sunny", " and ", "warm"]
    assert fake_provider.last.query.get("alt") == "sse"  # the SDK always asks for SSE


async def test_without_alt_sse_the_stream_is_one_json_array_as_google_writes_it(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="abc", chunks=3))
    reply = await request("POST", url(fake_provider, "streamGenerateContent"), USER, KEY)
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.body.startswith(b'[{\n  "candidates"') and reply.body.count(b"\r\n,\r\n") == 2
    assert reply.body.endswith(b"}\r\n]")
    assert [c.text for c in conf.check_gemini_stream(reply.body, sse=False)] == ["a", "b", "c"]


async def test_count_tokens_and_paged_models_validate(fake_provider: FakeProvider, client: genai.Client) -> None:
    counted = await request("POST", url(fake_provider, "countTokens"), USER, KEY)
    assert conf.check_gemini_count(counted.json()).total_tokens
    sdk_count = await client.aio.models.count_tokens(model="gemini-2.5-flash", contents="hello there")
    assert sdk_count.total_tokens and sdk_count.total_tokens > 0

    fake_provider.models = ["gemini-a", "gemini-b", "gemini-c"]
    page = await request("GET", f"{fake_provider.url}/v1beta/models?pageSize=2", None, KEY)
    assert [m.name for m in conf.check_gemini_models(page.json())] == ["models/gemini-a", "models/gemini-b"]
    assert page.json()["nextPageToken"]
    listed = [m.name async for m in await client.aio.models.list(config={"page_size": 2})]
    assert listed == ["models/gemini-a", "models/gemini-b", "models/gemini-c", "models/text-embedding-004"]
    one = await client.aio.models.get(model="gemini-b")
    assert one.input_token_limit == 1_048_576 and one.supported_actions == ["generateContent", "countTokens"]


async def test_errors_are_googles_and_the_sdk_raises_them(fake_provider: FakeProvider, client: genai.Client) -> None:
    fake_provider.keys = {"g-key": None}
    missing = await request("POST", url(fake_provider, "generateContent"), USER)
    wrong = await request("POST", url(fake_provider, "generateContent"), USER, {"x-goog-api-key": "nope"})
    by_query = await request("POST", url(fake_provider, "generateContent", query="?key=g-key"), USER)
    assert (missing.status, conf.check_gemini_error(missing.json())["status"]) == (403, "PERMISSION_DENIED")
    assert (wrong.status, conf.check_gemini_error(wrong.json())["status"]) == (400, "INVALID_ARGUMENT")
    assert by_query.status == 200
    fake_provider.queue(Fail(429))
    with pytest.raises(genai_errors.ClientError) as limited:
        await client.aio.models.generate_content(model="m", contents="hi")
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**USER, "model": "x"}, 'Unknown name "model"'),
        ({**USER, "stream": True}, 'Unknown name "stream"'),
        ({"contents": []}, "contents is not specified"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "valid role: user, model"),
        (
            {
                **USER,
                "tools": [
                    {
                        "functionDeclarations": [
                            {"name": "f", "parameters": {"type": "object", "additionalProperties": False}}
                        ]
                    }
                ],
            },
            'Unknown name "additionalProperties"',
        ),
        ({**USER, "generationConfig": {"thinkingConfig": {"thinkingBudget": 1, "thinkingLevel": "low"}}}, "only one"),
        (
            {"contents": [*USER["contents"], {"role": "user", "parts": [{"functionResponse": {"name": "f"}}]}]},
            "function response turn comes immediately after a function call turn",
        ),
    ],
)
async def test_the_fake_refuses_what_google_refuses(
    fake_provider: FakeProvider, body: dict[str, object], message: str
) -> None:
    reply = await request("POST", url(fake_provider, "generateContent"), body, KEY)
    assert reply.status == 400 and message in conf.check_gemini_error(reply.json())["message"]


async def test_a_function_call_sent_back_without_its_thought_signature_is_refused(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="", reasoning="think", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    first = (await request("POST", url(fake_provider, "generateContent"), {**USER, "tools": TOOLS}, KEY)).json()
    call_part = first["candidates"][0]["content"]["parts"][-1]
    assert base64.b64decode(call_part["thoughtSignature"])  # base64, as the SDK's bytes field requires
    answer = {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}}]}

    def turn(part: dict[str, object]) -> dict[str, object]:
        return {"contents": [*USER["contents"], {"role": "model", "parts": [part]}, answer], "tools": TOOLS}

    lost = {k: v for k, v in call_part.items() if k != "thoughtSignature"}
    refused = await request("POST", url(fake_provider, "generateContent"), turn(lost), KEY)
    kept = await request("POST", url(fake_provider, "generateContent"), turn(call_part), KEY)
    dummy = {**lost, "thoughtSignature": "skip_thought_signature_validator"}
    bypassed = await request("POST", url(fake_provider, "generateContent"), turn(dummy), KEY)
    assert refused.status == 400 and "missing a thought_signature" in refused.json()["error"]["message"]
    assert (kept.status, bypassed.status) == (200, 200)
