"""An upstream's bytes that decode to no event are not progress: Anthropic content deltas of a block that never
started are dropped and counted as a repair (``orphan_delta``); an upstream that sends only those gets its
``first_byte_s`` timeout and the request fails over, and one that sends them after ``message_start`` has its stream
ended by a protocol error after ``idle_s``, instead of keeping the client waiting until ``total_s``. A custom tool's
input, which decoders hold back until it is whole, is progress all the same."""

from __future__ import annotations

import json
import time

import orjson
import pytest

from tests.fakes import FakeProvider, FakeToolCall, OrphanDeltas, Turn
from tests.harness import backend_row, run_lip
from tests.integration import client_shapes as shapes
from tests.integration.operate import call, sse_data

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
TIMEOUTS = {"first_byte_s": 1.0, "idle_s": 10, "total_s": 60}
CHAT = "/v1/chat/completions"
BODY = {"model": "p:m", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
ENDLESS = OrphanDeltas(count=100_000, delay=0.02, finish=False)  # a delta every 20 ms for half an hour


IDLE = {"first_byte_s": 10, "idle_s": 1.0, "total_s": 60}
CLIENTS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}


def rows(url: str, timeouts: dict[str, float] = TIMEOUTS) -> list[dict[str, object]]:
    kind = "custom-anthropic-compatible"
    return [backend_row(name, url, kind=kind, models=MODELS, timeouts=timeouts) for name in ("p", "ok")]


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


@pytest.mark.parametrize("client", CLIENTS)
async def test_orphan_deltas_after_message_start_end_the_stream_after_idle_s(
    fake_provider: FakeProvider, client: str
) -> None:
    fake_provider.script.append(OrphanDeltas(count=100_000, delay=0.02, finish=False, started=True))
    body = {**BODY, "stream": True}
    if client == "responses":
        body = {"model": "p:m", "input": "hi", "stream": True}
    async with run_lip({"plugins": {"backends": rows(fake_provider.url, IDLE)}}) as lip:
        reply = await call(lip.url + CLIENTS[client], body, timeout=30)  # total_s is 60
        metrics = (await call(lip.url + "/metrics", method="GET")).body.decode()
    assert reply.status == 200
    last = orjson.loads(sse_data(reply.body)[-1])
    error = last["error"] if client == "chat" else last["response"]["error"]
    assert "config.timeouts.idle_s" in error["message"] and "never started" in error["message"]
    assert b"orphan" not in reply.body
    assert 'lip_stream_repairs_total{backend="p",kind="orphan_delta"} 1.0' in metrics
    assert 'lip_upstream_errors_total{backend="p",error="upstream_bad_response"} 1.0' in metrics


async def test_a_custom_tools_held_input_is_progress(fake_provider: FakeProvider) -> None:
    """Codex's freeform apply_patch, translated to Anthropic: its input streams for longer than ``idle_s`` and makes
    no event until it is whole; the answer still arrives whole."""
    patch = FakeToolCall("apply_patch", json.dumps({"input": shapes.PATCH}), fragments=8)
    fake_provider.script.append(Turn(text="", tool_calls=[patch], delay_between_chunks=0.3))
    body = shapes.codex_first_turn("p:m", stream=True)
    async with run_lip({"plugins": {"backends": rows(fake_provider.url, IDLE)}}) as lip:
        reply = await call(lip.url + "/v1/responses", body, timeout=30)
    events = [orjson.loads(data) for data in sse_data(reply.body)]
    assert reply.status == 200 and events[-1]["type"] == "response.completed", events[-1]
    (item,) = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert item["type"] == "custom_tool_call" and item["input"] == shapes.PATCH
