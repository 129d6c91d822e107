"""`lip serve --workers 2` with store.kind redis: previous_response_id works whichever worker answers; with the
memory store it says at start what stays per worker. `lip check-config` checks the store without touching Redis
and never shows its URL."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from lip.cli import main
from tests.harness import CANARY
from tests.integration.operate import call, lip_process, write_config
from tests.integration.test_metrics import sample, scrape
from tests.redisd import RedisServer

STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}
REDIS = {**STUB, "store": {"kind": "redis", "prefix": "workers:", "timeout_s": 2}}
CHAINS = 12


def store_up(text: str) -> list[float]:
    return [s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == "lip_store_up"]


def pids(log: str, text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"\[(\d+)\] [\w.]+: .*" + re.escape(text), log)}


async def chain(url: str) -> int:
    """A response, then a follow-up by previous_response_id, each on a new connection (any worker may take it)."""
    first = await call(url + "/v1/responses", {"model": "local-stub:echo", "input": "one"})
    assert first.status == 200, first.body
    body = {"model": "local-stub:echo", "input": "two", "previous_response_id": first.json()["id"]}
    return (await call(url + "/v1/responses", body)).status


async def test_previous_response_id_works_whichever_worker_answers(redis_server: RedisServer) -> None:
    env = {"LIP_REDIS_URL": redis_server.url}
    async with lip_process(REDIS, env, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        statuses = [await chain(lip.url) for _ in range(CHAINS)]
        await lip.wait_for_log("path=/v1/responses", count=2 * CHAINS)
        async with asyncio.timeout(10):  # each worker writes its view of the store every second
            while len(up := store_up(await scrape(lip.url))) < 2:
                await asyncio.sleep(0.2)
        failed = sample(await scrape(lip.url), "lip_store_failed_calls_total")
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    assert statuses == [200] * CHAINS
    assert up == [1.0, 1.0] and failed == 0  # one series per worker, labelled by pid; failures summed
    assert len(pids(lip.log, "path=/v1/responses")) == 2, "both workers answered"
    assert "in-memory store" not in lip.log
    assert CANARY not in lip.log


async def test_workers_with_the_memory_store_warn_at_start() -> None:
    async with lip_process(STUB, args=["--workers", "2"]) as lip:
        await lip.wait_for_log("lip serving on", count=2)
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    [warning] = [line for line in lip.log.splitlines() if "in-memory store" in line]
    assert "WARNING" in warning and "previous_response_id" in warning and "store.kind: redis" in warning


async def test_check_config_shows_the_store_without_its_url_or_a_connection(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    path = str(tmp_path / "lip.yaml")
    write_config(path, REDIS)
    connections = await redis_server.info("total_connections_received")
    env = {"COLUMNS": "250", "LIP_REDIS_URL": redis_server.url}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["check-config", "--config", path], env=env)
    assert result.exit_code == 0, result.output
    assert "store: redis (URL from LIP_REDIS_URL, prefix 'workers:')" in result.output
    assert CANARY not in result.output
    assert await redis_server.info("total_connections_received") == connections + 1  # only this INFO's own

    bad = {"LIP_REDIS_URL": f"http://:{CANARY}@127.0.0.1:{redis_server.port}"}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["check-config", "--config", path], env=bad)
    assert result.exit_code == 1
    assert f"{path}: field store.url_env: the URL in LIP_REDIS_URL is not a Redis URL" in result.output
    assert CANARY not in result.output
