"""Races (``a:m!b:m``): every leg starts (each after its handicap), the first to stream output is served, and the
others are cancelled at once — the providers see their connections close. Errors and keep-alive-like openings
(a role-only chunk, then silence) never win."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fakes import Fail, FakeProvider, Stall, StallMidStream, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
PATIENT = {"connect_s": 2, "first_byte_s": 30, "idle_s": 30, "total_s": 60}
GONE_WITHIN = 5.0  # far less than the 30 s the losers would still take
SILENT = StallMidStream(1, 30)  # opens with a role-only chunk (no output), then says nothing for 30 s


def row(name: str, url: str) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    return backend_row(name, url + "/v1", models=models, timeouts=PATIENT)


def config(*fakes: tuple[str, FakeProvider], **routing: Any) -> dict[str, Any]:
    return {"routing": routing, "plugins": {"backends": [row(name, fake.url) for name, fake in fakes]}}


def calls(fake: FakeProvider) -> int:
    return len(fake.requests_to("/chat/completions"))


async def chat(lip: LipServer, model: str) -> tuple[str, str | None]:
    """Streamed through the OpenAI SDK (a same-protocol relay): the text and the x-lip-backend header."""
    raw = await lip.openai().chat.completions.with_raw_response.create(model=model, messages=MESSAGES, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    return text, raw.headers.get("x-lip-backend")


async def messages(lip: LipServer, model: str) -> tuple[str, str | None]:
    """Streamed through the Anthropic SDK (translated to the Chat backends): the text and x-lip-backend."""
    client = lip.anthropic()
    async with client.messages.stream(model=model, max_tokens=50, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        text = "".join([piece async for piece in stream.text_stream])
        backend = stream.response.headers.get("x-lip-backend")
    return text, backend


@pytest.fixture
async def trio(fake_provider_factory: FakeProviderFactory) -> tuple[FakeProvider, FakeProvider, FakeProvider]:
    return await fake_provider_factory(), await fake_provider_factory(), await fake_provider_factory()


@pytest.mark.parametrize("ask", [chat, messages], ids=["relayed", "translated"])
async def test_the_first_leg_with_output_wins_and_the_losers_connections_close(
    trio: tuple[FakeProvider, FakeProvider, FakeProvider], ask: Any
) -> None:
    a, b, c = trio
    a.queue(SILENT)  # opened first, but nothing to show: it must not win
    b.queue(Stall(0.5, Turn(text="bravo bravo")))
    c.queue(Stall(30))  # never answers
    async with run_lip(config(("a", a), ("b", b), ("c", c))) as lip:
        assert await ask(lip, "a:m!b:m!c:m") == ("bravo bravo", "b:m")
        for loser in (a, c):
            await asyncio.wait_for(loser.client_gone.wait(), GONE_WITHIN)
            assert loser.disconnects == 1
        assert b.disconnects == 0
    assert (calls(a), calls(b), calls(c)) == (1, 1, 1)


async def test_errors_never_win(trio: tuple[FakeProvider, FakeProvider, FakeProvider]) -> None:
    a, b, _ = trio
    a.queue(Fail(503))
    b.queue(Stall(0.5, Turn(text="bravo bravo")))
    async with run_lip(config(("a", a), ("b", b))) as lip:
        assert await chat(lip, "a:m!b:m") == ("bravo bravo", "b:m")


async def test_a_race_whose_legs_all_fail_fails_over_to_the_next_arm(
    trio: tuple[FakeProvider, FakeProvider, FakeProvider],
) -> None:
    a, b, c = trio
    a.queue(Fail(503))
    b.queue(Fail(500))
    c.queue(Turn(text="charlie"))
    async with run_lip(config(("a", a), ("b", b), ("c", c))) as lip:
        assert await chat(lip, "a:m!b:m|c:m") == ("charlie", "c:m")


async def test_the_handicapped_leg_starts_later(trio: tuple[FakeProvider, FakeProvider, FakeProvider]) -> None:
    a, b, _ = trio
    a.queue(Turn(text="alpha"), Turn(text="alpha"))
    b.queue(Turn(text="bravo"), Turn(text="bravo"))
    async with run_lip(config(("a", a), ("b", b))) as lip:
        # the unhandicapped leg answers long before the other's 30 s head start ends: the other never starts
        assert await chat(lip, "[handicap=30]a:m!b:m") == ("bravo", "b:m")
        assert (calls(a), calls(b)) == (0, 1)
        assert await chat(lip, "a:m![handicap=30]b:m") == ("alpha", "a:m")
        assert (calls(a), calls(b)) == (1, 1)

    async with run_lip(config(("a", a), ("b", b))) as lip:
        # handicaps count from the smallest among the legs: two legs with the same one start at once (a client
        # that gives up after 10 s would see an error if lip waited the 600 s)
        client = lip.openai(timeout=10)
        stream = await client.chat.completions.create(
            model="[handicap=600]a:m![handicap=600]b:m", messages=MESSAGES, stream=True
        )
        assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
