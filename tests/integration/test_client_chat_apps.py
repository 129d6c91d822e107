"""Chat Completions apps' request shapes (tests/integration/client_shapes.py) through lip to every backend kind.

A Chat upstream gets the body as sent; a Responses or Anthropic upstream gets the faithful translation of the
``developer`` role, image parts (URL and data URL, with ``detail``), ``max_completion_tokens``, a json_schema
``response_format``, stop, user, tools and a tool loop; the OpenAI SDK parses every answer, stream and non-stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from openai.resources.chat.completions import AsyncCompletions

from tests.fakes import FakeToolCall, FakeUsage, Turn
from tests.integration import client_shapes as shapes
from tests.integration.matrix import MODEL, Rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

KNOWN = shapes.sdk_params(AsyncCompletions.create)
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
DEVELOPER = "You are a careful analyst. Answer in the requested JSON shape."
ANSWER = '{"trend":"up","summary":"Revenue grew in Q3."}'
USAGE = FakeUsage(input_tokens=1200, output_tokens=30, cached=1024)


@dataclass
class Seen:
    """What the app got back: the text, the tool calls, the finish reason and the usage."""

    text: str = ""
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, arguments)
    finish: str | None = None
    usage: Any = None


async def send(rig: Rig, body: dict[str, Any]) -> Seen:
    reply = await rig.openai.chat.completions.create(**shapes.split_kwargs(body, KNOWN))
    if not body.get("stream"):
        message = reply.choices[0].message
        calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        return Seen(message.content or "", calls, reply.choices[0].finish_reason, reply.usage)
    seen = Seen()
    by_index: dict[int, list[str]] = {}
    async for chunk in reply:
        seen.usage = chunk.usage or seen.usage
        for choice in chunk.choices:
            seen.text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = by_index.setdefault(call.index, ["", "", ""])
                entry[0] = call.id or entry[0]
                entry[1] = (call.function and call.function.name) or entry[1]
                entry[2] += (call.function and call.function.arguments) or ""
            seen.finish = choice.finish_reason or seen.finish
    seen.calls = [(i, n, a) for i, n, a in by_index.values()]
    return seen


def weather_turn() -> Turn:
    return Turn(
        text="",
        tool_calls=[FakeToolCall("get_weather", '{"city":"Paris","unit":"celsius"}', id="call_paris_tomorrow")],
    )


# ---------------------------------------------------------------- vision + structured output


@STREAMS
async def test_vision_request_reaches_a_chat_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text=ANSWER, usage=USAGE))
    body = shapes.chat_app_vision(Rig.selector("chat"), stream=stream)
    seen = await send(matrix, body)

    assert matrix.upstream("chat") == {**body, "model": MODEL["chat"]}
    assert json.loads(seen.text)["trend"] == "up" and seen.finish == "stop"
    assert seen.usage.prompt_tokens_details.cached_tokens == 1024


@STREAMS
async def test_vision_request_to_a_responses_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text=ANSWER, usage=USAGE))
    seen = await send(matrix, shapes.chat_app_vision(Rig.selector("responses"), stream=stream))

    sent = matrix.upstream("responses")
    assert sent["instructions"] == DEVELOPER
    assert sent["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What trend do these two charts show?"},
                {"type": "input_image", "image_url": shapes.CHART_URL, "detail": "high"},
                {"type": "input_image", "image_url": f"data:image/png;base64,{shapes.PNG_1PX}", "detail": "low"},
            ],
        }
    ]
    assert sent["text"] == {
        "format": {"type": "json_schema", "name": "chart_answer", "schema": shapes.ANSWER_SCHEMA, "strict": True}
    }
    assert (sent["max_output_tokens"], sent["temperature"], sent["top_p"], sent["user"]) == (
        800,
        0.2,
        0.9,
        "user-8d0c5f",
    )
    assert not {"stop", "seed", "stream_options", "messages", "response_format"} & set(sent)  # no Responses form
    assert json.loads(seen.text)["summary"] == "Revenue grew in Q3." and seen.finish == "stop"
    assert seen.usage.prompt_tokens == 1200 and seen.usage.prompt_tokens_details.cached_tokens == 1024


@STREAMS
async def test_vision_request_to_an_anthropic_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text=ANSWER, usage=USAGE))
    seen = await send(matrix, shapes.chat_app_vision(Rig.selector("anthropic"), stream=stream))

    sent = matrix.upstream("anthropic")
    assert sent["system"] == [{"type": "text", "text": DEVELOPER}]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What trend do these two charts show?"},
                {"type": "image", "source": {"type": "url", "url": shapes.CHART_URL}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": shapes.PNG_1PX}},
            ],
        }
    ]  # Anthropic has no image detail: dropped
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": shapes.ANSWER_SCHEMA}}
    assert sent["stop_sequences"] == ["\n\nUser:"] and sent["metadata"] == {"user_id": "user-8d0c5f"}
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"]) == (800, 0.2, 0.9)
    assert json.loads(seen.text)["trend"] == "up" and seen.finish == "stop"
    assert seen.usage.prompt_tokens == 1200 and seen.usage.prompt_tokens_details.cached_tokens == 1024


# ---------------------------------------------------------------- a tool loop with a mid-conversation developer turn


@STREAMS
async def test_tool_loop_reaches_a_chat_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(weather_turn())
    body = shapes.chat_app_tool_loop(Rig.selector("chat"), stream=stream)
    seen = await send(matrix, body)
    assert matrix.upstream("chat") == {**body, "model": MODEL["chat"]}
    assert seen.calls == [("call_paris_tomorrow", "get_weather", '{"city":"Paris","unit":"celsius"}')]


@STREAMS
async def test_tool_loop_to_a_responses_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(weather_turn())
    seen = await send(matrix, shapes.chat_app_tool_loop(Rig.selector("responses"), stream=stream))

    sent = matrix.upstream("responses")
    assert sent["instructions"] == "You help with travel plans."
    assert sent["input"][1:] == [
        {
            "type": "function_call",
            "call_id": "call_paris01",
            "name": "get_weather",
            "arguments": '{"city":"Paris","unit":"celsius"}',
        },
        {
            "type": "function_call",
            "call_id": "call_rome002",
            "name": "get_weather",
            "arguments": '{"city":"Rome","unit":null}',
        },
        {"type": "function_call_output", "call_id": "call_paris01", "output": "18°C, cloudy"},
        {"type": "function_call_output", "call_id": "call_rome002", "output": "Error: the weather service timed out"},
        {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "If a lookup failed, say so and offer to retry."}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]},
    ]
    function = shapes.WEATHER_TOOL["function"]
    assert sent["tools"] == [{"type": "function", **function}]
    assert (sent["tool_choice"], sent["parallel_tool_calls"], sent["reasoning"]) == ("auto", False, {"effort": "low"})
    assert seen.calls == [("call_paris_tomorrow", "get_weather", '{"city":"Paris","unit":"celsius"}')]
    assert seen.finish == "tool_calls"


@STREAMS
async def test_tool_loop_to_an_anthropic_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(weather_turn())
    seen = await send(matrix, shapes.chat_app_tool_loop(Rig.selector("anthropic"), stream=stream))

    sent = matrix.upstream("anthropic")
    assert sent["system"] == [{"type": "text", "text": "You help with travel plans."}]
    assert sent["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_paris01",
                    "name": "get_weather",
                    "input": {"city": "Paris", "unit": "celsius"},
                },
                {
                    "type": "tool_use",
                    "id": "call_rome002",
                    "name": "get_weather",
                    "input": {"city": "Rome", "unit": None},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_paris01", "content": "18°C, cloudy"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_rome002",
                    "content": "Error: the weather service timed out",
                },
                {"type": "text", "text": "<system>\nIf a lookup failed, say so and offer to retry.\n</system>"},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ]  # a mid-conversation developer turn keeps its place, in the user turn
    function = shapes.WEATHER_TOOL["function"]
    assert sent["tools"] == [
        {"name": "get_weather", "description": function["description"], "input_schema": function["parameters"]}
    ]
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert "thinking" not in sent  # the last assistant turn of this tool loop has no thinking block to continue
    assert seen.calls == [("call_paris_tomorrow", "get_weather", '{"city":"Paris","unit":"celsius"}')]
    assert seen.finish == "tool_calls"
