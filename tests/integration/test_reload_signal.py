"""SIGHUP makes a running `lip serve` re-read its config file: valid is swapped in, invalid is logged and ignored."""

from __future__ import annotations

import asyncio
import signal

from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row
from tests.integration.operate import call, lip_process, write_config

CHAT = {"model": "p:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}


async def test_sighup_reloads_and_rejects(fake_provider_factory: FakeProviderFactory) -> None:
    first, second = await fake_provider_factory(), await fake_provider_factory()
    config = {"plugins": {"backends": [backend_row("p", first.url + "/v1", models=MODELS)]}}
    async with lip_process(config) as lip:
        assert (await call(lip.url + "/v1/chat/completions", CHAT)).status == 200
        write_config(lip.config_path, {"plugins": {"backends": [backend_row("p", second.url + "/v1", models=MODELS)]}})
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("configuration reloaded")
        assert (await call(lip.url + "/v1/chat/completions", CHAT)).status == 200
        write_config(lip.config_path, {"plugins": {"backends": [{"id": "x", "kind": "nope"}]}})
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("reload rejected")
        still = await call(lip.url + "/v1/chat/completions", CHAT)
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    assert still.status == 200
    assert (len(first.received), len(second.received)) == (1, 2)
    assert "'nope'" in lip.log or "nope" in lip.log  # the check-config message is in the log


async def test_lip_serve_freezes_its_start_up_objects_and_again_after_a_reload(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    provider = await fake_provider_factory()
    config = {"plugins": {"backends": [backend_row("p", provider.url + "/v1", models=MODELS)]}}
    async with lip_process(config) as lip:
        started = (await call(lip.url + "/v1/diagnostics", method="GET")).json()["gc"]
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("configuration reloaded")
        async with asyncio.timeout(10):
            while True:  # the old configuration is thawed, retired, collected; then what lives is frozen again
                reloaded = (await call(lip.url + "/v1/diagnostics", method="GET")).json()["gc"]
                if reloaded["frozen"] > 0:
                    break
                await asyncio.sleep(0.05)
        assert (await call(lip.url + "/v1/chat/completions", CHAT)).status == 200
    assert started["threshold"][0] == 10_000
    assert started["frozen"] > 10_000  # aiohttp, pydantic, the configuration...
    assert reloaded["threshold"][0] == 10_000
