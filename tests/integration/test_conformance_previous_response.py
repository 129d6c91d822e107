"""``previous_response_id`` works whatever the backend kind: a Responses client continues a conversation (a tool
loop included) by id alone, and each upstream receives the whole conversation in its native shape (a Responses
upstream keeps its own state and gets the id)."""

from __future__ import annotations

import pytest

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import (
    BACKENDS,
    Ask,
    Rig,
    Tool,
    ask,
    native,
    upstream_conversation,
    upstream_exchange,
    user,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_continue_by_id(matrix: Rig, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Nice to meet you, Ada."), Turn(text="Ada."))
    first = await ask(matrix, "responses", backend, stream, Ask([user("My name is Ada.")], system="Be brief."))
    matrix.fake.received.clear()
    follow = Ask([user("What is my name?")], extra={"previous_response_id": first.raw.id})
    seen = await ask(matrix, "responses", backend, stream, follow)
    assert seen.text == "Ada."
    body = matrix.upstream(backend)
    if backend == "responses":
        assert body["previous_response_id"] == first.raw.id
        return
    system, turns = upstream_conversation(backend, body)
    assert system == ""  # instructions do not carry over to the next response, as with OpenAI
    assert turns == [("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."), ("user", "What is my name?")]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_tool_loop_by_id(matrix: Rig, backend: str, stream: bool) -> None:
    call = FakeToolCall("get_weather", '{"city": "Kyiv"}', "call_k1")
    matrix.fake.queue(Turn(text="", tool_calls=[call]), Turn(text="Kyiv: 3C."))
    tools = [Tool("get_weather")]
    first = await ask(matrix, "responses", backend, stream, Ask([user("weather in Kyiv?")], tools=tools))
    matrix.fake.received.clear()
    output = native({"type": "function_call_output", "call_id": "call_k1", "output": "3C"})
    follow = Ask([output], tools=tools, extra={"previous_response_id": first.raw.id})
    seen = await ask(matrix, "responses", backend, stream, follow)
    assert seen.text == "Kyiv: 3C."
    body = matrix.upstream(backend)
    if backend == "responses":
        assert body["previous_response_id"] == first.raw.id
        return
    calls, outs = upstream_exchange(backend, body)
    assert calls == [("call_k1", "get_weather", {"city": "Kyiv"})]
    assert outs == [("call_k1", "3C", False)]
