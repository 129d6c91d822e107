"""After a few thousand mixed requests, with disconnects, upstream faults and hostile answers (huge lines, bombs, bad
usage, orphan deltas) and clients that stall their bodies, open file descriptors, asyncio tasks, upstream connections
and memory are back at their baseline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable

import aiohttp

from lip.server import SESSION
from tests.fakes import (
    Action,
    BadUsage,
    Bomb,
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeProvider,
    HugeLine,
    MalformedSSE,
    OrphanDeltas,
    Stall,
    StallMidStream,
    Turn,
)
from tests.harness import LipServer, backend_row, run_lip

TIMEOUTS = {"first_byte_s": 0.2, "idle_s": 0.2, "total_s": 5}
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
BODY = {"model": "p:m", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
Step = Callable[[aiohttp.ClientSession, str], Awaitable[None]]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def pooled(connector: aiohttp.BaseConnector) -> int:
    """Idle keep-alive connections to the fakes: each holds two fds (both ends are in this process) and a task."""
    return sum(len(idle) for idle in connector._conns.values())


def usage(connector: aiohttp.BaseConnector) -> tuple[int, int]:
    """(fds, tasks) not explained by the idle upstream pool, whose size varies with the traffic."""
    idle = pooled(connector)
    return open_fds() - 2 * idle, len(asyncio.all_tasks()) - idle


async def post(session: aiohttp.ClientSession, url: str, **body: object) -> None:
    async with session.post(url + "/v1/chat/completions", json={**BODY, **body}) as response:
        await response.read()


async def leave_mid_stream(session: aiohttp.ClientSession, url: str) -> None:
    response = await session.post(url + "/v1/chat/completions", json={**BODY, "model": "slow:m", "stream": True})
    await response.content.readline()
    response.close()  # the client disconnects while the stream is running


async def stall_the_body(session: aiohttp.ClientSession, url: str) -> None:
    """Half a body, then nothing: lip answers 408 after server.body_timeout_s and closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    try:
        assert (await asyncio.wait_for(reader.read(), 5)).startswith(b"HTTP/1.1 408")
    finally:
        writer.close()


def rss() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) * 1024


async def give_up_waiting(session: aiohttp.ClientSession, url: str) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.05):
            await post(session, url, model="stalled:m")


STEPS: list[Step] = [
    lambda s, u: post(s, u),
    lambda s, u: post(s, u, stream=True),
    lambda s, u: post(s, u, model="stub:echo", stream=True),
    lambda s, u: post(s, u, model="nobody:m"),
    leave_mid_stream,
    give_up_waiting,
    lambda s, u: post(s, u, model="broken:m", stream=True),
    lambda s, u: post(s, u, model="broken:m"),
    lambda s, u: post(s, u, model="hostile:m", stream=True),
    lambda s, u: post(s, u, model="hostile:m", stream=True),
    lambda s, u: post(s, u, model="hostile:m", stream=True),
    lambda s, u: post(s, u, model="spoilt:m"),
    stall_the_body,
]
HOSTILE: list[Action] = [  # streamed, translated (an Anthropic upstream to a Chat client)
    MalformedSSE(1),
    ErrorMidStream(2),
    HugeLine(300_000),  # past the hostile backend's max_event_bytes
    Bomb(300_000),
    BadUsage(-5),
    OrphanDeltas(3),
    OrphanDeltas(1000, delay=0.01, finish=False),  # only orphan deltas: first_byte_s
    DisconnectAfter(2),
]
SPOILT: list[Action] = [  # JSON answers, relayed
    BadUsage([1]),
    BadUsage(1e30),
    MalformedSSE(1),  # a truncated body
    Bomb(200_000, "deflate"),
    ErrorMidStream(2),
]


async def run_mix(lip: LipServer, count: int) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session:
        steps = itertools.islice(itertools.cycle(STEPS), count)
        semaphore = asyncio.Semaphore(20)

        async def one(step: Step) -> None:
            async with semaphore:
                await step(session, lip.url)

        await asyncio.gather(*(one(step) for step in steps))


async def settle(connector: aiohttp.BaseConnector, baseline: tuple[int, int] | None) -> tuple[int, int]:
    """(fds, tasks) once they are back at ``baseline`` (or after 5 s); once they are steady without one."""
    last = usage(connector)
    for _ in range(100):
        await asyncio.sleep(0.05)
        now = usage(connector)
        if (baseline is not None and now <= baseline) or (baseline is None and now == last):
            break
        last = now
    return usage(connector)


async def test_no_fd_task_or_connection_leaks() -> None:
    ok, slow, stalled, broken, hostile, spoilt = (FakeProvider() for _ in range(6))
    async with ok, slow, stalled, broken, hostile, spoilt:
        slow.script.extend(Turn(text="x " * 50, chunks=50, delay_between_chunks=0.02) for _ in range(1000))
        stalled.script.extend(Stall(0.3) for _ in range(1000))
        faults: list[Action] = [
            DisconnectAfter(1),
            Fail(500),
            StallMidStream(1, 0.5),
            Fail(429, headers={"Retry-After": "0"}),
        ]
        broken.script.extend(itertools.islice(itertools.cycle(faults), 1000))
        hostile.script.extend(itertools.islice(itertools.cycle(HOSTILE), 3000))
        spoilt.script.extend(itertools.islice(itertools.cycle(SPOILT), 1000))
        fakes = (("p", ok), ("slow", slow), ("stalled", stalled), ("broken", broken), ("spoilt", spoilt))
        rows = [
            backend_row(name, fake.url + "/v1", timeouts=TIMEOUTS, models=MODELS, circuit_failures=100000)
            for name, fake in fakes
        ]
        rows.append(
            backend_row(
                "hostile",
                hostile.url,
                kind="custom-anthropic-compatible",
                timeouts=TIMEOUTS,
                models=MODELS,
                circuit_failures=100000,
                max_event_bytes=100_000,
            )
        )
        rows.append({"id": "stub", "kind": "local-stub", "config": {"backend_prefix": "stub"}})
        config = {"server": {"body_timeout_s": 0.3}, "plugins": {"backends": rows}}
        async with run_lip(config) as lip:
            connector = lip.app[SESSION].connector
            assert connector is not None
            await run_mix(lip, 400)  # warm up: pools and caches at their working size
            baseline = await settle(connector, None)
            memory = rss()
            await run_mix(lip, 2600)
            after = await settle(connector, baseline)
            grown = rss() - memory
            acquired = len(connector._acquired)  # upstream connections in use
            in_flight = [fake.in_flight for fake in (ok, slow, stalled, broken, hostile, spoilt)]
    assert after[0] <= baseline[0] + 2, (baseline, after)  # fds
    assert after[1] <= baseline[1], (baseline, after)  # tasks
    assert acquired == 0
    assert in_flight == [0] * 6
    assert len(hostile.received) > 600 and len(spoilt.received) > 200  # the hostile answers were all asked for
    assert grown < 64 * 2**20, grown  # this process holds the fakes too: a bound, not a measurement of lip
