"""No valid request is refused by translation: Chat ``tool_choice`` ``allowed_tools`` narrows to the target's mode,
a whole-number float in an integer field is that integer, and a conversation with no turn a target can take is
lip's own 400 in the client's shape naming the client's field (never the upstream's 400 about a field the client
never sent); where the target can take it (a system prompt alone towards Chat, an empty user text), it is sent."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes import Turn
from tests.fakes.conformance import check_openai_error
from tests.integration.matrix import BACKENDS, SAME, Ask, Rig, ask, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}
TOOLS = [
    {"type": "function", "function": {"name": "weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}},
]
# What a target gets for allowed_tools in each mode.
NARROWED = {
    "responses": {"auto": "auto", "required": "required"},
    "anthropic": {"auto": {"type": "auto"}, "required": {"type": "any"}},
}
TRANSLATED = [b for b in BACKENDS if b != "chat"]


@pytest.mark.parametrize("mode", ["auto", "required"])
@pytest.mark.parametrize("backend", TRANSLATED)
async def test_chat_allowed_tools_narrows_to_the_mode(matrix: Rig, backend: str, mode: str) -> None:
    matrix.fake.queue(Turn(text="fine"))
    allowed = {"mode": mode, "tools": [{"type": "function", "function": {"name": "weather"}}]}
    completion = await matrix.openai.chat.completions.create(
        model=matrix.selector(backend),
        messages=[{"role": "user", "content": "weather?"}],
        tools=TOOLS,  # type: ignore[arg-type]
        tool_choice={"type": "allowed_tools", "allowed_tools": allowed},  # type: ignore[typeddict-item]
    )
    assert completion.choices[0].message.content == "fine"
    assert matrix.upstream(backend)["tool_choice"] == NARROWED[backend][mode]


# Each client's integer fields, written as whole-number floats, and where the target keeps each.
FLOATS: dict[str, dict[str, Any]] = {
    "chat": {"max_completion_tokens": 300.0, "seed": 7.0},
    "responses": {"max_output_tokens": 300.0},
    "messages": {"max_tokens": 3000.0, "thinking": {"type": "enabled", "budget_tokens": 2048.0}},
}


def _upstream_max_tokens(backend: str, body: dict[str, Any]) -> Any:
    if backend == "chat":
        return body.get("max_completion_tokens", body.get("max_tokens"))
    return body["max_output_tokens" if backend == "responses" else "max_tokens"]


@pytest.mark.parametrize("client", list(FLOATS))
@pytest.mark.parametrize("backend", BACKENDS)
async def test_whole_number_floats_are_integers(matrix: Rig, client: str, backend: str) -> None:
    if SAME[backend] == client:
        return  # passthrough: the body reaches the provider as the client wrote it
    matrix.fake.queue(Turn(text="ok"))
    seen = await ask(matrix, client, backend, False, Ask([user("hi")], extra=FLOATS[client]))
    assert seen.text == "ok"
    sent = matrix.upstream(backend)
    expected = 3000 if client == "messages" else 300
    got = _upstream_max_tokens(backend, sent)
    assert got == expected and type(got) is int
    if client == "chat" and backend == "anthropic":
        assert "seed" not in sent
    if client == "messages" and backend != "anthropic":
        assert "effort" in str(sent)  # the budget became a reasoning effort


# ---------------------------------------------------------------- conversations without turns

CHAT_SYSTEM_ONLY = [{"role": "system", "content": "Say hello."}]
CHAT_EMPTY_USER = [{"role": "system", "content": "Say hello."}, {"role": "user", "content": ""}]


async def _chat(rig: Rig, backend: str, messages: list[dict[str, Any]]) -> str | None:
    completion = await rig.openai.chat.completions.create(model=rig.selector(backend), messages=messages)  # type: ignore[arg-type]
    return completion.choices[0].message.content


async def _responses(rig: Rig, backend: str, given: Any, instructions: str | None = None) -> str:
    extra = {"instructions": instructions} if instructions else {}
    response = await rig.openai.responses.create(model=rig.selector(backend), input=given, **extra)  # type: ignore[arg-type]
    return response.output_text


@pytest.mark.parametrize("messages", [CHAT_SYSTEM_ONLY, CHAT_EMPTY_USER], ids=["system-only", "empty-user-text"])
async def test_a_chat_conversation_without_turns_reaches_responses(matrix: Rig, messages: list[Any]) -> None:
    matrix.fake.queue(Turn(text="hello"))
    assert await _chat(matrix, "responses", messages) == "hello"
    assert matrix.upstream("responses")["instructions"] == "Say hello."


@pytest.mark.parametrize("messages", [CHAT_SYSTEM_ONLY, CHAT_EMPTY_USER], ids=["system-only", "empty-user-text"])
async def test_a_chat_conversation_without_turns_is_lips_400_towards_anthropic(
    matrix: Rig, messages: list[Any]
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await _chat(matrix, "anthropic", messages)
    body = caught.value.body
    assert isinstance(body, dict)
    check_openai_error({"error": body})
    assert body["param"] == "messages" and "'messages'" in body["message"] and "Anthropic" in body["message"]
    assert not matrix.fake.received


async def test_responses_empty_string_input_is_an_empty_user_turn_towards_chat(matrix: Rig) -> None:
    matrix.fake.queue(Turn(text="hello"))
    assert await _responses(matrix, "chat", "", "Say hello.") == "hello"
    assert matrix.upstream("chat")["messages"] == [
        {"role": "system", "content": "Say hello."},
        {"role": "user", "content": ""},
    ]


async def test_responses_empty_input_list_with_instructions_is_a_system_prompt_towards_chat(matrix: Rig) -> None:
    matrix.fake.queue(Turn(text="hello"))
    assert await _responses(matrix, "chat", [], "Say hello.") == "hello"
    assert matrix.upstream("chat")["messages"] == [{"role": "system", "content": "Say hello."}]


@pytest.mark.parametrize(
    ("backend", "given", "instructions"),
    [("chat", [], None), ("anthropic", [], None), ("anthropic", "", "Say hello."), ("anthropic", [], "Say hello.")],
    ids=["chat-nothing", "anthropic-nothing", "anthropic-empty-string", "anthropic-instructions-only"],
)
async def test_responses_input_without_turns_is_lips_400_naming_input(
    matrix: Rig, backend: str, given: Any, instructions: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await _responses(matrix, backend, given, instructions)
    body = caught.value.body
    assert isinstance(body, dict)
    check_openai_error({"error": body})
    assert body["param"] == "input" and "'input'" in body["message"]
    assert not matrix.fake.received
