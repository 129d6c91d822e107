"""Usage from every backend kind reaches every client in its own fields: input (all prompt tokens; Anthropic's
``input_tokens`` excludes cache reads and writes), output, cached, cache-write and reasoning tokens, stream and
non-stream. A Messages client's stream repeats the cumulative counts in ``message_delta.usage``, as the Anthropic
API does: an upstream that reports input only at the end (Chat, Responses) still gets the SDK's final message whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeUsage, Turn
from tests.integration.matrix import Ask, Rig, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

USAGE = FakeUsage(input_tokens=100, output_tokens=20, cached=30, reasoning=8, cache_creation=5)
# What a Messages client reads: input_tokens without cache reads and writes.
ANTHROPIC_USAGE = {"input_tokens": 65, "cache_read_input_tokens": 30, "cache_creation_input_tokens": 5}


def _writes(client: str, raw: Any) -> int:
    """The cache-write count in the client's own field."""
    if client == "chat":
        return int(raw.usage.prompt_tokens_details.cache_write_tokens or 0)
    if client == "responses":
        return int(raw.usage.input_tokens_details.cache_write_tokens)
    return int(raw.usage.cache_creation_input_tokens or 0)


@matrix_params()
async def test_usage(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="counted", reasoning="hmm", usage=USAGE))
    seen = await ask(matrix, client, backend, stream, Ask([user("count my tokens")]))
    assert seen.usage == {"input": 100, "output": 20, "cached": 30, "reasoning": 8}
    assert _writes(client, seen.raw) == 5
    if client == "messages":
        u = seen.raw.usage
        assert {k: getattr(u, k) for k in ANTHROPIC_USAGE} == ANTHROPIC_USAGE
    else:
        assert seen.raw.usage.total_tokens == 120


@pytest.mark.parametrize("backend", ["chat", "responses", "anthropic"])
async def test_messages_stream_repeats_the_cumulative_counts_in_message_delta(matrix: Rig, backend: str) -> None:
    matrix.fake.queue(Turn(text="counted", reasoning="hmm", usage=USAGE))
    seen = await ask(matrix, "messages", backend, True, Ask([user("count my tokens")]))
    delta = [e for e in seen.events if e.type == "message_delta"][-1].usage
    assert {k: getattr(delta, k) for k in ANTHROPIC_USAGE} == ANTHROPIC_USAGE
    assert delta.output_tokens == 20
    assert delta.output_tokens_details is not None and delta.output_tokens_details.thinking_tokens == 8
