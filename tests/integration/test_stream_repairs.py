"""Every repair lip makes to an upstream's answer is counted in ``lip_stream_repairs_total{kind, backend}``, through
every client protocol x backend kind, streamed and not, translated and relayed:

- ``stop_rewritten``: tools were called but the upstream said it simply stopped (Chat ``finish_reason: "stop"`` or
  none, Anthropic ``end_turn`` or none); the decoders and the relay's stop fix both count it. A Responses upstream
  has no stop reason to get wrong.
- ``finish_supplied``: a translated stream that stopped (Chat's finish_reason, Anthropic's message_delta) but never
  sent its terminal event ([DONE], message_stop) is finished by lip. Relayed, it is not repaired.
"""

from __future__ import annotations

import contextlib

import anthropic
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import CLIENTS, PREFIX, SAME, STOP, Ask, Rig, Tool, ask, matrix_params, user
from tests.integration.operate import call

pytestmark = pytest.mark.asyncio(loop_scope="module")

CALL = FakeToolCall("get_weather", '{"city": "Rome"}', "call_r1")
PLAIN_STOP = {
    "chat": Turn(text="", tool_calls=[CALL], chat_finish_override="stop"),
    "responses": Turn(text="", tool_calls=[CALL], finish="end_turn"),
    "anthropic": Turn(text="", tool_calls=[CALL], finish="end_turn"),
}


async def repairs(rig: Rig, kind: str, backend: str) -> float:
    text = (await call(rig.lip.url + "/metrics", method="GET")).body.decode()
    for metric in text_string_to_metric_families(text):
        for sample in metric.samples:
            if sample.name == "lip_stream_repairs_total" and sample.labels == {"kind": kind, "backend": backend}:
                return float(sample.value)
    return 0.0


@matrix_params()
async def test_a_plain_stop_after_tool_calls_is_counted(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    before = await repairs(matrix, "stop_rewritten", PREFIX[backend])
    matrix.fake.queue(PLAIN_STOP[backend])
    seen = await ask(matrix, client, backend, stream, Ask([user("weather in Rome?")], tools=[Tool("get_weather")]))
    assert seen.stop == STOP[client]["tool_use"]
    counted = await repairs(matrix, "stop_rewritten", PREFIX[backend]) - before
    assert counted == (0 if backend == "responses" else 1)


@pytest.mark.parametrize(("client", "backend"), [("chat", "chat"), ("messages", "anthropic")])
async def test_a_plain_stop_after_tool_calls_in_a_paced_relay_is_fixed(matrix: Rig, client: str, backend: str) -> None:
    """Chunks that arrive one by one reach the relay's stop fix from the upstream connection's own callback
    (lip.backends.splice), not all at once with the first chunk."""
    before = await repairs(matrix, "stop_rewritten", PREFIX[backend])
    paced = PLAIN_STOP[backend]
    matrix.fake.queue(
        Turn(
            text="checking",
            chunks=4,
            tool_calls=paced.tool_calls,
            chat_finish_override=paced.chat_finish_override,
            finish=paced.finish,
            delay_between_chunks=0.02,
        )
    )
    seen = await ask(matrix, client, backend, True, Ask([user("weather in Rome?")], tools=[Tool("get_weather")]))
    assert seen.stop == STOP[client]["tool_use"]
    assert await repairs(matrix, "stop_rewritten", PREFIX[backend]) - before == 1


TRANSLATED = [(c, b, s) for c in CLIENTS for b in ("chat", "anthropic") if SAME[b] != c for s in (False, True)]


@pytest.mark.parametrize(("client", "backend", "stream"), TRANSLATED)
async def test_no_stop_reason_after_tool_calls_is_counted(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    """Normalised only when translated (see test_conformance_stop_reasons); Responses always has a status."""
    before = await repairs(matrix, "stop_rewritten", PREFIX[backend])
    matrix.fake.queue(Turn(text="", tool_calls=[CALL], omit_finish_reason=True))
    seen = await ask(matrix, client, backend, stream, Ask([user("weather in Rome?")], tools=[Tool("get_weather")]))
    assert seen.stop == STOP[client]["tool_use"]
    assert await repairs(matrix, "stop_rewritten", PREFIX[backend]) - before == 1


@pytest.mark.parametrize("backend", ["chat", "anthropic"])
@pytest.mark.parametrize("client", ["chat", "responses", "messages"])
async def test_a_stream_without_its_terminal_event_is_finished_and_counted(
    matrix: Rig, client: str, backend: str
) -> None:
    before = await repairs(matrix, "finish_supplied", PREFIX[backend])
    matrix.fake.queue(Turn(text="all there", omit_terminal=True))
    if SAME[backend] == client:  # relayed untouched (an Anthropic one then ends in an error event): no repair
        with contextlib.suppress(openai.APIError, anthropic.APIError):
            await ask(matrix, client, backend, True, Ask([user("hi")]))
        assert await repairs(matrix, "finish_supplied", PREFIX[backend]) == before
        return
    seen = await ask(matrix, client, backend, True, Ask([user("hi")]))
    assert seen.text == "all there"
    assert seen.stop == STOP[client]["end_turn"]
    assert await repairs(matrix, "finish_supplied", PREFIX[backend]) - before == 1
