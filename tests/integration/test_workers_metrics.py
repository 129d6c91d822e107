"""GET /metrics under `lip serve --workers N` reports the whole server, whichever worker answers the scrape."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import tempfile
from collections.abc import AsyncIterator

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import Fail, FakeProvider
from tests.harness import backend_row
from tests.integration.operate import CHAT, LipProcess, call, lip_process
from tests.integration.test_metrics import sample, scrape

SLOW = {"id": "slow", "kind": "local-stub", "config": {"backend_prefix": "slow", "chunk_delay_s": 3.0}}
CONFIG = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}, SLOW]}}
OK = {"frontend": "openai_chat", "backend": "local-stub", "status": "200"}


def access_pids(log: str, path: str) -> set[str]:
    """The pids of the workers whose access log has a line for ``path``."""
    return set(re.findall(r"\[(\d+)\] lip\.access: .* path=" + re.escape(path) + " ", log))


def live_pids(lip: LipProcess) -> list[str]:
    """Workers that logged they serve, less those the parent reported dead."""
    serving = re.findall(r"lip serving on \S+ \(pid (\d+)\)", lip.log)
    dead = set(re.findall(r"\(pid (\d+)\) exited", lip.log))
    return [pid for pid in serving if pid not in dead]


async def chats(lip: LipProcess, count: int) -> None:
    replies = await asyncio.gather(*(call(lip.url + "/v1/chat/completions", CHAT) for _ in range(count)))
    assert all(r.status == 200 for r in replies)


async def stop(lip: LipProcess) -> None:
    lip.signal(signal.SIGTERM)
    assert await lip.wait() == 0


async def test_every_scrape_counts_the_requests_of_every_worker() -> None:
    async with lip_process(CONFIG, args=["--workers", "2", "--log-level", "debug"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        await chats(lip, 40)
        await lip.wait_for_log("path=/v1/chat/completions", count=40)
        texts = [await scrape(lip.url) for _ in range(12)]  # a new connection each: either worker answers
        await lip.wait_for_log("path=/metrics", count=12)
        await stop(lip)
    workers = set(live_pids(lip))
    assert len(workers) == 2
    assert access_pids(lip.log, "/v1/chat/completions") == workers  # both served requests...
    assert access_pids(lip.log, "/metrics") == workers  # ...and both answered scrapes
    for text in texts:
        assert sample(text, "lip_requests_total", **OK) == 40
        assert sample(text, "lip_request_duration_seconds_count", frontend="openai_chat") == 40
        assert sample(text, "lip_time_to_first_byte_seconds_count", frontend="openai_chat", backend="local-stub") == 40
        assert sample(text, "lip_tokens_total", frontend="openai_chat", backend="local-stub", direction="in") == 320
        assert sample(text, "lip_http_responses_total", route="/v1/chat/completions", status="200") == 40
        assert sample(text, "lip_workers") == 2
        assert sample(text, "lip_in_flight_requests") == 1  # the scrape itself


@contextlib.asynccontextmanager
async def slow_streams(lip: LipProcess, count: int) -> AsyncIterator[list[asyncio.Task[bool]]]:
    """``count`` slow streams, each on its own connection, read past their first line; each task says whether its
    stream was cut off. They are closed at the end."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        opened = [
            session.post(lip.url + "/v1/chat/completions", json={**CHAT, "model": "slow:echo", "stream": True})
            for _ in range(count)
        ]
        responses = await asyncio.gather(*(request.__aenter__() for request in opened))
        for response in responses:
            await response.content.readline()

        async def cut_off(response: aiohttp.ClientResponse) -> bool:
            try:
                await response.read()
            except aiohttp.ClientError:
                return True
            return False

        tasks = [asyncio.create_task(cut_off(response)) for response in responses]
        try:
            yield tasks
        finally:
            for task in tasks:
                task.cancel()
            for response in responses:
                response.close()


async def test_a_dead_workers_counters_stay_and_its_streams_leave_the_gauges() -> None:
    async with lip_process(CONFIG, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        await chats(lip, 30)
        await lip.wait_for_log("path=/v1/chat/completions", count=30)
        assert access_pids(lip.log, "/v1/chat/completions") == set(live_pids(lip))  # both counted some
        async with slow_streams(lip, 12) as streams:
            assert sample(await scrape(lip.url), "lip_in_flight_streams") == 12
            victim = live_pids(lip)[0]
            os.kill(int(victim), signal.SIGKILL)
            await lip.wait_for_log("starting a new one")
            await lip.wait_for_log("lip serving on", count=3)
            await asyncio.sleep(0.5)  # the cut-off streams see their connection closed
            cut = sum(task.done() and task.result() for task in streams)
            assert 0 < cut < 12, cut  # the kernel spread the streams over both workers
            texts = [await scrape(lip.url) for _ in range(8)]
            await chats(lip, 10)
            after = await scrape(lip.url)
        await stop(lip)
    for text in texts:
        assert sample(text, "lip_requests_total", **OK) == 30  # the dead worker's requests still count
        assert sample(text, "lip_in_flight_streams") == 12 - cut  # its streams do not
        assert sample(text, "lip_in_flight_requests") == 12 - cut + 1
        assert sample(text, "lip_workers") == 2
    assert sample(after, "lip_requests_total", **OK) == 40  # the new worker's requests add to them


async def test_the_metrics_directory_exists_while_the_server_runs() -> None:
    async with lip_process(CONFIG, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        found = re.search(r"share their metrics in (\S+)", lip.log)
        assert found is not None
        directory = found.group(1)
        await chats(lip, 4)
        files = os.listdir(directory)
        mode = os.stat(directory).st_mode & 0o777
        await stop(lip)
    assert mode == 0o700
    assert {name.split("_")[0] for name in files} >= {"counter", "histogram", "gauge"}
    assert not os.path.exists(directory)


async def test_one_process_writes_no_metric_files() -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with lip_process(CONFIG, {"PROMETHEUS_MULTIPROC_DIR": directory}) as lip:
            await chats(lip, 3)
            text = await scrape(lip.url)
            await stop(lip)
        assert os.listdir(directory) == []
    assert sample(text, "lip_requests_total", **OK) == 3
    assert sample(text, "lip_workers") == 1


async def test_each_worker_reports_its_own_key_states() -> None:
    async with FakeProvider(keys={"key-one-0000": Fail(401), "key-two-0000": None}) as fake:
        models = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}
        row = backend_row("p", fake.url + "/v1", key_root="P_KEY", models=models)
        env = {"P_KEY": "key-one-0000", "P_KEY_2": "key-two-0000"}
        async with lip_process({"plugins": {"backends": [row]}}, env, args=["--workers", "2"]) as lip:
            await lip.wait_for_log("lip serving on", count=2)
            reply = await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "p:gpt-4o"})
            await asyncio.sleep(1.5)  # every worker has written its key counts since
            texts = [await scrape(lip.url) for _ in range(6)]
            workers = set(live_pids(lip))
            await stop(lip)
    assert reply.status == 200
    for text in texts:
        rows = {
            (s.labels["pid"], s.labels["state"]): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "lip_backend_keys" and s.labels["backend"] == "p"
        }
        assert {pid for pid, _ in rows} == workers
        disabled = sorted(rows[pid, "disabled"] for pid in workers)
        assert disabled == [0, 1]  # the worker that met the 401; the other has not tried that key yet
        for pid in workers:
            assert rows[pid, "usable"] + rows[pid, "cooling"] + rows[pid, "disabled"] == 2
        for secret in env.values():
            assert secret not in text
