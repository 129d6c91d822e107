"""An upstream's bytes that decode to no event are not its first byte: Anthropic content deltas of a block that never
started are dropped and counted as a repair (``orphan_delta``), and an upstream that sends only those gets its
``first_byte_s`` timeout and the request fails over, instead of keeping the client waiting until ``total_s``."""

from __future__ import annotations

import time

import orjson

from tests.fakes import FakeProvider, OrphanDeltas, Turn
from tests.harness import backend_row, run_lip
from tests.integration.operate import call, sse_data

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
TIMEOUTS = {"first_byte_s": 1.0, "idle_s": 10, "total_s": 60}
CHAT = "/v1/chat/completions"
BODY = {"model": "p:m", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
ENDLESS = OrphanDeltas(count=100_000, delay=0.02, finish=False)  # a delta every 20 ms for half an hour


def rows(url: str) -> list[dict[str, object]]:
    kind = "custom-anthropic-compatible"
    return [backend_row(name, url, kind=kind, models=MODELS, timeouts=TIMEOUTS) for name in ("p", "ok")]


async def test_orphan_deltas_alone_time_out_at_the_first_byte_and_fail_over(fake_provider: FakeProvider) -> None:
    fake_provider.script.extend([ENDLESS, Turn(text="from ok"), ENDLESS])
    async with run_lip({"plugins": {"backends": rows(fake_provider.url)}}) as lip:
        started = time.monotonic()
        failed_over = await call(lip.url + CHAT, {**BODY, "model": "p:m|ok:m", "stream": True}, timeout=30)
        took = time.monotonic() - started
        started = time.monotonic()
        alone = await call(lip.url + CHAT, {**BODY, "stream": True}, timeout=30)
        took_alone = time.monotonic() - started
    assert failed_over.status == 200 and failed_over.headers["x-lip-backend"] == "ok:m"
    deltas = [orjson.loads(data)["choices"] for data in sse_data(failed_over.body)[:-1]]
    assert "".join(c[0]["delta"].get("content") or "" for c in deltas if c) == "from ok"
    assert 0.9 < took < 5
    assert alone.status == 504, alone.body[:300]
    assert "config.timeouts.first_byte_s" in alone.json()["error"]["message"]
    assert 0.9 < took_alone < 5


async def test_orphan_deltas_are_dropped_and_counted(fake_provider: FakeProvider) -> None:
    fake_provider.script.append(OrphanDeltas(count=5))
    async with run_lip({"plugins": {"backends": rows(fake_provider.url)}}) as lip:
        reply = await call(lip.url + CHAT, {**BODY, "stream": True})
        metrics = (await call(lip.url + "/metrics", method="GET")).body.decode()
    assert reply.status == 200
    assert sse_data(reply.body)[-1] == "[DONE]" and b"orphan" not in reply.body
    assert 'lip_stream_repairs_total{backend="p",kind="orphan_delta"} 1.0' in metrics
