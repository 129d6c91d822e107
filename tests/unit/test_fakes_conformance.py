"""The fakes against the official SDKs: every body and event validates strictly, and the SDK helpers accumulate it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import openai
import pytest

from tests.fakes import FakeProvider, FakeToolCall, FakeUsage, Turn
from tests.fakes import conformance as conf
from tests.fakes.rawhttp import request

USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS_TURN = Turn(
    text="Let me check.",
    reasoning="The user wants the weather; call both tools.",
    tool_calls=[
        FakeToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}', id="call_weather"),
        FakeToolCall("get_time", '{"tz": "Europe/Paris"}'),
    ],
    usage=FakeUsage(input_tokens=20, output_tokens=7, cached=4, reasoning=3),
)


@pytest.fixture
async def oai(fake_provider: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{fake_provider.url}/v1", api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture
async def ant(fake_provider: FakeProvider) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake_provider.url, api_key="sk-ant-test", max_retries=0) as client:
        yield client


ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}


# -- OpenAI Chat ------------------------------------------------------------------------------------------------


async def test_chat_non_stream_body_validates(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", {"model": "gpt-4o", "messages": USER})
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    completion = conf.check_chat_completion(reply.json())
    assert completion.choices[0].message.content == "Hello from fake"
    assert completion.choices[0].finish_reason == "stop"

    sdk = await oai.chat.completions.create(model="gpt-4o", messages=USER)  # type: ignore[arg-type]
    assert sdk.choices[0].message.content == "Hello from fake"
    assert sdk.usage is not None and (sdk.usage.prompt_tokens, sdk.usage.completion_tokens) == (10, 5)


async def test_chat_stream_tools_reasoning_usage(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    body = {"model": "gpt-4o", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
    fake_provider.queue(TOOLS_TURN)
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    chunks = conf.check_chat_stream(reply.body)
    assert chunks[0].choices[0].delta.role == "assistant"
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    assert reasoning == TOOLS_TURN.reasoning
    fragments = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert len([f for f in fragments if f.index == 0]) > 2, "arguments arrive in several fragments"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens_details and chunks[-1].usage.prompt_tokens_details.cached_tokens == 4
    assert chunks[-2].choices[0].finish_reason == "tool_calls"

    fake_provider.queue(TOOLS_TURN)
    async with oai.chat.completions.stream(
        model="gpt-4o",
        messages=USER,
        stream_options={"include_usage": True},  # type: ignore[arg-type]
    ) as stream:
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Let me check."
    calls = [(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or []]
    assert calls[0] == ("call_weather", "get_weather", '{"city": "Paris", "unit": "celsius"}')
    assert [t.function.name for t in message.tool_calls or []] == ["get_weather", "get_time"]
    assert final.usage is not None and final.usage.completion_tokens_details is not None
    assert final.usage.completion_tokens_details.reasoning_tokens == 3


async def test_chat_n_choices(fake_provider: FakeProvider) -> None:
    url = f"{fake_provider.url}/v1/chat/completions"
    reply = await request("POST", url, {"model": "m", "messages": USER, "n": 2})
    assert [c.index for c in conf.check_chat_completion(reply.json()).choices] == [0, 1]
    reply = await request("POST", url, {"model": "m", "messages": USER, "n": 2, "stream": True})
    chunks = conf.check_chat_stream(reply.body)
    assert {c.choices[0].index for c in chunks} == {0, 1}


# -- OpenAI Responses -------------------------------------------------------------------------------------------


async def test_responses_text_event_sequence(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    reply = await request(
        "POST", f"{fake_provider.url}/v1/responses", {"model": "gpt-4o", "input": "hi", "stream": True}
    )
    events = conf.check_responses_stream(reply.body)
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))

    reply = await request("POST", f"{fake_provider.url}/v1/responses", {"model": "gpt-4o", "input": "hi"})
    assert conf.check_response(reply.json()).output_text == "Hello from fake"
    sdk = await oai.responses.create(model="gpt-4o", input="hi")
    assert sdk.output_text == "Hello from fake" and sdk.status == "completed"


async def test_responses_stream_reasoning_and_tools(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    body = {"model": "gpt-5", "input": USER, "stream": True, "include": ["reasoning.encrypted_content"]}
    fake_provider.queue(TOOLS_TURN)
    events = conf.check_responses_stream((await request("POST", f"{fake_provider.url}/responses", body)).body)
    types = [e.type for e in events]
    assert "response.reasoning_summary_text.delta" in types and "response.function_call_arguments.delta" in types

    fake_provider.queue(TOOLS_TURN)
    async with oai.responses.stream(
        model="gpt-5",
        input=USER,
        include=["reasoning.encrypted_content"],  # type: ignore[arg-type]
    ) as stream:
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "function_call"]
    reasoning, _, call, _ = final.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert reasoning.summary[0].text == TOOLS_TURN.reasoning
    assert call.type == "function_call" and (call.call_id, call.name) == ("call_weather", "get_weather")
    assert final.usage is not None
    assert (final.usage.input_tokens_details.cached_tokens, final.usage.output_tokens_details.reasoning_tokens) == (
        4,
        3,
    )


async def test_responses_custom_tool_call_with_namespace(fake_provider: FakeProvider, oai: openai.AsyncOpenAI) -> None:
    """A freeform tool's call (Codex's `functions.exec`): `custom_tool_call` with raw `input` and its namespace,
    streamed as custom_tool_call_input deltas; the SDK's types and stream accumulator take both."""
    call = FakeToolCall("exec", "text('hi');", id="call_js", namespace="functions", custom=True, fragments=2)
    body = {"model": "gpt-5", "input": USER, "stream": True}
    fake_provider.queue(Turn(text="", tool_calls=[call]))
    events = conf.check_responses_stream((await request("POST", f"{fake_provider.url}/responses", body)).body)
    assert [e.type for e in events].count("response.custom_tool_call_input.delta") == 2

    fake_provider.queue(Turn(text="", tool_calls=[call]))
    async with oai.responses.stream(model="gpt-5", input=USER) as stream:
        final = await stream.get_final_response()
    (item,) = final.output
    assert item.type == "custom_tool_call"
    assert (item.call_id, item.namespace, item.name, item.input) == ("call_js", "functions", "exec", "text('hi');")
    fake_provider.queue(Turn(text="", tool_calls=[call]))
    plain = conf.check_response(
        (await request("POST", f"{fake_provider.url}/responses", {**body, "stream": False})).json()
    )
    assert plain.output[0].type == "custom_tool_call"


