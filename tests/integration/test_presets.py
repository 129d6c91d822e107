"""A native preset row with only id, kind and a base_url override reaches the provider in the preset's protocol and
auth style, with keys from the preset's standard variables."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeProvider
from tests.harness import CANARY, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]


def preset(kind: str, url: str, **config: Any) -> dict[str, Any]:
    return {"plugins": {"backends": [{"id": kind, "kind": kind, "config": {"base_url": url, **config}}]}}


def bearers(fake: FakeProvider) -> list[str]:
    return [r.headers.get("Authorization", "") for r in fake.requests_to("/chat/completions")]


async def test_the_openai_preset_uses_its_standard_key(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {CANARY: None}
    async with run_lip(preset("openai", fake_provider.url + "/v1"), {"OPENAI_API_KEY": CANARY}) as lip:
        raw = await lip.openai().chat.completions.with_raw_response.create(model="openai:gpt-4o", messages=MESSAGES)
    assert raw.headers["x-lip-backend"] == "openai:gpt-4o"
    assert raw.parse().choices[0].message.content == "Hello from fake"
    assert bearers(fake_provider) == [f"Bearer {CANARY}"]
    assert fake_provider.requests_to("/chat/completions")[0].path == "/v1/chat/completions"


async def test_numbered_keys_from_one_rotate(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"nv-0": None, "nv-1": None, "nv-2": None}
    env = {"NVIDIA_API_KEY": "nv-0", "NVIDIA_API_KEY_1": "nv-1", "NVIDIA_API_KEY_2": "nv-2"}
    async with run_lip(preset("nvidia", fake_provider.url + "/v1"), env) as lip:
        client = lip.openai()
        for _ in range(3):
            await client.chat.completions.create(model="nvidia:meta/llama-3.1-8b-instruct", messages=MESSAGES)
    assert sorted(bearers(fake_provider)) == ["Bearer nv-0", "Bearer nv-1", "Bearer nv-2"]  # discovery took one turn
    assert fake_provider.requests_to("/chat/completions")[0].body["model"] == "meta/llama-3.1-8b-instruct"


async def test_a_preset_with_its_own_prefix_and_key_root(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {CANARY: None}
    cfg = preset("openrouter", fake_provider.url + "/api/v1", backend_prefix="or", api_key_env_var_root="WORK_OR")
    async with run_lip(cfg, {"WORK_OR_1": CANARY, "OPENROUTER_API_KEY": "not-this-one"}) as lip:
        await lip.openai().chat.completions.create(model="or:anthropic/claude-3.5-sonnet", messages=MESSAGES)
    assert bearers(fake_provider) == [f"Bearer {CANARY}"]
    assert fake_provider.requests_to("/chat/completions")[0].path == "/api/v1/chat/completions"


async def test_a_local_preset_sends_no_key(fake_provider: FakeProvider) -> None:
    async with run_lip(preset("ollama", fake_provider.url + "/v1"), {"OPENAI_API_KEY": CANARY}) as lip:
        await lip.openai().chat.completions.create(model="ollama:llama3:8b", messages=MESSAGES)
    assert bearers(fake_provider) == [""]
    assert fake_provider.requests_to("/chat/completions")[0].body["model"] == "llama3:8b"


async def test_the_anthropic_preset_sends_its_key_as_x_api_key(fake_provider: FakeProvider) -> None:
    pytest.importorskip("lip.protocols.anthropic_messages")
    fake_provider.keys = {CANARY: None}
    async with run_lip(preset("anthropic", fake_provider.url), {"ANTHROPIC_API_KEY": CANARY}) as lip:
        completion = await lip.openai().chat.completions.create(
            model="anthropic:claude-test", messages=MESSAGES, max_tokens=50
        )
    assert completion.choices[0].message.content == "Hello from fake"
    [sent] = fake_provider.requests_to("/v1/messages")
    assert sent.headers["x-api-key"] == CANARY and "Authorization" not in sent.headers


async def test_the_openai_preset_asks_for_max_completion_tokens(fake_provider: FakeProvider) -> None:
    """OpenAI's reasoning models refuse max_tokens; a translated request to the openai preset uses its own field."""
    async with run_lip(preset("openai", fake_provider.url + "/v1"), {"OPENAI_API_KEY": CANARY}) as lip:
        await lip.anthropic().messages.create(model="openai:o4-mini", max_tokens=300, messages=MESSAGES)
    sent = fake_provider.requests_to("/chat/completions")[-1].body
    assert sent["max_completion_tokens"] == 300 and "max_tokens" not in sent
