"""The hosted-provider presets (DeepSeek, Kimi, GLM, Qwen, Grok, Mistral, Groq, Together, Fireworks, Cerebras,
DeepInfra, Gemini's OpenAI endpoint, Azure OpenAI), each a row with only id, kind and its base URL moved to a fake
of its protocol: the request path under the preset's own path, the auth header and key variable, the max-tokens
field, and the reasoning round trip of an agent's tool loop (sent back where the provider requires it, never where it
refuses the field). The Anthropic-compatible presets relay an Anthropic client's body untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from lip.backends.presets import BY_KIND
from tests.fakes import FakeProvider, FakeToolCall, Turn
from tests.harness import CANARY, run_lip
from tests.integration.matrix import Ask, Result, Rig, Tool, ask, history, results, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

# kind: (max-tokens field, reasoning field sent back, auth header)
CHAT_PRESETS: dict[str, tuple[str, str, str]] = {
    "deepseek": ("max_tokens", "reasoning_content", "bearer"),
    "moonshot": ("max_tokens", "reasoning_content", "bearer"),
    "zai": ("max_tokens", "reasoning_content", "bearer"),
    "dashscope": ("max_tokens", "reasoning_content", "bearer"),
    "xai": ("max_tokens", "none", "bearer"),
    "mistral": ("max_tokens", "none", "bearer"),
    "groq": ("max_completion_tokens", "none", "bearer"),
    "together": ("max_tokens", "none", "bearer"),
    "fireworks": ("max_tokens", "reasoning_content", "bearer"),
    "cerebras": ("max_completion_tokens", "none", "bearer"),
    "deepinfra": ("max_tokens", "reasoning_content", "bearer"),
    "gemini-openai": ("max_tokens", "none", "bearer"),
    "azure-openai": ("max_completion_tokens", "none", "api-key"),
}
ANTHROPIC_PRESETS = ("deepseek-anthropic", "moonshot-anthropic", "zai-anthropic")
AZURE_PATH = "/openai/v1"  # under the resource endpoint, which AZURE_OPENAI_ENDPOINT gives here


def key_of(kind: str) -> str:
    """Each preset's key is distinct, so a request that used another preset's variable is seen."""
    return f"{CANARY}-{kind}"


def path_of(kind: str) -> str:
    url = BY_KIND[kind].base_url
    return urlsplit(url).path if url else AZURE_PATH


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    async with FakeProvider() as fake:
        rows: list[dict[str, Any]] = [
            {"id": kind, "kind": kind, "config": {"base_url": fake.url + path_of(kind)}}
            for kind in (*CHAT_PRESETS, *ANTHROPIC_PRESETS)
            if kind != "azure-openai"
        ]
        rows.append({"id": "azure-openai", "kind": "azure-openai"})  # its endpoint and version from the env
        env = {str(BY_KIND[kind].key_root): key_of(kind) for kind in CHAT_PRESETS}
        env |= {"AZURE_OPENAI_ENDPOINT": fake.url + "/", "AZURE_OPENAI_API_VERSION": "2025-04-01-preview"}
        async with run_lip({"plugins": {"backends": rows}}, env) as lip:
            yield Rig(fake, lip)


@pytest.fixture
def fake(rig: Rig) -> FakeProvider:
    rig.reset()
    rig.fake.chat_strict_messages = False
    rig.fake.chat_requires_reasoning = False
    return rig.fake


@pytest.mark.parametrize("kind", CHAT_PRESETS)
async def test_a_chat_preset_reaches_its_path_with_its_key_and_fields(rig: Rig, fake: FakeProvider, kind: str) -> None:
    max_field, _, auth = CHAT_PRESETS[kind]
    message = await rig.anthropic.messages.create(
        model=f"{kind}:some-model", max_tokens=300, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text" and message.content[0].text == "Hello from fake"
    [sent] = fake.received[-1:]
    assert sent.path == path_of(kind) + "/chat/completions"
    assert sent.body["model"] == "some-model" and sent.body[max_field] == 300
    assert {"max_tokens", "max_completion_tokens"} - {max_field} - set(sent.body) == {
        "max_tokens",
        "max_completion_tokens",
    } - {max_field}
    if auth == "api-key":
        assert sent.headers["api-key"] == key_of(kind) and "Authorization" not in sent.headers
        assert sent.query["api-version"] == "2025-04-01-preview"
    else:
        assert sent.headers["Authorization"] == f"Bearer {key_of(kind)}" and "api-key" not in sent.headers


@pytest.mark.parametrize("kind", ANTHROPIC_PRESETS)
async def test_an_anthropic_compatible_preset_relays_claude_codes_body(rig: Rig, fake: FakeProvider, kind: str) -> None:
    body: dict[str, Any] = {
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "stop_sequences": ["END"],
    }
    raw = await rig.anthropic.messages.with_raw_response.create(model=f"{kind}:glm-5", **body)
    assert (await raw.parse()).content[0].type == "text"
    [sent] = fake.received[-1:]
    assert sent.path == path_of(kind) + "/v1/messages"
    assert sent.body == {"model": "glm-5", **body}  # relayed as the client wrote it, but for the model
    key = key_of(kind.removesuffix("-anthropic"))  # the Chat preset's variable: one key for both endpoints
    assert sent.headers["x-api-key"] == key and "Authorization" not in sent.headers
    assert raw.headers["x-lip-backend"] == f"{kind}:glm-5"


THOUGHT = "The user wants the weather in Bern: call get_weather."
CALL = FakeToolCall("get_weather", '{"city": "Bern"}', "call_Bern01")
LOOPS = [(kind, client) for kind in CHAT_PRESETS for client in ("messages", "responses")]


@pytest.mark.parametrize(("kind", "client"), LOOPS)
async def test_an_agents_tool_loop_sends_reasoning_back_only_where_the_provider_takes_it(
    rig: Rig, fake: FakeProvider, kind: str, client: str
) -> None:
    """Claude Code (Messages) and Codex (Responses) on each preset: DeepSeek, Kimi, GLM and Qwen in thinking mode
    refuse the second turn without ``reasoning_content`` (the fake's strict mode); Groq, Cerebras, Mistral, Gemini,
    Azure and the others refuse a message field they do not define (the fake's other strict mode)."""
    field = CHAT_PRESETS[kind][1]
    fake.chat_requires_reasoning = field == "reasoning_content"
    fake.chat_strict_messages = field == "none"
    fake.queue(Turn(text="", reasoning=THOUGHT, tool_calls=[CALL]), Turn(text="Bern: 12C."))
    a = Ask([user("weather in Bern?")], tools=[Tool("get_weather")], reasoning=True, max_tokens=8192)
    first = await ask(rig, client, kind, True, a)
    assert [r[0] for r in first.reasoning] == [THOUGHT] and [c[1] for c in first.calls] == ["get_weather"]
    a.messages += [history(client, first), results(Result("call_Bern01", "12C"))]
    second = await ask(rig, client, kind, False, a)
    assert second.text == "Bern: 12C."
    turn = next(m for m in fake.received[-1].body["messages"] if m["role"] == "assistant")
    assert turn.get("reasoning_content") == (THOUGHT if field == "reasoning_content" else None)
    assert "reasoning" not in turn


async def test_the_embedded_default_serves_each_preset_whose_key_is_set() -> None:
    """``DEEPSEEK_API_KEY=... lip serve`` with no config: the preset is listed and served (its base URL moved to the
    fake through DEEPSEEK_BASE_URL, as an operator would for a region or a gateway), next to Azure OpenAI, whose
    endpoint variable is part of its zero-config; a preset whose key is not set is not enabled."""
    async with FakeProvider() as fake:
        fake.models = ["deepseek-v4-pro", "deepseek-v4-flash"]
        env = {
            "DEEPSEEK_API_KEY": key_of("deepseek"),
            "DEEPSEEK_BASE_URL": fake.url + "/deepseek",
            "AZURE_OPENAI_API_KEY": key_of("azure-openai"),
            "AZURE_OPENAI_ENDPOINT": fake.url,
            "MOONSHOT_BASE_URL": fake.url + "/moonshot",  # no MOONSHOT_API_KEY: no moonshot preset
        }
        async with run_lip(None, env) as lip:
            listed = {m.id async for m in lip.openai().models.list()}
            message = await lip.anthropic().messages.create(
                model="deepseek:deepseek-v4-pro", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
            )
            answer = await lip.openai().chat.completions.create(
                model="azure-openai:my-gpt-5-deployment", messages=[{"role": "user", "content": "hi"}]
            )
    assert {"deepseek:deepseek-v4-pro", "deepseek:deepseek-v4-flash", "azure-openai:deepseek-v4-pro"} <= listed
    assert not any(m.startswith("moonshot:") for m in listed) and "local-stub:echo" in listed
    assert message.content[0].type == "text" and answer.choices[0].message.content == "Hello from fake"
    calls = [r for r in fake.received if r.path.endswith("/chat/completions")]
    assert [(r.path, r.body["model"]) for r in calls] == [
        ("/deepseek/chat/completions", "deepseek-v4-pro"),
        ("/openai/v1/chat/completions", "my-gpt-5-deployment"),
    ]
    assert calls[0].headers["Authorization"] == f"Bearer {key_of('deepseek')}"
    assert calls[1].headers["api-key"] == key_of("azure-openai")
    assert lip.settings.from_env == ("deepseek (DEEPSEEK_API_KEY)", "azure-openai (AZURE_OPENAI_API_KEY)")
