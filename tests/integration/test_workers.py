"""`lip serve --workers N`: N processes share one port; signals reach every worker; shutdown is graceful."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys

from tests.integration.operate import CHAT, call, lip_process

STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}


def worker_pids(log: str, text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"\[(\d+)\] [\w.]+: " + re.escape(text), log)}


async def test_two_workers_serve_one_port_and_stop_together() -> None:
    async with lip_process(STUB, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        replies = await asyncio.gather(*(call(lip.url + "/v1/chat/completions", CHAT) for _ in range(40)))
        await lip.wait_for_log("path=/v1/chat/completions", count=40)
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("configuration reloaded", count=2)
        lip.signal(signal.SIGTERM)
        code = await lip.wait()
    assert code == 0
    assert all(r.status == 200 for r in replies)
    serving = worker_pids(lip.log, "lip serving on")
    assert len(serving) == 2
    assert worker_pids(lip.log, "request_id=") == serving  # both took requests
    assert worker_pids(lip.log, "lip stopped") == serving


async def test_a_worker_that_dies_is_replaced() -> None:
    async with lip_process(STUB, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        victim = sorted(worker_pids(lip.log, "lip serving on"))[0]
        os.kill(int(victim), signal.SIGKILL)
        await lip.wait_for_log("starting a new one")
        await lip.wait_for_log("lip serving on", count=3)
        reply = await call(lip.url + "/v1/chat/completions", CHAT)
        lip.signal(signal.SIGTERM)
        code = await lip.wait()
    assert reply.status == 200
    assert code == 0


async def test_workers_that_cannot_start_stop_the_server() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # no SO_REUSEPORT: the workers cannot share it
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "lip", "serve", "--workers", "2", "--port", str(port)]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert b"keep exiting" in err and b"cannot serve on 127.0.0.1" in err


async def test_workers_auto_starts_one_per_usable_core() -> None:
    cores = len(os.sched_getaffinity(0))
    async with lip_process(STUB, args=["--workers", "auto"]) as lip:
        await lip.wait_for_log("lip serving on", count=cores)
        reply = await call(lip.url + "/v1/chat/completions", CHAT)
        lip.signal(signal.SIGTERM)
        code = await lip.wait()
    assert reply.status == 200
    assert code == 0
    assert len(worker_pids(lip.log, "lip serving on")) == cores
    if cores > 1:
        assert f"lip started {cores} workers" in lip.log
