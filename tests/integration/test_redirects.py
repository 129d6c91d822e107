"""lip never follows an upstream's redirect: a 3xx (301, 302, 303, 307, 308) from a generation call or from model
discovery is an upstream error naming the status (never the Location), failed over like a 5xx; the redirect target
(a second, recording fake) never receives the key or the prompt. For an Anthropic-kind backend (``x-api-key``) and
an OpenAI-kind one (``Authorization: Bearer``)."""

from __future__ import annotations

import logging
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import FakeProvider, Redirect, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import CANARY, LipServer, backend_row, run_lip

KIND = {"anthropic": "custom-anthropic-compatible", "openai": "custom-openai-legacy-compatible"}
CALL_PATH = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}
MODELS_PATH = {"anthropic": "/v1/models", "openai": "/v1/models"}
PROMPT = "the secret plan is in the third drawer"
INLINE = {"source": "inline", "items": [{"native_id": "m"}]}
STATUSES = (301, 302, 303, 307, 308)


def row(name: str, fake: FakeProvider, kind: str, **config: Any) -> dict[str, Any]:
    base = fake.url if kind == "anthropic" else fake.url + "/v1"
    return backend_row(name, base, kind=KIND[kind], key_root="UP_KEY", **config)


async def generate(lip: LipServer, kind: str, model: str, stream: bool) -> str:
    """The answer's text, through the SDK of the backend's own protocol (the body is relayed)."""
    if kind == "anthropic":
        client = lip.anthropic()
        messages: Any = [{"role": "user", "content": PROMPT}]
        if stream:
            async with client.messages.stream(model=model, max_tokens=64, messages=messages) as s:
                return "".join([text async for text in s.text_stream])
        message = await client.messages.create(model=model, max_tokens=64, messages=messages)
        return "".join(b.text for b in message.content if b.type == "text")
    chat = lip.openai().chat.completions
    if stream:
        chunks = await chat.create(model=model, messages=[{"role": "user", "content": PROMPT}], stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    completion = await chat.create(model=model, messages=[{"role": "user", "content": PROMPT}])
    return completion.choices[0].message.content or ""


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_redirected_call_is_an_upstream_error_and_the_target_gets_nothing(
    fake_provider_factory: FakeProviderFactory, kind: str, status: int, stream: bool
) -> None:
    upstream, elsewhere = await fake_provider_factory(keys={CANARY: None}), await fake_provider_factory()
    upstream.queue(Redirect(elsewhere.url + CALL_PATH[kind], status))
    async with run_lip({"plugins": {"backends": [row("a", upstream, kind, models=INLINE)]}}, {"UP_KEY": CANARY}) as lip:
        with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as caught:
            await generate(lip, kind, "a:m", stream)
    error: Any = caught.value
    assert error.status_code == 502
    text = error.response.text
    assert f"HTTP {status}" in text and "redirect" in text
    assert elsewhere.url not in text and "127.0.0.1" not in text  # the Location is not named
    assert len(upstream.requests_to(CALL_PATH[kind])) == 1
    assert elsewhere.received == []  # neither the key nor the prompt went there


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_redirect_fails_over_like_a_5xx(
    fake_provider_factory: FakeProviderFactory, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    upstream, elsewhere, second = (
        await fake_provider_factory(keys={CANARY: None}),
        await fake_provider_factory(),
        await fake_provider_factory(keys={CANARY: None}),
    )
    upstream.queue(Redirect(elsewhere.url + CALL_PATH[kind], 308))
    second.queue(Turn(text="from the second leaf"))
    rows = [row("a", upstream, kind, models=INLINE), row("b", second, kind, models=INLINE)]
    caplog.set_level(logging.WARNING)
    async with run_lip({"plugins": {"backends": rows}}, {"UP_KEY": CANARY}) as lip:
        assert await generate(lip, kind, "a:m|b:m", stream=False) == "from the second leaf"
    assert elsewhere.received == []
    assert any("HTTP 308" in r.getMessage() and "failing over to b:m" in r.getMessage() for r in caplog.records)
    assert elsewhere.url not in caplog.text


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_model_discovery_does_not_follow_a_redirect(
    fake_provider_factory: FakeProviderFactory, kind: str, status: int
) -> None:
    upstream, elsewhere = await fake_provider_factory(keys={CANARY: None}), await fake_provider_factory()
    upstream.models_behaviour = Redirect(elsewhere.url + MODELS_PATH[kind], status)
    async with run_lip({"plugins": {"backends": [row("a", upstream, kind)]}}, {"UP_KEY": CANARY}) as lip:
        entry = lip.runtime.inventory.by_prefix["a"]
    assert entry.state == "failed"
    assert f"HTTP {status}" in str(entry.error) and elsewhere.url not in str(entry.error)
    assert len(upstream.requests_to("/models")) == 1
    assert elsewhere.received == []
