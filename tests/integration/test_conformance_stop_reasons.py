"""Stop reasons mapped exactly from every backend kind to every client (stream and non-stream): length / max_tokens /
incomplete, content filter / refusal, stop sequences, tool calls; and upstreams that say ``stop``/``end_turn`` while
calling tools, or end without any finish reason, normalised so an agent never stalls on a turn that called tools.
Same-protocol passthrough relays the provider's own bytes, except a plain stop after tool calls (corrected in place);
an answer without any finish reason is normalised only when translated."""

from __future__ import annotations

import pytest

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import SAME, STOP, Ask, Rig, Tool, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

CALL = FakeToolCall("get_weather", '{"city": "Rome"}', "call_r1")


@matrix_params()
async def test_length(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="It was the best of", finish="max_tokens"))
    seen = await ask(matrix, client, backend, stream, Ask([user("a novel")], max_tokens=20))
    assert seen.text == "It was the best of"
    assert seen.stop == STOP[client]["max_tokens"]


@matrix_params()
async def test_content_filter(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="I can't", finish="content_filter"))
    seen = await ask(matrix, client, backend, stream, Ask([user("something bad")]))
    assert seen.stop == STOP[client]["content_filter"]


@matrix_params()
async def test_stop_sequence(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="one, two, ", finish="stop_sequence", stop_sequence="three"))
    seen = await ask(matrix, client, backend, stream, Ask([user("count")], stop=["three"]))
    assert seen.text == "one, two, "
    # Only an Anthropic upstream says which sequence stopped it; the others end normally.
    reason = "stop_sequence" if backend == "anthropic" else "end_turn"
    assert seen.stop == STOP[client][reason]
    if client == "messages":
        assert seen.raw.stop_sequence == ("three" if backend == "anthropic" else None)


# How each backend kind says "I'm done" while it is in fact calling a tool.
WRONG_STOP = {
    "chat": Turn(text="", tool_calls=[CALL], chat_finish_override="stop"),
    "responses": Turn(text="", tool_calls=[CALL], finish="end_turn"),
    "anthropic": Turn(text="", tool_calls=[CALL], finish="end_turn"),
}


@matrix_params()
async def test_tool_calls_with_a_plain_stop_are_tool_use(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(WRONG_STOP[backend])
    seen = await ask(matrix, client, backend, stream, Ask([user("weather in Rome?")], tools=[Tool("get_weather")]))
    assert seen.calls == [("call_r1", "get_weather", {"city": "Rome"})]
    assert seen.stop == STOP[client]["tool_use"]  # passthrough included: only the finish reason's bytes change


@matrix_params()
@pytest.mark.parametrize("with_tools", [True, False], ids=["tools", "text"])
async def test_no_finish_reason_is_normalised(
    matrix: Rig, client: str, backend: str, stream: bool, with_tools: bool
) -> None:
    if backend == "responses":
        pytest.skip("a Responses stream without its terminal event is a broken stream (see the errors tests)")
    calls = [CALL] if with_tools else []
    matrix.fake.queue(Turn(text="" if with_tools else "done", tool_calls=calls, omit_finish_reason=True))
    seen = await ask(matrix, client, backend, stream, Ask([user("weather in Rome?")], tools=[Tool("get_weather")]))
    if SAME[backend] == client:
        return  # passthrough
    assert seen.stop == STOP[client]["tool_use" if with_tools else "end_turn"]
