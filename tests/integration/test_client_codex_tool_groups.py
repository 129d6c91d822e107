"""Codex >= 0.147's tool declarations through lip: an ``additional_tools`` input item and ``namespace`` groups.

A Chat or Anthropic upstream gets every tool flattened into its own tool list (a grouped tool as
``<namespace>__<name>``, with its namespace's description first; the freeform tools described as the one-string
functions they become); the model's call to a grouped tool comes back to Codex with ``namespace`` and the name it
declared, stream and not, and Codex's replay of that call in its next request reaches the upstream under the flat
name again. A Responses upstream gets Codex's own shapes back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lip.protocols.anthropic_messages.blocks import CUSTOM_TOOL_SCHEMA
from lip.protocols.freeform import WRAPPED_NOTE
from tests.fakes import FakeToolCall, Turn
from tests.integration import client_shapes as shapes
from tests.integration.matrix import MODEL, Rig
from tests.integration.test_client_codex import send

pytestmark = pytest.mark.asyncio(loop_scope="module")

STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
TRANSLATED = pytest.mark.parametrize("backend", ["chat", "anthropic"])
FLAT_NAMES = [
    "shell",
    "update_plan",
    "apply_patch",
    "collaboration__spawn_agent",
    "collaboration__send_message",
    "functions__exec",
]  # web_search is a hosted tool: only a Responses upstream can run it
SPAWN_ARGS = '{"task":"Write tests for src/app.py"}'


def sent_tools(backend: str, sent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The upstream's tool list by name: {name: {description, schema}}."""
    if backend == "chat":
        functions = [t["function"] for t in sent["tools"]]
        return {f["name"]: {"description": f.get("description"), "schema": f["parameters"]} for f in functions}
    return {t["name"]: {"description": t.get("description"), "schema": t["input_schema"]} for t in sent["tools"]}


def streamed_items(events: list[Any]) -> list[Any]:
    return [e.item for e in events if e.type in ("response.output_item.added", "response.output_item.done")]


# ---------------------------------------------------------------- the first turn: tools flattened, calls restored


@TRANSLATED
@STREAMS
async def test_additional_tools_reach_a_translated_upstream_flattened(matrix: Rig, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=[FakeToolCall("collaboration__spawn_agent", SPAWN_ARGS)]))
    response, events = await send(matrix, shapes.codex_lite_first_turn(Rig.selector(backend), stream=stream))

    tools = sent_tools(backend, matrix.upstream(backend))
    assert list(tools) == FLAT_NAMES
    spawn = shapes.codex_tool_groups()[0]["tools"][0]
    assert tools["collaboration__spawn_agent"] == {
        "description": "Tools to delegate work to sub-agents.\n\nStart a sub-agent on a task.",
        "schema": spawn["parameters"],
    }
    assert tools["shell"]["schema"] == shapes.codex_tools()[0]["parameters"]

    [call] = response.output
    assert (call.type, call.namespace, call.name, call.arguments) == (
        "function_call",
        "collaboration",
        "spawn_agent",
        SPAWN_ARGS,
    )
    if stream:
        assert [(i.namespace, i.name) for i in streamed_items(events)] == [("collaboration", "spawn_agent")] * 2


@TRANSLATED
@STREAMS
async def test_a_grouped_freeform_call_comes_back_as_codex_sends_it(matrix: Rig, backend: str, stream: bool) -> None:
    matrix.fake.queue(
        Turn(text="", tool_calls=[FakeToolCall("functions__exec", json.dumps({"input": shapes.CODE_MODE}))])
    )
    response, events = await send(matrix, shapes.codex_lite_first_turn(Rig.selector(backend), stream=stream))

    assert sent_tools(backend, matrix.upstream(backend))["functions__exec"]["schema"] == CUSTOM_TOOL_SCHEMA
    [call] = response.output
    assert (call.type, call.namespace, call.name, call.input) == (
        "custom_tool_call",
        "functions",
        "exec",
        shapes.CODE_MODE,
    )
    if stream:
        done = [e for e in events if e.type == "response.custom_tool_call_input.done"]
        assert [e.input for e in done] == [shapes.CODE_MODE]
        assert [(i.namespace, i.name) for i in streamed_items(events)] == [("functions", "exec")] * 2


