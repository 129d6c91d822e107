"""Chat Completions through lip, stream and non-stream: relayed as it arrives (the first chunk reaches the client
while the upstream is still sending), unknown fields both ways, usage only when asked; translated kinds too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeProvider, FakeToolCall, FakeUsage, Turn
from tests.harness import LipServer, backend_row, run_lip

USER = [{"role": "user", "content": "hi"}]


def config(fake: FakeProvider) -> dict[str, Any]:
    return {"plugins": {"backends": [backend_row("p", fake.url + "/v1")]}}


async def test_the_first_chunk_arrives_while_the_upstream_is_still_sending(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="a b c d e f", chunks=6, delay_between_chunks=0.08))
    async with run_lip(config(fake_provider)) as lip:
        stream = await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=True)
        upstream_busy_at_chunk: list[bool] = []
        text = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                upstream_busy_at_chunk.append(fake_provider.in_flight == 1)
                text += chunk.choices[0].delta.content
    assert text == "a b c d e f"
    assert len(upstream_busy_at_chunk) == 6
    assert upstream_busy_at_chunk[:5] == [True] * 5  # each delta came before the upstream had finished


async def test_a_relayed_stream_keeps_the_providers_fields(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider)) as lip:
        stream = await lip.openai().chat.completions.create(
            model="p:m", messages=USER, stream=True, extra_body={"provider_knob": {"x": 1}}
        )
        chunks = [chunk async for chunk in stream]
    assert fake_provider.last.body["provider_knob"] == {"x": 1}
    assert fake_provider.last.body["model"] == "m"
    assert all(c.system_fingerprint == "fp_fake0001" for c in chunks)  # the provider's own bytes


@pytest.mark.parametrize("include_usage", [True, False])
async def test_usage_is_streamed_only_when_asked(fake_provider: FakeProvider, include_usage: bool) -> None:
    fake_provider.queue(Turn(usage=FakeUsage(input_tokens=12, output_tokens=3)))
    async with run_lip(config(fake_provider)) as lip:
        stream = await lip.openai().chat.completions.create(
            model="p:m", messages=USER, stream=True, stream_options={"include_usage": include_usage}
        )
        chunks = [chunk async for chunk in stream]
    usages = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert [(u.prompt_tokens, u.completion_tokens, u.total_tokens) for u in usages] == [(12, 3, 15)]
        assert chunks[-1].choices == []
    else:
        assert usages == []


async def test_non_stream_returns_the_providers_completion(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="whole answer", usage=FakeUsage(7, 2)))
    async with run_lip(config(fake_provider)) as lip:
        completion = await lip.openai().chat.completions.create(model="p:m", messages=USER)
    assert completion.choices[0].message.content == "whole answer"
    assert completion.usage is not None and (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        7,
        2,
    )
    assert completion.system_fingerprint == "fp_fake0001"


async def test_tool_call_deltas_are_relayed(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="", tool_calls=[FakeToolCall("get_weather", '{"city":"Paris"}', "call_1")]))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    async with (
        run_lip(config(fake_provider)) as lip,
        lip.openai().chat.completions.stream(
            model="p:m",
            messages=USER,
            tools=tools,  # type: ignore[arg-type]
        ) as stream,
    ):
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == ("call_1", "get_weather", '{"city":"Paris"}')
    assert final.choices[0].finish_reason == "tool_calls"


async def ask_both_ways(lip: LipServer, model: str) -> tuple[str | None, str]:
    client = lip.openai()
    completion = await client.chat.completions.create(model=model, messages=USER, max_tokens=50)
    stream = await client.chat.completions.create(
        model=model, messages=USER, max_tokens=50, stream=True, stream_options={"include_usage": True}
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    return completion.choices[0].message.content, text


@pytest.mark.parametrize(
    ("kind", "suffix", "module", "path"),
    [
        ("custom-openai-responses-compatible", "/v1", "lip.protocols.openai_responses", "/v1/responses"),
        ("custom-anthropic-compatible", "", "lip.protocols.anthropic_messages", "/v1/messages"),
    ],
)
async def test_a_chat_client_reaches_the_other_kinds(
    fake_provider: FakeProvider, kind: str, suffix: str, module: str, path: str
) -> None:
    pytest.importorskip(module)
    fake_provider.queue(Turn(text="translated reply", chunks=3), Turn(text="translated reply", chunks=3))
    row = backend_row("x", fake_provider.url + suffix, kind=kind)
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        whole, streamed = await ask_both_ways(lip, "x:claude-test")
    assert whole == streamed == "translated reply"
    sent = fake_provider.requests_to(path)
    assert [r.path for r in sent] == [path, path]
    assert all(r.body["model"] == "claude-test" for r in sent)
