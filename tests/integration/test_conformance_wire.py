"""lip's own bytes, read with a plain HTTP client and checked strictly against the SDK types and each protocol's
stream grammar (tests/fakes/conformance.py), for every client x backend x stream/non-stream: a stream an SDK happens
to tolerate but the real provider would never send fails here."""

from __future__ import annotations

import orjson
import pytest

from tests.fakes import FakeToolCall, FakeUsage, Turn
from tests.fakes.conformance import (
    check_anthropic_message,
    check_anthropic_stream,
    check_chat_completion,
    check_chat_stream,
    check_response,
    check_responses_stream,
)
from tests.integration.matrix import Ask, Rig, Tool, matrix_params, raw_call, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

TURNS = {
    "rich": Turn(
        text="Let me look both up.",
        reasoning="Two lookups are needed.",
        tool_calls=[
            FakeToolCall("get_weather", '{"city": "Lima"}', "call_w1", fragments=3),
            FakeToolCall("get_weather", '{"city": "Quito"}', "call_w2", fragments=2),
        ],
        usage=FakeUsage(input_tokens=50, output_tokens=30, cached=10, reasoning=5),
    ),
    "cut": Turn(text="It was a dark and stormy", finish="max_tokens"),
    "plain": Turn(text="Hi."),
}
STREAM_CHECKS = {"chat": check_chat_stream, "responses": check_responses_stream, "messages": check_anthropic_stream}
BODY_CHECKS = {"chat": check_chat_completion, "responses": check_response, "messages": check_anthropic_message}


@matrix_params()
@pytest.mark.parametrize("kind", list(TURNS))
async def test_wire_conformance(matrix: Rig, client: str, backend: str, stream: bool, kind: str) -> None:
    matrix.fake.queue(TURNS[kind])
    a = Ask([user("weather in Lima and Quito?")], tools=[Tool("get_weather")])
    status, raw = await raw_call(matrix, client, backend, stream, a)
    assert status == 200, raw[:500]
    if stream:
        STREAM_CHECKS[client](raw)
    else:
        BODY_CHECKS[client](orjson.loads(raw))
