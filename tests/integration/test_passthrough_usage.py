"""Same-protocol passthrough relays bytes untouched, yet metrics and the access log still get the token counts the
upstream reported (read once from the relayed body or the stream's first and last chunks)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.fakes import FakeProvider, FakeUsage, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row, run_lip
from tests.integration.operate import call
from tests.integration.test_metrics import sample, scrape

USAGE = FakeUsage(input_tokens=37, output_tokens=11)
MESSAGES = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("openai_chat", "custom-openai-legacy-compatible", "/v1/chat/completions", {"messages": MESSAGES}),
    ("openai_responses", "custom-openai-responses-compatible", "/v1/responses", {"input": "hi"}),
    ("anthropic_messages", "custom-anthropic-compatible", "/v1/messages", {"max_tokens": 50, "messages": MESSAGES}),
]


def row(fake: FakeProvider, kind: str) -> dict[str, Any]:
    base = fake.url if kind == "custom-anthropic-compatible" else fake.url + "/v1"
    return backend_row("p", base, kind=kind, key_root="P_KEY", models=MODELS)


@pytest.mark.parametrize("stream", [False, True, "paced"], ids=["body", "stream", "paced"])
@pytest.mark.parametrize(("frontend", "kind", "path", "extra"), CASES, ids=[c[0] for c in CASES])
async def test_relayed_usage_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
    fake_provider_factory: FakeProviderFactory,
    frontend: str,
    kind: str,
    path: str,
    extra: dict[str, Any],
    stream: bool | str,
) -> None:
    """``paced``: the chunks arrive one by one, so the relay reads them from the upstream connection's own
    callback (lip.backends.splice) rather than all with the first chunk."""
    caplog.set_level(logging.INFO)
    fake = await fake_provider_factory()
    gap = 0.01 if stream == "paced" else 0.0
    fake.script.append(Turn(text="word " * 40, chunks=20, usage=USAGE, delay_between_chunks=gap))
    stream = bool(stream)
    body = {"model": "p:m", "stream": stream, **extra}
    if stream and frontend == "openai_chat":
        body["stream_options"] = {"include_usage": True}
    async with run_lip({"plugins": {"backends": [row(fake, kind)]}}, {"P_KEY": "pk-0123456789"}) as lip:
        reply = await call(lip.url + path, body)
        text = await scrape(lip.url)
    assert reply.status == 200, reply.body
    assert fake.last.body == {**body, "model": "m"}  # passthrough: the upstream got the client's body as is
    assert sample(text, "lip_tokens_total", frontend=frontend, backend="p", direction="in") == 37
    assert sample(text, "lip_tokens_total", frontend=frontend, backend="p", direction="out") == 11
    access = [r for r in caplog.records if r.name == "lip.access"]
    fields = access[0].fields  # type: ignore[attr-defined]
    assert (fields["tokens_in"], fields["tokens_out"]) == (37, 11)


async def test_a_chat_stream_without_usage_reports_no_tokens(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.script.append(Turn(text='say "usage": {"prompt_tokens": 99}', usage=USAGE))
    config = {"plugins": {"backends": [row(fake_provider, "custom-openai-legacy-compatible")]}}
    async with run_lip(config, {"P_KEY": "pk-0123456789"}) as lip:
        reply = await call(lip.url + "/v1/chat/completions", {"model": "p:m", "stream": True, "messages": MESSAGES})
    assert reply.status == 200
    assert b"usage" in reply.body  # the model's own text, escaped inside a JSON string: not a report
    fields = next(r for r in caplog.records if r.name == "lip.access").fields  # type: ignore[attr-defined]
    assert "tokens_in" not in fields and "tokens_out" not in fields
