"""Tool calls through every client x backend x stream/non-stream: several calls in one turn, their argument fragments
reassembled in order, ids kept, the tool-use stop reason in the client's spelling; tool definitions and tool_choice
(auto / none / required / a named tool) reach each upstream in its native shape. Clients that take one call at a time
(Responses, Messages) get each call's pieces live on the wire, whichever upstream sent them (a Chat upstream, which
never says when a call ends, included)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes import FakeToolCall, Turn
from tests.fakes.conformance import SSE, parse_sse
from tests.integration.matrix import (
    BACKENDS,
    CLIENTS,
    STOP,
    WEATHER,
    Ask,
    Rig,
    Tool,
    ask,
    matrix_params,
    raw_call,
    user,
)

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
        assert all(len(f) > 1 for f in seen.fragments), seen.fragments
    offered = upstream_tools(backend, matrix.upstream(backend))
    assert offered == [(t.name, t.description, t.parameters) for t in TOOLS]


THREE_CALLS = [*CALLS, FakeToolCall("get_weather", '{"city": "Lyon", "unit": "kelvin"}', "call_C3", fragments=5)]
# per one-call-at-a-time client: (item start, argument delta, item end) event types, the index key, and readers of
# a start's call id (None for a block that is no call) and of a delta's piece
WIRE: dict[str, tuple[tuple[str, str, str], str, Callable[[Any], str | None], Callable[[Any], str | None]]] = {
    "messages": (
        ("content_block_start", "content_block_delta", "content_block_stop"),
        "index",
        lambda e: e["content_block"].get("id"),
        lambda e: e["delta"].get("partial_json") or None,
    ),
    "responses": (
        ("response.output_item.added", "response.function_call_arguments.delta", "response.output_item.done"),
        "output_index",
        lambda e: e["item"].get("call_id"),
        lambda e: e["delta"],
    ),
}


def wire_calls(client: str, events: list[SSE]) -> list[tuple[str, list[str]]]:
    """(call id, argument pieces) per call on the wire, checking that items never overlap and that every piece
    arrives inside its own call's item."""
    (start, delta, stop), key, call_id, piece = WIRE[client]
    calls: list[tuple[str, list[str]]] = []
    open_index: int | None = None
    for event in (e.json() for e in events if e.data):
        kind = event.get("type")
        if kind == start:
            assert open_index is None, f"{event[key]} started while {open_index} was open"
            open_index = event[key]
            if call_id(event):
                calls.append((str(call_id(event)), []))
        elif kind == delta and piece(event):
            assert event[key] == open_index and calls, "an argument piece outside its call"
            calls[-1][1].append(str(piece(event)))
        elif kind == stop:
            assert event[key] == open_index
            open_index = None
    return calls


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", sorted(WIRE))
async def test_each_call_streams_its_pieces_on_the_wire(matrix: Rig, client: str, backend: str) -> None:
    matrix.fake.queue(Turn(text="Checking.", tool_calls=THREE_CALLS))
    status, raw = await raw_call(matrix, client, backend, True, Ask([user("weather and time?")], tools=TOOLS))
    assert status == 200
    calls = wire_calls(client, parse_sse(raw))
    assert [call_id for call_id, _ in calls] == [c.id for c in THREE_CALLS]
    assert [json.loads("".join(pieces)) for _, pieces in calls] == [json.loads(c.arguments) for c in THREE_CALLS]
    assert all(len(pieces) > 1 for _, pieces in calls), [pieces for _, pieces in calls]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", sorted(WIRE))
async def test_the_sdk_stream_helpers_take_three_live_calls(matrix: Rig, client: str, backend: str) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=THREE_CALLS))
    seen = await ask(matrix, client, backend, True, Ask([user("weather and time?")], tools=TOOLS))
    args = [json.loads(c.arguments) for c in THREE_CALLS]
    assert seen.calls == [(c.id, c.name, a) for c, a in zip(THREE_CALLS, args, strict=True)]
    assert seen.stop == STOP[client]["tool_use"]
    assert [json.loads("".join(f)) for f in seen.fragments] == args
    assert all(len(f) > 1 for f in seen.fragments), seen.fragments


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
