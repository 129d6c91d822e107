"""First output (what wins a race and meets a [ttft_timeout]): canonical events and relayed bytes in, the answer read
up to its first output out; and the race itself over plain coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from lip.backends.base import EventStream, RelayStream, Target
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallStart,
)
from lip.canonical.request import Request
from lip.errors import LipError, UpstreamStatusError
from lip.routing.race import is_output, run_race, until_output


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
ROLE = sse({**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
TEXT = sse({**CHUNK, "choices": [{"index": 0, "delta": {"content": "hi"}}]})
DONE = b"data: [DONE]\n\n"


async def chunks(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


def chat_request() -> Request:
    return Request(model="m", messages=[], stream=True, protocol="openai_chat", raw={"model": "m"})


class Closed:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


@pytest.mark.parametrize(
    ("event", "output"),
    [
        (TextDelta("hi"), True),
        (TextDelta(" \n"), False),
        (ReasoningDelta("thinking"), True),
        (ToolCallStart(0, "call_1", "f"), True),
        (MessageStart("id", "m"), False),
        (MessageEnd(StopReason.END_TURN), False),
    ],
)
def test_what_counts_as_output(event: Event, output: bool) -> None:
    assert is_output(event) is output


async def test_events_are_read_up_to_the_first_output() -> None:
    rest = chunks([TextDelta(" ")], [TextDelta("hi")], [TextDelta(" there")])
    opened, has = await until_output(EventStream([MessageStart("id", "m")], rest), chat_request())
    assert has and isinstance(opened, EventStream)
    assert opened.first == [MessageStart("id", "m"), TextDelta(" "), TextDelta("hi")]
    assert [batch async for batch in opened.rest] == [[TextDelta(" there")]]  # the rest is still to come


async def test_relayed_bytes_are_read_through_the_protocol_s_decoder() -> None:
    opened, has = await until_output(RelayStream(ROLE, chunks(TEXT, DONE)), chat_request())
    assert has and isinstance(opened, RelayStream)
    assert opened.first == ROLE + TEXT  # untouched bytes, all of them
    assert [c async for c in opened.rest] == [DONE]


async def test_an_answer_without_output_is_read_to_its_end() -> None:
    opened, has = await until_output(RelayStream(ROLE, chunks(DONE)), chat_request())
    assert not has and opened.first == ROLE + DONE  # type: ignore[union-attr]


async def test_an_error_before_output_is_raised_and_the_answer_closed() -> None:
    closed = Closed()
    error = UpstreamStatusError("overloaded", upstream_status=529)
    with pytest.raises(UpstreamStatusError):
        await until_output(EventStream([MessageStart("id", "m")], chunks([StreamError(error)]), closed), chat_request())
    assert closed.count == 1


def leg(name: str, handicap: float = 0.0) -> Target:
    return Target(backend=None, model=name, handicap_s=handicap, label=name)  # type: ignore[arg-type]


async def test_the_first_with_output_wins_and_the_rest_are_cancelled_or_closed() -> None:
    cancelled: list[str] = []
    closed: list[str] = []

    async def attempt(target: Target) -> tuple[str, bool]:
        try:
            if target.model == "empty":
                return "empty", False  # ended without output: kept only as a last resort
            if target.model == "fail":
                raise LipError("boom")
            if target.model == "slow":
                await asyncio.sleep(30)
            return target.model, True
        except asyncio.CancelledError:
            cancelled.append(target.model)
            raise

    async def close(result: str) -> None:
        closed.append(result)

    winner = await run_race([leg("empty"), leg("fail"), leg("slow"), leg("fast")], attempt, close)
    assert winner == "fast" and cancelled == ["slow"] and closed == ["empty"]


async def test_handicaps_count_from_the_smallest_and_all_failures_raise_the_last() -> None:
    started: list[str] = []

    async def attempt(target: Target) -> tuple[str, bool]:
        started.append(target.model)
        raise LipError(target.model)

    async def close(result: str) -> None:
        raise AssertionError(result)

    with pytest.raises(LipError) as caught:
        await run_race([leg("b", 600.0), leg("a", 600.0)], attempt, close)
    assert sorted(started) == ["a", "b"] and str(caught.value) in ("a", "b")


async def test_a_race_cancelled_from_outside_closes_what_opened() -> None:
    closed: list[str] = []

    async def attempt(target: Target) -> tuple[str, bool]:
        if target.model == "silent":
            await asyncio.sleep(30)
        return target.model, False

    async def close(result: str) -> None:
        closed.append(result)

    race = asyncio.create_task(run_race([leg("empty"), leg("silent")], attempt, close))
    await asyncio.sleep(0.05)
    race.cancel()
    with pytest.raises(asyncio.CancelledError):
        await race
    assert closed == ["empty"]