async def test_responses_previous_response_id_and_tool_output(
    oai: openai.AsyncOpenAI, fake_provider: FakeProvider
) -> None:
    fake_provider.queue(Turn(text="", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}', id="call_1")]))
    first = await oai.responses.create(model="gpt-4o", input="weather?")
    assert [item.type for item in first.output] == ["function_call"]
    second = await oai.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}],
    )
    assert second.previous_response_id == first.id and second.output_text == "Hello from fake"


# -- Anthropic Messages -----------------------------------------------------------------------------------------


async def test_anthropic_non_stream_body_validates(fake_provider: FakeProvider, ant: anthropic.AsyncAnthropic) -> None:
    fake_provider.queue(Turn(usage=FakeUsage(input_tokens=30, output_tokens=5, cached=20, cache_creation=4)))
    body = {"model": "claude-test", "max_tokens": 64, "messages": USER}
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    message = conf.check_anthropic_message(reply.json())
    assert message.usage.input_tokens == 6 and message.usage.cache_read_input_tokens == 20
    assert message.stop_reason == "end_turn"

    sdk = await ant.messages.create(model="claude-test", max_tokens=64, messages=USER)  # type: ignore[arg-type]
    assert sdk.content[0].type == "text" and sdk.content[0].text == "Hello from fake"


