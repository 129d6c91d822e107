"""Codex CLI's own request shapes (tests/integration/client_shapes.py) through lip to every backend kind.

A Responses upstream gets Codex's body as sent (encrypted reasoning, custom tools, ``client_metadata`` and all); a
Chat or Anthropic upstream gets the faithful translation, with the freeform ``apply_patch`` tool as a function of
one string and its calls coming back to Codex as ``custom_tool_call`` items holding the raw patch; the OpenAI SDK
parses every answer, stream and non-stream.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.resources.responses import AsyncResponses

from lip.protocols.anthropic_messages.blocks import CUSTOM_TOOL_SCHEMA
from lip.protocols.freeform import WRAPPED_NOTE
from tests.fakes import FakeToolCall, Turn
from tests.integration import client_shapes as shapes
from tests.integration.matrix import MODEL, Rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

KNOWN = shapes.sdk_params(AsyncResponses.create)
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
SYSTEM_PARTS = [
    shapes.CODEX_INSTRUCTIONS,
    "<permissions instructions>\nFilesystem sandboxing: workspace-write.\nApproval policy: on-request.\n"
    "</permissions instructions>",
]
ENV_CONTEXT = shapes.codex_context()[1]["content"][0]["text"]
SHELL_ARGS = '{"command":["bash","-lc","cat src/app.py"],"workdir":"/home/dev/project"}'


async def send(rig: Rig, body: dict[str, Any]) -> tuple[Any, list[Any]]:
    """``body`` as Codex sends it; the final response object and, for a stream, every event the SDK parsed."""
    response = await rig.openai.responses.create(**shapes.split_kwargs(body, KNOWN))
    if not body.get("stream"):
        return response, []
    events = [event async for event in response]
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    return events[-1].response, events


def patch_turn(**extra: Any) -> Turn:
    """The model edits with apply_patch: a function call whose one string argument is the patch."""
    call = FakeToolCall("apply_patch", json.dumps({"input": shapes.PATCH}), fragments=5)
    return Turn(text="", tool_calls=[call], **extra)


def custom_calls(response: Any) -> list[Any]:
    return [item for item in response.output if item.type == "custom_tool_call"]


# ---------------------------------------------------------------- a Responses upstream: Codex's body as sent


@STREAMS
async def test_first_turn_reaches_a_responses_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="", reasoning="Read the file first.", tool_calls=[FakeToolCall("shell", SHELL_ARGS)]))
    body = shapes.codex_first_turn(Rig.selector("responses"), stream=stream)
    response, _ = await send(matrix, body)

    assert matrix.upstream("responses") == {**body, "model": MODEL["responses"]}
    reasoning, call = response.output
    assert reasoning.type == "reasoning" and reasoning.encrypted_content
    assert call.type == "function_call" and call.name == "shell" and call.arguments == SHELL_ARGS


@STREAMS
async def test_tool_loop_reaches_a_responses_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Added tests/test_app.py."))
    body = shapes.codex_tool_loop(Rig.selector("responses"), stream=stream)
    response, _ = await send(matrix, body)

    sent = matrix.upstream("responses")
    assert sent == {**body, "model": MODEL["responses"]}
    encrypted = [item["encrypted_content"] for item in sent["input"] if item["type"] == "reasoning"]
    assert encrypted == [shapes.ENCRYPTED_1, shapes.ENCRYPTED_2]
    assert response.output_text == "Added tests/test_app.py."


# ---------------------------------------------------------------- a Chat upstream


@STREAMS
async def test_first_turn_to_a_chat_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(patch_turn(reasoning="A one-line change."))
    response, events = await send(matrix, shapes.codex_first_turn(Rig.selector("chat"), stream=stream))

    sent = matrix.upstream("chat")
    assert sent["messages"] == [
        {"role": "system", "content": "\n\n".join(SYSTEM_PARTS)},
        {
            "role": "user",
            "content": [{"type": "text", "text": ENV_CONTEXT}, {"type": "text", "text": "Rename the greeting"}],
        },
    ]
    shell, plan = shapes.codex_tools()[:2]
    assert sent["tools"] == [
        {"type": "function", "function": {k: shell[k] for k in ("name", "description", "parameters", "strict")}},
        {"type": "function", "function": {k: plan[k] for k in ("name", "description", "parameters", "strict")}},
        {
            "type": "function",
            "function": {
                "name": "apply_patch",
                "description": f"Use the `apply_patch` tool to edit files.\n\n{WRAPPED_NOTE}\n\n"
                f"The text must match this lark grammar:\n{shapes.APPLY_PATCH_GRAMMAR}",
                "parameters": {
                    "type": "object",
                    "properties": {"input": {"type": "string", "description": "The raw input for this tool."}},
                    "required": ["input"],
                },
            },
        },
    ]  # web_search is a hosted tool: only a Responses upstream can run it
    assert (sent["tool_choice"], sent["parallel_tool_calls"], sent["reasoning_effort"]) == ("auto", False, "medium")
    assert not {"prompt_cache_key", "client_metadata", "include", "store", "text", "instructions"} & set(sent)

    reasoning, call = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "A one-line change."
    assert call.type == "custom_tool_call" and call.name == "apply_patch" and call.input == shapes.PATCH
    if stream:
        done = [e for e in events if e.type == "response.custom_tool_call_input.done"]
        assert [e.input for e in done] == [shapes.PATCH]


@STREAMS
async def test_tool_loop_to_a_chat_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(patch_turn())
    response, _ = await send(matrix, shapes.codex_tool_loop(Rig.selector("chat"), stream=stream))

    sent = matrix.upstream("chat")
    assert sent["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            # the reasoning item's summary goes back as text: DeepSeek-style upstreams refuse a tool loop without it
            "reasoning_content": "**Inspecting the file**\n\nI'll read src/app.py first.",
            "tool_calls": [
                {
                    "id": "call_Xa1b2c3d4e5f6g7h8i9j0k1l",
                    "type": "function",
                    "function": {"name": "shell", "arguments": SHELL_ARGS},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_Xa1b2c3d4e5f6g7h8i9j0k1l",
            "content": '{"output":"print(\'hi\')\\n","metadata":{"exit_code":0,"duration_seconds":0.0}}',
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_Ya1b2c3d4e5f6g7h8i9j0k1l",
                    "type": "function",
                    "function": {
                        "name": "apply_patch",
                        "arguments": json.dumps({"input": shapes.PATCH}, separators=(",", ":")),
                    },
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_Ya1b2c3d4e5f6g7h8i9j0k1l",
            "content": shapes.PATCH_OUTPUT,
        },
        {"role": "assistant", "content": "Renamed the greeting in src/app.py."},
        {"role": "user", "content": "Now add a test for it"},
    ]  # encrypted reasoning has no Chat form (dropped, never sent as text); the web_search_call record is dropped
    assert [c.input for c in custom_calls(response)] == [shapes.PATCH]


# ---------------------------------------------------------------- an Anthropic upstream


@STREAMS
async def test_first_turn_to_an_anthropic_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(patch_turn(reasoning="A one-line change."))
    response, _ = await send(matrix, shapes.codex_first_turn(Rig.selector("anthropic"), stream=stream))

    sent = matrix.upstream("anthropic")
    assert sent["system"] == [{"type": "text", "text": text} for text in SYSTEM_PARTS]
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": ENV_CONTEXT}, {"type": "text", "text": "Rename the greeting"}],
        }
    ]
    assert [t["name"] for t in sent["tools"]] == ["shell", "update_plan", "apply_patch"]
    assert sent["tools"][0]["input_schema"] == shapes.codex_tools()[0]["parameters"]
    assert sent["tools"][2]["input_schema"] == CUSTOM_TOOL_SCHEMA
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 8192}  # effort medium
    assert sent["max_tokens"] > 8192

    reasoning, call = response.output
    assert reasoning.summary[0].text == "A one-line change."
    assert reasoning.encrypted_content.startswith("lip-signature:")  # the signature rides home in Codex's history
    assert call.type == "custom_tool_call" and call.input == shapes.PATCH


@STREAMS
async def test_tool_loop_to_an_anthropic_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Added tests/test_app.py."))
    response, _ = await send(matrix, shapes.codex_tool_loop(Rig.selector("anthropic"), stream=stream))

    sent = matrix.upstream("anthropic")
    assert [m["role"] for m in sent["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    shell = {
        "type": "tool_use",
        "id": "call_Xa1b2c3d4e5f6g7h8i9j0k1l",
        "name": "shell",
        "input": json.loads(SHELL_ARGS),
    }
    patch = {
        "type": "tool_use",
        "id": "call_Ya1b2c3d4e5f6g7h8i9j0k1l",
        "name": "apply_patch",
        "input": {"input": shapes.PATCH},
    }
    assert sent["messages"][1]["content"] == [shell]  # OpenAI's encrypted reasoning cannot go to Anthropic
    assert sent["messages"][3]["content"] == [patch]
    assert sent["messages"][4]["content"][0]["tool_use_id"] == patch["id"]
    assert sent["messages"][5]["content"] == [{"type": "text", "text": "Renamed the greeting in src/app.py."}]
    assert response.output_text == "Added tests/test_app.py."


async def test_anthropic_thinking_and_patches_round_trip_through_codex_history(matrix: Rig) -> None:
    """Turn 1's output items go back (as Codex does: without ids) and reach Anthropic as they came."""
    signature = "EqQBCkYIBxgCKkDsignedByAnthropic" + "x" * 40
    matrix.fake.queue(patch_turn(reasoning="A one-line change.", reasoning_signature=signature))
    first = shapes.codex_first_turn(Rig.selector("anthropic"), stream=True)
    response, _ = await send(matrix, first)

    history = [item.model_dump(exclude_none=True, exclude={"id", "status"}) for item in response.output]
    call_id = history[1]["call_id"]
    second = {
        **first,
        "input": [
            *first["input"],
            *history,
            {"type": "custom_tool_call_output", "call_id": call_id, "output": "Success. Updated src/app.py"},
        ],
    }
    matrix.reset()
    matrix.fake.queue(Turn(text="Done."))
    await send(matrix, second)

    sent = matrix.upstream("anthropic")
    assert sent["thinking"]["type"] == "enabled"  # the tool loop continues from a signed thinking block
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "A one-line change.", "signature": signature},
        {"type": "tool_use", "id": call_id, "name": "apply_patch", "input": {"input": shapes.PATCH}},
    ]


