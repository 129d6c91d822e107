"""The upstream watchdog: one timer per response that ends a wait for the first chunk, then an idle gap, then the
whole exchange, whichever runs out first; the timer set at the start is never late for a later phase."""

from __future__ import annotations

import asyncio
from typing import Any

from lip.backends.upstream import INFINITY, Watchdog


class Response:
    """Stands in for aiohttp's ClientResponse: the watchdog only closes it."""

    def __init__(self) -> None:
        self.closed_at: float | None = None

    def close(self) -> None:
        self.closed_at = asyncio.get_running_loop().time()


def watch(idle: float, total: float, first_byte: float) -> tuple[Watchdog, Response, float]:
    now = asyncio.get_running_loop().time()
    response = Response()
    dog = Watchdog(response, idle, now + total if total else INFINITY, now + first_byte if first_byte else INFINITY)  # type: ignore[arg-type]
    return dog, response, now


async def ended(response: Response, within: float) -> Any:
    async with asyncio.timeout(within):
        while response.closed_at is None:
            await asyncio.sleep(0.01)
    return response.closed_at


async def test_no_first_chunk_by_the_first_byte_deadline() -> None:
    dog, response, started = watch(idle=5, total=10, first_byte=0.1)
    closed = await ended(response, 2)
    assert dog.fired == "first_byte" and 0.09 <= closed - started < 1


async def test_an_idle_gap_after_the_first_chunk_is_caught_on_time_even_with_a_far_first_byte_deadline() -> None:
    dog, response, started = watch(idle=0.2, total=30, first_byte=20)
    await asyncio.sleep(0.1)
    dog.touch()
    closed = await ended(response, 2)
    assert dog.fired == "idle" and 0.29 <= closed - started < 1


async def test_chunks_that_keep_coming_run_into_the_total_deadline() -> None:
    dog, response, started = watch(idle=0.15, total=0.5, first_byte=0.5)
    dog.touch()
    while response.closed_at is None:
        dog.touch()
        await asyncio.sleep(0.03)
    assert dog.fired == "total" and 0.49 <= response.closed_at - started < 1.5


async def test_a_first_chunk_wait_without_deadlines_still_leaves_idle_enforced() -> None:
    dog, response, started = watch(idle=0.1, total=0, first_byte=0)
    await asyncio.sleep(0.25)  # the first chunk is slow; nothing may fire before it
    assert response.closed_at is None
    dog.touch()
    closed = await ended(response, 2)
    assert dog.fired == "idle" and closed - started >= 0.34


async def test_cancel_stops_the_timer() -> None:
    dog, response, _ = watch(idle=0.05, total=0, first_byte=0.05)
    dog.cancel()
    await asyncio.sleep(0.15)
    assert response.closed_at is None and dog.fired is None
