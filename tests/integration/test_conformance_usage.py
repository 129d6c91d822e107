"""Usage from every backend kind reaches every client in its own fields: input (all prompt tokens; Anthropic's
``input_tokens`` excludes cache reads and writes), output, cached and reasoning tokens, stream and non-stream."""

from __future__ import annotations

import pytest

from tests.fakes import FakeUsage, Turn
from tests.integration.matrix import Ask, Rig, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

USAGE = FakeUsage(input_tokens=100, output_tokens=20, cached=30, reasoning=8, cache_creation=5)


@matrix_params()
async def test_usage(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="counted", reasoning="hmm", usage=USAGE))
    seen = await ask(matrix, client, backend, stream, Ask([user("count my tokens")]))
    # An Anthropic upstream here reports no reasoning breakdown.
    reasoning = 0 if backend == "anthropic" else 8
    assert seen.usage == {"input": 100, "output": 20, "cached": 30, "reasoning": reasoning}
    if client == "messages":
        u = seen.raw.usage
        writes = 0 if backend == "chat" else 5  # Chat usage has no cache-write count
        assert (u.input_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens) == (
            100 - 30 - writes,
            30,
            writes,
        )
    if client == "responses":
        assert seen.raw.usage.total_tokens == 120
    if client == "chat":
        assert seen.raw.usage.total_tokens == 120