# ---------------------------------------------------------------- codex exec --output-schema


@pytest.mark.parametrize("backend", ["responses", "chat", "anthropic"])
async def test_output_schema_reaches_every_upstream(matrix: Rig, backend: Any) -> None:
    answer = '{"summary":"Renamed the greeting","files_changed":["src/app.py"]}'
    matrix.fake.queue(Turn(text=answer))
    body = shapes.codex_exec_with_schema(Rig.selector(backend), stream=True)
    response, _ = await send(matrix, body)

    sent = matrix.upstream(backend)
    schema = shapes.CODEX_OUTPUT_SCHEMA
    if backend == "responses":
        assert sent == {**body, "model": MODEL[backend]}
    elif backend == "chat":
        assert sent["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "codex_output_schema", "schema": schema, "strict": True},
        }
    else:
        assert sent["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert json.loads(response.output_text)["files_changed"] == ["src/app.py"]


# ---------------------------------------------------------------- a conversation lip stored, continued on Responses


async def test_codex_fields_survive_a_stored_conversation_on_a_responses_upstream(matrix: Rig) -> None:
    """A ``previous_response_id`` that lip stored makes lip translate even to a Responses upstream: the history is
    sent whole, and every field of Codex's body lip does not model still reaches the upstream as sent."""
    matrix.fake.queue(Turn(text="Renamed the greeting."))
    first = {**shapes.codex_first_turn(Rig.selector("chat"), stream=False), "store": True}
    stored, _ = await send(matrix, first)
    matrix.reset()
    matrix.fake.queue(Turn(text="Added a test."))
    follow_up = shapes.codex_first_turn(Rig.selector("responses"), stream=True)
    follow_up["input"] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Test it"}]}]
    response, _ = await send(matrix, {**follow_up, "previous_response_id": stored.id})

    sent = matrix.upstream("responses")
    kept = (
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "include",
        "prompt_cache_key",
        "text",
        "client_metadata",
    )
    assert {k: sent[k] for k in kept} == {k: follow_up[k] for k in kept}
    assert "previous_response_id" not in sent and sent["store"] is False
    assert [(i["type"], i["role"]) for i in sent["input"]] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert sent["input"][1]["content"] == [{"type": "output_text", "text": "Renamed the greeting."}]
    assert response.output_text == "Added a test."


@pytest.mark.parametrize("backend", ["responses", "chat", "anthropic"])
async def test_a_model_without_reasoning(matrix: Rig, backend: Any) -> None:
    """``reasoning: null`` and ``include: []`` ask for nothing: no reasoning reaches a translated upstream."""
    matrix.fake.queue(Turn(text="", tool_calls=[FakeToolCall("apply_patch", json.dumps({"input": shapes.PATCH}))]))
    body = shapes.codex_plain_model(Rig.selector(backend), stream=True)
    response, _ = await send(matrix, body)

    sent = matrix.upstream(backend)
    if backend == "responses":
        assert sent == {**body, "model": MODEL[backend]}
    else:
        assert not {"reasoning", "reasoning_effort", "thinking", "include"} & set(sent)
    [call] = response.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"input": shapes.PATCH}
