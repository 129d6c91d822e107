"""A base_url's port and path prefix survive: the upstream sees exactly one slash between prefix and API path."""

from __future__ import annotations

import pytest

from tests.fakes import FakeProvider
from tests.harness import backend_row, run_lip


@pytest.mark.parametrize(
    ("suffix", "chat_path", "models_path"),
    [
        ("/v1", "/v1/chat/completions", "/v1/models"),
        ("/v1/", "/v1/chat/completions", "/v1/models"),
        ("/proxy/openai/v1", "/proxy/openai/v1/chat/completions", "/proxy/openai/v1/models"),
        ("", "/chat/completions", "/models"),
        ("/", "/chat/completions", "/models"),
    ],
)
async def test_openai_chat_kind_paths(
    fake_provider: FakeProvider, suffix: str, chat_path: str, models_path: str
) -> None:
    async with run_lip({"plugins": {"backends": [backend_row("p", fake_provider.url + suffix)]}}) as lip:
        await lip.openai().chat.completions.create(model="p:m", messages=[{"role": "user", "content": "hi"}])
    assert [r.path for r in fake_provider.received] == [models_path, chat_path]


@pytest.mark.parametrize(
    ("kind", "suffix", "models_path"),
    [
        ("custom-openai-responses-compatible", "/gateway/v1/", "/gateway/v1/models"),
        ("custom-anthropic-compatible", "", "/v1/models"),
        ("custom-anthropic-compatible", "/anthropic/", "/anthropic/v1/models"),
    ],
)
async def test_other_kinds_discovery_paths(
    fake_provider: FakeProvider, kind: str, suffix: str, models_path: str
) -> None:
    row = backend_row("p", fake_provider.url + suffix, kind=kind)
    async with run_lip({"plugins": {"backends": [row]}}):
        pass
    assert [r.path for r in fake_provider.received] == [models_path]


# ---------------------------------------------------------------- a base_url with a query string (Azure-style)

QUERY = "api-version=2024-10-21"
USER = [{"role": "user", "content": "hi"}]


def seen(fake: FakeProvider) -> list[tuple[str, str]]:
    """(path, query string) of every request the upstream received, in order."""
    return [(r.path, "&".join(f"{k}={v}" for k, v in r.query.items())) for r in fake.received]


async def test_chat_kind_keeps_the_query_after_the_joined_path(fake_provider: FakeProvider) -> None:
    row = backend_row("p", fake_provider.url + f"/openai/deployments/x/?{QUERY}")
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        await lip.openai().chat.completions.create(model="p:m", messages=USER)
        await lip.anthropic().messages.create(model="p:m", max_tokens=10, messages=USER)  # translated
    assert seen(fake_provider) == [
        ("/openai/deployments/x/models", QUERY),
        ("/openai/deployments/x/chat/completions", QUERY),
        ("/openai/deployments/x/chat/completions", QUERY),
    ]


async def test_responses_kind_keeps_the_query_after_the_joined_path(fake_provider: FakeProvider) -> None:
    row = backend_row("p", fake_provider.url + f"/openai/v1?{QUERY}", kind="custom-openai-responses-compatible")
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        await lip.openai().responses.create(model="p:m", input="hi")
        await lip.openai().chat.completions.create(model="p:m", messages=USER)  # translated
    assert seen(fake_provider) == [
        ("/openai/v1/models", QUERY),
        ("/openai/v1/responses", QUERY),
        ("/openai/v1/responses", QUERY),
    ]


async def test_anthropic_kind_keeps_the_query_on_messages_count_tokens_and_models(
    fake_provider: FakeProvider,
) -> None:
    row = backend_row("p", fake_provider.url + "/anthropic?tenant=t1&region=eu", kind="custom-anthropic-compatible")
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        client = lip.anthropic()
        await client.messages.create(model="p:m", max_tokens=10, messages=USER)
        await client.messages.count_tokens(model="p:m", messages=USER)
        await lip.openai().chat.completions.create(model="p:m", messages=USER)  # translated
    query = "tenant=t1&region=eu"
    assert seen(fake_provider) == [
        ("/anthropic/v1/models", query + "&limit=1000"),  # the paged listing's own parameter after the base's
        ("/anthropic/v1/messages", query),
        ("/anthropic/v1/messages/count_tokens", query),
        ("/anthropic/v1/messages", query),
    ]
