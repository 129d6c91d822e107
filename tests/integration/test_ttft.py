"""Time to first output: a leaf's ``[ttft_timeout=N]`` fails over when it has shown nothing within N s; the
selector's ``{ttft_timeout=N}`` is one budget across every attempt, and when it runs out the request ends (504)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from tests.fakes import FakeProvider, Stall, StallMidStream, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
PATIENT = {"connect_s": 2, "first_byte_s": 30, "idle_s": 30, "total_s": 60}
GONE_WITHIN = 5.0


def config(*fakes: tuple[str, FakeProvider]) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    rows = [backend_row(name, fake.url + "/v1", models=models, timeouts=PATIENT) for name, fake in fakes]
    return {"plugins": {"backends": rows}}


def calls(fake: FakeProvider) -> int:
    return len(fake.requests_to("/chat/completions"))


async def ask(lip: LipServer, model: str, stream: bool) -> tuple[str, str | None]:
    raw = await lip.openai().chat.completions.with_raw_response.create(model=model, messages=MESSAGES, stream=stream)
    if stream:
        text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    else:
        text = raw.parse().choices[0].message.content or ""
    return text, raw.headers.get("x-lip-backend")


@pytest.fixture
async def trio(fake_provider_factory: FakeProviderFactory) -> tuple[FakeProvider, FakeProvider, FakeProvider]:
    return await fake_provider_factory(), await fake_provider_factory(), await fake_provider_factory()


@pytest.mark.parametrize(
    ("stream", "slow"),
    [(True, StallMidStream(1, 30)), (True, Stall(30)), (False, Stall(30))],
    ids=["stream-opened-without-output", "stream-nothing", "json"],
)
async def test_a_leaf_without_output_in_time_fails_over(
    trio: tuple[FakeProvider, FakeProvider, FakeProvider], stream: bool, slow: Any
) -> None:
    a, b, _ = trio
    a.queue(slow)
    b.queue(Turn(text="bravo"))
    async with run_lip(config(("a", a), ("b", b))) as lip:
        assert await ask(lip, "[ttft_timeout=1]a:m|b:m", stream) == ("bravo", "b:m")
        await asyncio.wait_for(a.client_gone.wait(), GONE_WITHIN)  # the slow leaf's connection was closed


async def test_output_in_time_is_served(trio: tuple[FakeProvider, FakeProvider, FakeProvider]) -> None:
    a, b, _ = trio
    a.queue(Turn(text="alpha " * 5, chunks=5))
    async with run_lip(config(("a", a), ("b", b))) as lip:
        assert await ask(lip, "[ttft_timeout=30]a:m|b:m", True) == ("alpha " * 5, "a:m")
    assert calls(b) == 0


async def test_the_global_budget_spans_every_attempt_and_ends_the_request(
    trio: tuple[FakeProvider, FakeProvider, FakeProvider],
) -> None:
    a, b, c = trio
    a.queue(StallMidStream(1, 30))
    b.queue(Stall(30))
    async with run_lip(config(("a", a), ("b", b), ("c", c))) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await ask(lip, "{ttft_timeout=2}[ttft_timeout=1]a:m|b:m|c:m", True)
        await asyncio.wait_for(b.client_gone.wait(), GONE_WITHIN)
    # a had its own second, b the rest of the budget; c was never tried
    assert caught.value.status_code == 504
    assert "ttft_timeout of 2 s" in caught.value.message
    assert (calls(a), calls(b), calls(c)) == (1, 1, 0)
