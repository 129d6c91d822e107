"""Tool-result follow-up turns: turn 1 goes through lip and yields tool calls; the client sends its own record of
that turn back with the results (one an error) exactly as its SDK produced it; each upstream receives the calls and
results in its native shape (tool messages / function_call_output items / tool_result blocks), ids kept."""

from __future__ import annotations

import pytest

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import (
    STOP,
    Ask,
    Result,
    Rig,
    Tool,
    ask,
    history,
    matrix_params,
    results,
    upstream_exchange,
    user,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOOLS = [Tool("get_weather"), Tool("get_time", parameters={"type": "object", "properties": {}})]
CALLS = [
    FakeToolCall("get_weather", '{"city": "Oslo"}', "toolu_01Weather", fragments=2),
    FakeToolCall("get_time", "{}", "toolu_02Time", fragments=1),
]


@matrix_params()
async def test_results_go_back_in_the_targets_shape(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="", tool_calls=CALLS), Turn(text="Oslo: 4C; time unknown."))
    first = await ask(matrix, client, backend, stream, Ask([user("weather and time in Oslo?")], tools=TOOLS))
    assert first.stop == STOP[client]["tool_use"]
    assert [c[0] for c in first.calls] == ["toolu_01Weather", "toolu_02Time"]
    matrix.fake.received.clear()
    second = Ask(
        [
            user("weather and time in Oslo?"),
            history(client, first),
            results(
                Result("toolu_01Weather", "4C, light snow"), Result("toolu_02Time", "clock offline", is_error=True)
            ),
        ],
        tools=TOOLS,
    )
    seen = await ask(matrix, client, backend, stream, second)
    assert seen.text == "Oslo: 4C; time unknown."
    assert seen.stop == STOP[client]["end_turn"]
    calls, outs = upstream_exchange(backend, matrix.upstream(backend))
    assert calls == [("toolu_01Weather", "get_weather", {"city": "Oslo"}), ("toolu_02Time", "get_time", {})]
    # An error flag exists in Messages only; elsewhere it is said in the text.
    flagged = client == "messages"
    if backend == "anthropic":
        expected_error = ("toolu_02Time", "clock offline", flagged)
    else:
        expected_error = ("toolu_02Time", "Error: clock offline" if flagged else "clock offline", False)
    assert outs == [("toolu_01Weather", "4C, light snow", False), expected_error]
