"""Reload: POST /admin/reload (and SIGHUP, see test_reload_signal.py) swaps a valid config in for new requests;
requests in flight finish on the old one, which is closed after; an invalid config is rejected and logged."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from lip.lifecycle import LIFECYCLE
from lip.runtime import RUNTIME
from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row
from tests.integration.operate import CLIENT_KEY, call, run_lip_file, sse_data, write_config

MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}


def one_backend(fake: FakeProvider, **config: Any) -> dict[str, Any]:
    return {"plugins": {"backends": [backend_row("p", fake.url + "/v1", models=MODELS, **config)]}}


def chat(stream: bool = False) -> dict[str, Any]:
    return {"model": "p:gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}


async def test_a_valid_config_is_swapped_in_and_the_old_runtime_closed_after_its_streams(
    tmp_path: Path, fake_provider_factory: FakeProviderFactory
) -> None:
    old_fake, new_fake = await fake_provider_factory(), await fake_provider_factory()
    old_fake.script.append(Turn(text="one two three four five six", chunks=6, delay_between_chunks=0.15))
    path = str(tmp_path / "lip.yaml")
    write_config(path, one_backend(old_fake))
    async with run_lip_file(path, {}) as (app, url), aiohttp.ClientSession() as session:
        old_runtime = app[RUNTIME].current
        closed = asyncio.Event()
        original_close = old_runtime.aclose

        async def aclose() -> None:
            closed.set()
            await original_close()

        old_runtime.aclose = aclose  # type: ignore[method-assign]
        async with session.post(url + "/v1/chat/completions", json=chat(stream=True)) as held:
            await held.content.readline()
            write_config(path, one_backend(new_fake))
            reloaded = await call(url + "/admin/reload")
            after = await call(url + "/v1/chat/completions", chat())
            assert not closed.is_set()  # the stream still uses it
            rest = await held.read()
        await asyncio.wait_for(closed.wait(), 2)
        assert app[RUNTIME].current is not old_runtime
        assert not app[LIFECYCLE].requests
    assert reloaded.status == 200 and reloaded.json()["status"] == "reloaded"
    assert after.status == 200 and len(new_fake.received) == 1
    data = sse_data(rest)
    assert data[-1] == "[DONE]"  # the stream in flight was not cut short


async def test_an_invalid_config_is_rejected_and_the_old_one_keeps_serving(
    tmp_path: Path, fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    path = str(tmp_path / "lip.yaml")
    write_config(path, one_backend(fake_provider))
    async with run_lip_file(path, {}) as (app, url):
        before = app[RUNTIME].current
        write_config(path, {"plugins": {"backends": [{"id": "bad", "kind": "no-such-kind"}]}, "sever": {}})
        rejected = await call(url + "/admin/reload")
        Path(path).write_text("plugins: [unclosed")
        broken = await call(url + "/admin/reload")
        still = await call(url + "/v1/chat/completions", chat())
        assert app[RUNTIME].current is before
    assert rejected.status == 422 and rejected.json()["status"] == "rejected"
    problems = rejected.json()["problems"]
    assert any("no-such-kind" in p for p in problems) and any("sever" in p for p in problems)
    assert broken.status == 422
    assert still.status == 200
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("reload rejected" in e for e in errors)
    assert any("no-such-kind" in e for e in errors)


async def test_reload_reads_keys_again(tmp_path: Path) -> None:
    fake = FakeProvider(keys={"backend-key-1": None})
    async with fake:
        path = str(tmp_path / "lip.yaml")
        write_config(path, one_backend(fake, key_root="P_KEY"))
        env = {"P_KEY": "backend-key-1"}
        async with run_lip_file(path, env) as (_, url):
            fake.keys = {"backend-key-1": Fail(401)}
            disabled = await call(url + "/v1/chat/completions", chat())
            fake.keys = {"backend-key-1": None}
            still_disabled = await call(url + "/v1/chat/completions", chat())
            assert (await call(url + "/admin/reload")).status == 200
            enabled = await call(url + "/v1/chat/completions", chat())
            env["LIP_API_KEY"] = "short"
            short = await call(url + "/admin/reload")
            env["LIP_API_KEY"] = CLIENT_KEY
            assert (await call(url + "/admin/reload")).status == 200
            needs_key = await call(url + "/v1/chat/completions", chat())
            protected = await call(url + "/admin/reload")
            with_key = await call(url + "/admin/reload", headers={"x-api-key": CLIENT_KEY})
    assert disabled.status == 401 and still_disabled.status == 401
    assert enabled.status == 200  # the key a 401 disabled is back after a reload
    assert short.status == 422 and "LIP_API_KEY is shorter than 16" in short.json()["problems"][0]
    assert needs_key.status == 401 and protected.status == 401 and with_key.status == 200


async def test_no_stream_is_cut_short_by_reloads_under_load(
    tmp_path: Path, fake_provider_factory: FakeProviderFactory
) -> None:
    fakes = [await fake_provider_factory(), await fake_provider_factory()]
    for fake in fakes:
        fake.script.extend(Turn(text="a b c d e", chunks=5, delay_between_chunks=0.03) for _ in range(60))
    path = str(tmp_path / "lip.yaml")
    write_config(path, one_backend(fakes[0]))
    async with run_lip_file(path, {}) as (app, url), aiohttp.ClientSession() as session:

        async def stream() -> list[str]:
            async with session.post(url + "/v1/chat/completions", json=chat(stream=True)) as response:
                assert response.status == 200
                return sse_data(await response.read())

        done = asyncio.Event()

        async def reloads() -> int:
            count = 0
            while not done.is_set():
                await asyncio.sleep(0.07)
                count += 1
                write_config(path, one_backend(fakes[count % 2]))
                assert (await call(url + "/admin/reload")).status == 200
            return count

        async def clients() -> list[list[str]]:
            results: list[list[str]] = []
            for _ in range(4):
                results += await asyncio.gather(*(stream() for _ in range(8)))
            done.set()
            return results

        results, count = await asyncio.gather(clients(), reloads())
        await asyncio.sleep(0.05)
        assert not app[LIFECYCLE]._retired and not app[LIFECYCLE]._closing
    assert len(results) == 32 and count >= 4
    assert all(data[-1] == "[DONE]" for data in results)
    assert all(len(fake.received) > 0 for fake in fakes), [len(f.received) for f in fakes]


async def test_admin_reload_is_only_for_this_machine_without_keys(tmp_path: Path) -> None:
    path = str(tmp_path / "lip.yaml")
    write_config(path, {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}})
    async with run_lip_file(path, {}) as (_, url):
        local = await call(url + "/admin/reload")
        wrong_method = await call(url + "/admin/reload", method="GET")
    assert local.status == 200
    assert wrong_method.status == 405
    assert os.path.exists(path)
