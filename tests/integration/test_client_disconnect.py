"""A client that goes away cancels its upstream request at once: the provider sees its connection close."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from tests.fakes import FakeProvider, Stall, Turn
from tests.harness import backend_row, run_lip
from tests.integration.operate import call

USER = [{"role": "user", "content": "hi"}]
SLOW = Turn(text="word " * 40, chunks=40, delay_between_chunks=0.25)  # ~10 s if nobody hangs up
GONE_WITHIN = 3.0  # well under what the upstream still had to send


def config(fake: FakeProvider, kind: str = "custom-openai-legacy-compatible", suffix: str = "/v1") -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "gpt-4o-mini"}, {"native_id": "claude-test"}]}
    return {"plugins": {"backends": [backend_row("p", fake.url + suffix, kind=kind, models=models)]}}


@pytest.mark.parametrize(
    ("kind", "suffix", "model"),
    [
        ("custom-openai-legacy-compatible", "/v1", "p:gpt-4o-mini"),  # same protocol: a byte relay
        ("custom-anthropic-compatible", "", "p:claude-test"),  # translated: canonical events
    ],
)
async def test_a_client_leaving_mid_stream_cancels_the_upstream(
    fake_provider: FakeProvider, kind: str, suffix: str, model: str
) -> None:
    if kind == "custom-anthropic-compatible":
        pytest.importorskip("lip.protocols.anthropic_messages")
    fake_provider.queue(SLOW)
    async with run_lip(config(fake_provider, kind, suffix)) as lip:
        client = lip.openai()
        stream = await client.chat.completions.create(model=model, messages=USER, stream=True, max_tokens=100)
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        assert fake_provider.in_flight == 1 and not fake_provider.client_gone.is_set()
        await stream.close()
        await asyncio.wait_for(fake_provider.client_gone.wait(), GONE_WITHIN)
        assert fake_provider.disconnects == 1
        # lip keeps serving, and the backend's slot was given back
        completion = await client.chat.completions.create(model=model, messages=USER, max_tokens=100)
        assert completion.choices[0].message.content


async def test_a_client_leaving_while_lip_waits_for_the_upstream_cancels_it(
    fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(Stall(10))
    async with run_lip(config(fake_provider)) as lip:
        async with aiohttp.ClientSession() as session:
            request = asyncio.create_task(
                session.post(lip.url + "/v1/chat/completions", json={"model": "p:gpt-4o-mini", "messages": USER})
            )
            while fake_provider.in_flight == 0:
                await asyncio.sleep(0.01)
            request.cancel()
            with pytest.raises(asyncio.CancelledError):
                await request
        await asyncio.wait_for(fake_provider.client_gone.wait(), GONE_WITHIN)
        metrics = (await call(lip.url + "/metrics", method="GET")).body.decode()
    # logged and counted as the client's leaving (nginx's 499), not as a server error
    access = [r.fields for r in caplog.records if r.name == "lip.access"]  # type: ignore[attr-defined]
    chat = next(f for f in access if f.get("frontend") == "openai_chat")
    assert chat["status"] == 499 and chat["client_gone"] is True
    assert 'status="500"' not in metrics and 'status="499"' in metrics


async def test_a_client_leaving_frees_its_admission_slot(fake_provider: FakeProvider) -> None:
    fake_provider.queue(SLOW)
    cfg = config(fake_provider)
    cfg["plugins"]["backends"][0]["config"].update(max_concurrent_requests=1, admission_wait_s=0)
    async with run_lip(cfg) as lip:
        client = lip.openai()
        stream = await client.chat.completions.create(model="p:gpt-4o-mini", messages=USER, stream=True)
        await anext(aiter(stream))
        await stream.close()
        await asyncio.wait_for(fake_provider.client_gone.wait(), GONE_WITHIN)
        for _ in range(100):  # lip notices a moment after the provider does
            if lip.runtime.backends["p"].diagnostics()["admission"]["in_flight"] == 0:
                break
            await asyncio.sleep(0.02)
        completion = await client.chat.completions.create(model="p:gpt-4o-mini", messages=USER)
    assert completion.choices[0].message.content == "Hello from fake"
