"""Races (``a:m!b:m``) and first output: which opened answer has produced something a client can see.

An attempt opens (``Backend.open`` returns) at the upstream's first item, which may be a role-only chunk, a
``message_start`` or a ping. A race leg wins, and a ``[ttft_timeout]`` is met, only at the first **output**: text
or reasoning that is not only whitespace, or a tool call. ``until_output`` reads an opened answer that far and
hands back an equal answer whose first part holds everything read; a relayed byte stream is read through its
protocol's own decoder (a copy: the bytes are relayed untouched).

``run_race`` starts every leg (each after its handicap, counted from the smallest one among the legs left), serves
the first with output, and cancels the others at once: a leg still waiting for its upstream is cancelled (its
connection closes), a leg that opened is closed. Errors never win; a leg that ends without output is served only
when no leg produces any.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from lip.backends.base import EventStream, Opened, RelayBody, RelayStream, Target
from lip.canonical.events import Event, ReasoningDelta, StreamError, TextDelta, ToolCallDelta, ToolCallStart
from lip.canonical.request import Request
from lip.errors import LipError
from lip.protocols.registry import codec_of
from lip.protocols.sse import SSEDecoder

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_output(event: Event) -> bool:
    """Whether ``event`` is something a client sees as the answer (keep-alives, starts and ends are not)."""
    kind = type(event)
    if kind is TextDelta or kind is ReasoningDelta:
        return bool(event.text.strip())  # type: ignore[union-attr]
    return kind is ToolCallStart or kind is ToolCallDelta


def _output(events: Iterable[Event]) -> bool:
    """Whether ``events`` hold output; an upstream error among them before any output is raised (errors never
    win)."""
    for event in events:
        if type(event) is StreamError:
            raise event.error
        if is_output(event):
            return True
    return False


async def _no_batches() -> AsyncIterator[Sequence[Event]]:
    return
    yield


async def _no_bytes() -> AsyncIterator[bytes]:
    return
    yield


async def until_output(opened: Opened, request: Request) -> tuple[Opened, bool]:
    """``opened`` read up to its first output (or its end); and whether it has output. Closes it on failure."""
    if isinstance(opened, RelayBody):
        return opened, True  # a whole body: complete, nothing more to wait for
    try:
        if isinstance(opened, EventStream):
            return await _events(opened)
        return await _relayed(opened, request)
    except BaseException:
        await opened.close()
        raise


async def close(opened: Opened) -> None:
    """Close an answer that will not be served (a whole body has nothing to close)."""
    if not isinstance(opened, RelayBody):
        await opened.close()


async def _events(opened: EventStream) -> tuple[Opened, bool]:
    if _output(opened.first):
        return opened, True
    read = list(opened.first)
    async for batch in opened.rest:
        read.extend(batch)
        if _output(batch):
            return EventStream(read, opened.rest, opened.close), True
    return EventStream(read, _no_batches(), opened.close), False


async def _relayed(opened: RelayStream, request: Request) -> tuple[Opened, bool]:
    codec = codec_of(request.protocol)
    if codec is None:  # nothing to read it with: its first bytes count as output
        return opened, True
    sse, decoder = SSEDecoder(), codec.stream_decoder(request)

    def output(chunk: bytes) -> bool:
        return _output(e for event in sse.feed(chunk) for e in decoder.feed(event))

    read = [opened.first]
    if output(opened.first):
        return opened, True
    async for chunk in opened.rest:
        read.append(chunk)
        if output(chunk):
            return RelayStream(b"".join(read), opened.rest, opened.close, opened.content_type, opened.redact), True
    return RelayStream(b"".join(read), _no_bytes(), opened.close, opened.content_type, opened.redact), False


async def run_race(
    legs: Sequence[Target],
    attempt: Callable[[Target], Awaitable[tuple[T, bool]]],
    close: Callable[[T], Awaitable[None]],
) -> T:
    """The first leg whose ``attempt`` has output (it returns ``(result, has_output)``); the others cancelled, or
    closed with ``close`` when they had opened. The last leg's error when every leg failed."""
    start = min(t.handicap_s for t in legs)

    async def leg(target: Target) -> tuple[T, bool]:
        if target.handicap_s > start:
            await asyncio.sleep(target.handicap_s - start)
        return await attempt(target)

    tasks = [asyncio.create_task(leg(t), name=f"race leg {t.leaf}") for t in legs]
    winner: T | None = None
    ended: list[T] = []  # legs that finished without output, in the order they did
    error: LipError | None = None
    pending = set(tasks)
    try:
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=tasks.index):
                failed = task.exception()
                if isinstance(failed, LipError):
                    error = failed
                elif failed is not None:
                    raise failed
                elif winner is None and task.result()[1]:
                    winner = task.result()[0]
                else:
                    ended.append(task.result()[0])
    except BaseException:  # the request itself was cancelled (its client left): nothing opened may stay open
        for result in [*ended, *([winner] if winner is not None else [])]:
            await close(result)
        raise
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.info(
                "race: %d leg(s) cancelled: %s", len(pending), ", ".join(legs[tasks.index(t)].leaf for t in pending)
            )
    chosen = winner if winner is not None else (ended[0] if ended else None)
    for other in ended:
        if other is not chosen:
            await close(other)
    if chosen is None:
        assert error is not None
        raise error
    return chosen