async def test_anthropic_stream_thinking_and_tools(fake_provider: FakeProvider, ant: anthropic.AsyncAnthropic) -> None:
    body = {"model": "claude-test", "max_tokens": 64, "messages": USER, "stream": True}
    fake_provider.queue(TOOLS_TURN)
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    events = conf.check_anthropic_stream(reply.body)
    names = [e.event for e in conf.parse_sse(reply.body)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    deltas = {e.delta.type for e in events if e.type == "content_block_delta"}
    assert deltas == {"thinking_delta", "signature_delta", "text_delta", "input_json_delta"}

    fake_provider.queue(TOOLS_TURN)
    async with ant.messages.stream(
        model="claude-test",
        max_tokens=64,
        messages=USER,  # type: ignore[arg-type]
    ) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use", "tool_use"]
    thinking, _, tool, _ = final.content
    assert thinking.type == "thinking" and thinking.thinking == TOOLS_TURN.reasoning and thinking.signature
    assert tool.type == "tool_use" and tool.input == {"city": "Paris", "unit": "celsius"}
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 7


async def test_anthropic_count_tokens(ant: anthropic.AsyncAnthropic) -> None:
    counted = await ant.messages.count_tokens(model="claude-test", messages=USER)  # type: ignore[arg-type]
    assert counted.input_tokens > 0


# -- stop reasons across protocols ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("finish", "chat", "responses_status", "anthropic_stop"),
    [
        ("end_turn", "stop", "completed", "end_turn"),
        ("max_tokens", "length", "incomplete", "max_tokens"),
        ("stop_sequence", "stop", "completed", "stop_sequence"),
        ("content_filter", "content_filter", "incomplete", "refusal"),
    ],
)
async def test_finish_reasons(
    fake_provider: FakeProvider, finish: str, chat: str, responses_status: str, anthropic_stop: str
) -> None:
    turn = Turn(finish=finish, stop_sequence="###")  # type: ignore[arg-type]
    fake_provider.queue(turn, turn, turn, turn)
    url = fake_provider.url
    reply = await request("POST", f"{url}/v1/chat/completions", {"model": "m", "messages": USER, "stream": True})
    assert conf.check_chat_stream(reply.body)[-1].choices[0].finish_reason == chat
    reply = await request("POST", f"{url}/v1/responses", {"model": "m", "input": "x", "stream": True})
    final = conf.check_responses_stream(reply.body)[-1]
    assert final.response.status == responses_status
    if responses_status == "incomplete":
        assert final.type == "response.incomplete"
        assert final.response.incomplete_details.reason == {"max_tokens": "max_output_tokens"}.get(finish, finish)
    reply = await request("POST", f"{url}/v1/responses", {"model": "m", "input": "x"})
    assert conf.check_response(reply.json()).status == responses_status
    body = {"model": "c", "max_tokens": 9, "messages": USER}
    reply = await request("POST", f"{url}/v1/messages", body, ANTHROPIC_HEADERS)
    message = conf.check_anthropic_message(reply.json())
    assert message.stop_reason == anthropic_stop
    assert message.stop_sequence == ("###" if finish == "stop_sequence" else None)


# -- model listing ----------------------------------------------------------------------------------------------


async def test_models_lists(
    fake_provider: FakeProvider, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    fake_provider.models = ["gpt-4o", "deepseek-chat", "claude-test"]
    reply = await request("GET", f"{fake_provider.url}/v1/models")
    assert [m.id for m in conf.check_openai_models(reply.json())] == fake_provider.models
    assert [m.id async for m in oai.models.list()] == fake_provider.models

    reply = await request("GET", f"{fake_provider.url}/v1/models?limit=2", headers=ANTHROPIC_HEADERS)
    page = reply.json()
    assert len(conf.check_anthropic_models(page)) == 2 and page["has_more"] is True
    assert sorted([m.id async for m in ant.models.list()]) == sorted(fake_provider.models)
