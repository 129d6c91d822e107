"""Usage counts an upstream reports are checked: ``[1]``, a negative count, ``1e30`` or a string from any upstream kind
give the client its normal answer, relayed and translated, streamed and not; the bad count is dropped, counted in
``lip_stream_repairs_total{kind="bad_usage"}`` and never added to ``lip_tokens_total``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import BadUsage, FakeProvider
from tests.harness import backend_row, run_lip
from tests.integration.operate import call

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
KINDS = {  # upstream protocol -> (backend kind, base path, client path of the same protocol)
    "chat": ("custom-openai-legacy-compatible", "/v1", "/v1/chat/completions"),
    "responses": ("custom-openai-responses-compatible", "/v1", "/v1/responses"),
    "messages": ("custom-anthropic-compatible", "", "/v1/messages"),
}
BAD_VALUES: list[object] = [[1], -5, 1e30, "12", 10**12]


def body(client_path: str, model: str, stream: bool) -> dict[str, Any]:
    if client_path == "/v1/responses":
        return {"model": model, "input": "hi", "stream": stream}
    chat = {"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    if client_path == "/v1/chat/completions" and stream:
        chat["stream_options"] = {"include_usage": True}  # a relayed Chat stream reports usage only when asked
    return chat


def metric_lines(text: str, name: str) -> list[tuple[str, float]]:
    return [
        (line.split(" ")[0], float(line.split(" ")[1])) for line in text.splitlines() if line.startswith(name + "{")
    ]


@pytest.mark.parametrize("upstream", sorted(KINDS))
async def test_bad_usage_is_dropped_and_counted_as_a_repair(upstream: str, fake_provider: FakeProvider) -> None:
    kind, base, same = KINDS[upstream]
    other = "/v1/messages" if upstream == "chat" else "/v1/chat/completions"
    row = backend_row("p", fake_provider.url + base, kind=kind, models=MODELS)
    cases = [(path, stream, value) for path in (same, other) for stream in (False, True) for value in BAD_VALUES]
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        for path, stream, value in cases:
            fake_provider.script.append(BadUsage(value))
            reply = await call(lip.url + path, body(path, "p:m", stream))
            assert reply.status == 200, (path, stream, value, reply.body[:300])
            failed = any(mark in reply.body for mark in (b'"error":{', b"event: error", b"response.failed"))
            assert b"Hello" in reply.body and not failed, (path, stream, value, reply.body[:500])
        metrics = (await call(lip.url + "/metrics", method="GET")).body.decode()
    repairs = dict(metric_lines(metrics, "lip_stream_repairs_total"))
    assert repairs.get('lip_stream_repairs_total{backend="p",kind="bad_usage"}') == len(cases), repairs
    tokens = metric_lines(metrics, "lip_tokens_total")
    assert tokens and all(0 <= value < 10**6 for _, value in tokens), tokens
