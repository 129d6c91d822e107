"""After a thousand and more mixed requests, with disconnects and upstream faults, open file descriptors, asyncio
tasks and upstream connections are back at their baseline."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Awaitable, Callable

import aiohttp

from lip.runtime import SESSION
from tests.fakes import DisconnectAfter, Fail, FakeProvider, Stall, StallMidStream, Turn
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
    ok, slow, stalled, broken = (FakeProvider() for _ in range(4))
    async with ok, slow, stalled, broken:
        slow.script.extend(Turn(text="x " * 50, chunks=50, delay_between_chunks=0.02) for _ in range(1000))
        stalled.script.extend(Stall(0.3) for _ in range(1000))
        faults = [DisconnectAfter(1), Fail(500), StallMidStream(1, 0.5), Fail(429, headers={"Retry-After": "0"})]
        broken.script.extend(itertools.islice(itertools.cycle(faults), 1000))
        rows = [
            backend_row(name, fake.url + "/v1", timeouts=TIMEOUTS, models=MODELS, circuit_failures=100000)
            for name, fake in (("p", ok), ("slow", slow), ("stalled", stalled), ("broken", broken))
        ]
        rows.append({"id": "stub", "kind": "local-stub", "config": {"backend_prefix": "stub"}})
        async with run_lip({"plugins": {"backends": rows}}) as lip:
            connector = lip.app[SESSION].connector
            assert connector is not None
            await run_mix(lip, 200)  # warm up: pools and caches at their working size
            baseline = await settle(connector, None)
            await run_mix(lip, 1400)
            after = await settle(connector, baseline)
            acquired = len(connector._acquired)  # upstream connections in use
            in_flight = [fake.in_flight for fake in (ok, slow, stalled, broken)]
    assert after[0] <= baseline[0] + 2, (baseline, after)  # fds
    assert after[1] <= baseline[1], (baseline, after)  # tasks
    assert acquired == 0
    assert in_flight == [0, 0, 0, 0]
