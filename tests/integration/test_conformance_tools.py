"""Tool calls through every client x backend x stream/non-stream: several calls in one turn, their argument fragments
reassembled in order, ids kept, the tool-use stop reason in the client's spelling; tool definitions and tool_choice
(auto / none / required / a named tool) reach each upstream in its native shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import BACKENDS, CLIENTS, STOP, WEATHER, Ask, Rig, Tool, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

TIME = {"type": "object", "properties": {"tz": {"type": "string"}}}
TOOLS = [Tool("get_weather", "Weather in a city", WEATHER), Tool("get_time", "Time in a zone", TIME)]
CALLS = [
    FakeToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}', "call_A1", fragments=4),
    FakeToolCall("get_time", '{"tz": "Europe/Paris"}', "call_B2", fragments=3),
]


def upstream_tools(backend: str, body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(name, description, JSON schema) of each tool the upstream was offered."""
    tools = body.get("tools") or []
    if backend == "chat":
        return [(t["function"]["name"], t["function"].get("description"), t["function"]["parameters"]) for t in tools]
    if backend == "responses":
        return [(t["name"], t.get("description"), t["parameters"]) for t in tools]
    return [(t["name"], t.get("description"), t["input_schema"]) for t in tools]


@matrix_params()
async def test_several_tool_calls_in_one_turn(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Checking both.", tool_calls=CALLS))
    seen = await ask(matrix, client, backend, stream, Ask([user("weather and time in Paris?")], tools=TOOLS))
    assert seen.calls == [
        ("call_A1", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ("call_B2", "get_time", {"tz": "Europe/Paris"}),
    ]
    assert seen.text == "Checking both."
    assert seen.stop == STOP[client]["tool_use"]
    if stream:  # the pieces arrived in order, more than one per call, and add up to the arguments
        assert [json.loads("".join(f)) for f in seen.fragments] == [c[2] for c in seen.calls]
        # A Chat upstream closes its calls only at finish_reason, so a client that takes one call at a time
        # (Responses, Messages) gets the later calls whole, once the earlier one ended.
        streamed = seen.fragments if backend != "chat" or client == "chat" else seen.fragments[:1]
        assert all(len(f) > 1 for f in streamed), seen.fragments
    offered = upstream_tools(backend, matrix.upstream(backend))
    assert offered == [(t.name, t.description, t.parameters) for t in TOOLS]


@matrix_params()
async def test_a_turn_of_only_tool_calls(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=CALLS[:1]))
    seen = await ask(matrix, client, backend, stream, Ask([user("weather?")], tools=TOOLS[:1]))
    assert seen.calls == [("call_A1", "get_weather", {"city": "Paris", "unit": "celsius"})]
    assert seen.text == ""
    assert seen.stop == STOP[client]["tool_use"]


NATIVE_CHOICE: dict[str, dict[str, Any]] = {
    "chat": {
        "auto": "auto",
        "none": "none",
        "required": "required",
        "get_time": {"type": "function", "function": {"name": "get_time"}},
    },
    "responses": {
        "auto": "auto",
        "none": "none",
        "required": "required",
        "get_time": {"type": "function", "name": "get_time"},
    },
    "anthropic": {
        "auto": {"type": "auto"},
        "none": {"type": "none"},
        "required": {"type": "any"},
        "get_time": {"type": "tool", "name": "get_time"},
    },
}


@pytest.mark.parametrize("choice", ["auto", "none", "required", "get_time"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_tool_choice(matrix: Rig, client: str, backend: str, choice: str) -> None:
    await ask(matrix, client, backend, False, Ask([user("hi")], tools=TOOLS, tool_choice=choice))
    assert matrix.upstream(backend)["tool_choice"] == NATIVE_CHOICE[backend][choice]


@matrix_params(stream=False)
async def test_parallel_tool_calls_off(matrix: Rig, client: str, backend: str) -> None:
    if client == "messages":
        extra: dict[str, Any] = {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}
    else:
        extra = {"parallel_tool_calls": False}
    await ask(matrix, client, backend, False, Ask([user("one at a time")], tools=TOOLS, extra=extra))
    body = matrix.upstream(backend)
    if backend == "anthropic":
        assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    else:
        assert body["parallel_tool_calls"] is False