@TRANSLATED
async def test_freeform_tools_are_described_as_the_functions_they_become(matrix: Rig, backend: str) -> None:
    """Codex tells the model "do not wrap the patch in JSON"; a JSON-only upstream is told the opposite, and gets
    the patch grammar it cannot enforce as text."""
    matrix.fake.queue(Turn(text="Nothing to do."))
    await send(matrix, shapes.codex_lite_first_turn(Rig.selector(backend), stream=True))

    tools = sent_tools(backend, matrix.upstream(backend))
    assert tools["apply_patch"]["description"] == (
        f"Use the `apply_patch` tool to edit files.\n\n{WRAPPED_NOTE}\n\n"
        f"The text must match this lark grammar:\n{shapes.APPLY_PATCH_GRAMMAR}"
    )
    assert tools["functions__exec"]["description"] == (
        f"Code mode: JavaScript that calls the other tools.\n\nRun code-mode JavaScript.\n\n{WRAPPED_NOTE}"
    )
    assert not any("JSON" in t["description"].replace(WRAPPED_NOTE, "") for t in tools.values() if t["description"])


# ---------------------------------------------------------------- the next turn: Codex replays the grouped call


@TRANSLATED
async def test_a_replayed_grouped_call_reaches_the_upstream_under_its_flat_name(matrix: Rig, backend: str) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=[FakeToolCall("collaboration__spawn_agent", SPAWN_ARGS)]))
    first = shapes.codex_lite_first_turn(Rig.selector(backend), stream=True)
    response, _ = await send(matrix, first)

    history = [item.model_dump(exclude_none=True, exclude={"id", "status"}) for item in response.output]
    assert history[0]["namespace"] == "collaboration"
    call_id = history[0]["call_id"]
    output = {"type": "function_call_output", "call_id": call_id, "output": '{"agent_id":"agent-1"}'}
    second = {**first, "input": [*first["input"], *history, output]}
    matrix.reset()
    matrix.fake.queue(Turn(text="A sub-agent is writing the tests."))
    reply, _ = await send(matrix, second)

    sent = matrix.upstream(backend)
    if backend == "chat":
        assert sent["messages"][-2:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "collaboration__spawn_agent", "arguments": SPAWN_ARGS},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": '{"agent_id":"agent-1"}'},
        ]
    else:
        assert sent["messages"][-2]["content"] == [
            {"type": "tool_use", "id": call_id, "name": "collaboration__spawn_agent", "input": json.loads(SPAWN_ARGS)}
        ]
        assert sent["messages"][-1]["content"][0]["tool_use_id"] == call_id
    assert reply.output_text == "A sub-agent is writing the tests."


# ---------------------------------------------------------------- a Responses upstream: Codex's shapes kept


async def test_additional_tools_reach_a_responses_upstream_verbatim(matrix: Rig) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=[FakeToolCall("spawn_agent", SPAWN_ARGS, namespace="collaboration")]))
    body = shapes.codex_lite_first_turn(Rig.selector("responses"), stream=True)
    response, _ = await send(matrix, body)

    assert matrix.upstream("responses") == {**body, "model": MODEL["responses"]}
    [call] = response.output
    assert (call.namespace, call.name) == ("collaboration", "spawn_agent")


async def test_a_translated_responses_request_keeps_codex_shapes(matrix: Rig) -> None:
    """A conversation lip stored (from a Chat upstream) continued on a Responses upstream is translated: Codex's
    ``additional_tools`` item leads the input as sent, the stored call goes up with its namespace, and the
    upstream's namespaced call comes back with it."""
    matrix.fake.queue(Turn(text="", tool_calls=[FakeToolCall("collaboration__spawn_agent", SPAWN_ARGS)]))
    first = {**shapes.codex_lite_first_turn(Rig.selector("chat"), stream=False), "store": True}
    stored, _ = await send(matrix, first)
    call_id = stored.output[0].call_id

    matrix.reset()
    message = FakeToolCall("send_message", '{"target":"agent-1","message":"go"}', namespace="collaboration")
    matrix.fake.queue(Turn(text="", tool_calls=[message]))
    follow_up = shapes.codex_lite_first_turn(Rig.selector("responses"), stream=True)
    declared = follow_up["input"][0]
    output = {"type": "function_call_output", "call_id": call_id, "output": '{"agent_id":"agent-1"}'}
    follow_up["input"] = [declared, output]
    response, _ = await send(matrix, {**follow_up, "previous_response_id": stored.id})

    sent = matrix.upstream("responses")
    assert sent["input"][0] == declared and sent["tools"] == []
    calls = [item for item in sent["input"] if item["type"] == "function_call"]
    assert calls == [
        {
            "type": "function_call",
            "call_id": call_id,
            "name": "spawn_agent",
            "namespace": "collaboration",
            "arguments": SPAWN_ARGS,
        }
    ]
    [call] = response.output
    assert (call.namespace, call.name) == ("collaboration", "send_message")
