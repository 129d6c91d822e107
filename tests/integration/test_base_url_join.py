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
