"""API keys from the environment reach the upstream in each kind's auth style and rotate: round-robin, a 401
disables a key, a 403 moves on, a 429 cools a key for Retry-After; the client's own credential never travels."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes import Fail, FakeProvider, Turn
from tests.harness import CANARY, LipServer, backend_row, run_lip

CHAT = "custom-openai-legacy-compatible"
RESPONSES = "custom-openai-responses-compatible"
ANTHROPIC = "custom-anthropic-compatible"
STATIC = {"source": "inline", "items": [{"native_id": "gpt-4o-mini"}]}  # no discovery call to disturb the order
CLIENT_KEY = "client-own-key-should-stay-home"


def config(fake: FakeProvider, key_root: str | None = "P_KEY", **extra: Any) -> dict[str, Any]:
    row = backend_row("p", fake.url + "/v1", key_root=key_root, models=STATIC, **extra)
    return {"plugins": {"backends": [row]}}


def bearer_keys(fake: FakeProvider) -> list[str]:
    return [r.headers.get("Authorization", "").removeprefix("Bearer ") for r in fake.requests_to("/chat/completions")]


async def ask(lip: LipServer) -> str | None:
    client = lip.openai(api_key=CLIENT_KEY)
    completion = await client.chat.completions.create(
        model="p:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    return completion.choices[0].message.content


def assert_client_key_not_forwarded(fake: FakeProvider) -> None:
    for received in fake.received:
        assert all(CLIENT_KEY not in value for value in received.headers.values()), received.headers


async def test_openai_chat_kind_sends_a_bearer_key(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {CANARY: None}
    async with run_lip(config(fake_provider), {"P_KEY": f"  {CANARY}\n"}) as lip:
        assert await ask(lip) == "Hello from fake"
    [sent] = fake_provider.requests_to("/chat/completions")
    assert sent.headers["Authorization"] == f"Bearer {CANARY}"
    assert "x-api-key" not in sent.headers
    assert_client_key_not_forwarded(fake_provider)


@pytest.mark.parametrize(
    ("kind", "suffix", "models_path"),
    [(CHAT, "/v1", "/v1/models"), (RESPONSES, "/v1", "/v1/models"), (ANTHROPIC, "", "/v1/models")],
)
async def test_discovery_uses_each_kinds_auth_style(
    fake_provider: FakeProvider, kind: str, suffix: str, models_path: str
) -> None:
    fake_provider.keys = {CANARY: None}
    row = backend_row("p", fake_provider.url + suffix, kind=kind, key_root="P_KEY")
    async with run_lip({"plugins": {"backends": [row]}}, {"P_KEY": CANARY}) as lip:
        assert lip.runtime.inventory.by_prefix["p"].state == "ready"
    [listing] = fake_provider.requests_to("/models")
    assert listing.path == models_path
    if kind == ANTHROPIC:
        assert listing.headers["x-api-key"] == CANARY
        assert listing.headers["anthropic-version"]
        assert "Authorization" not in listing.headers
    else:
        assert listing.headers["Authorization"] == f"Bearer {CANARY}"
        assert "x-api-key" not in listing.headers


async def test_the_anthropic_kind_sends_x_api_key_on_messages(fake_provider: FakeProvider) -> None:
    pytest.importorskip("lip.protocols.anthropic_messages")
    fake_provider.keys = {CANARY: None}
    row = backend_row(
        "ant",
        fake_provider.url,
        kind=ANTHROPIC,
        key_root="ANT_KEY",
        models={"source": "inline", "items": [{"native_id": "claude-test"}]},
    )
    async with run_lip({"plugins": {"backends": [row]}}, {"ANT_KEY": CANARY}) as lip:
        client = lip.openai(api_key=CLIENT_KEY)
        completion = await client.chat.completions.create(
            model="ant:claude-test", messages=[{"role": "user", "content": "hi"}], max_tokens=50
        )
    assert completion.choices[0].message.content == "Hello from fake"
    [sent] = fake_provider.requests_to("/v1/messages")
    assert sent.headers["x-api-key"] == CANARY and sent.headers["anthropic-version"]
    assert "Authorization" not in sent.headers
    assert_client_key_not_forwarded(fake_provider)


@pytest.mark.parametrize("kind", [CHAT, ANTHROPIC])
async def test_no_key_root_means_no_auth_header(fake_provider: FakeProvider, kind: str) -> None:
    row = backend_row("p", fake_provider.url + ("/v1" if kind == CHAT else ""), kind=kind)
    async with run_lip({"plugins": {"backends": [row]}}, {"P_KEY": CANARY}) as lip:
        if kind == CHAT:
            assert await ask(lip) == "Hello from fake"
    assert fake_provider.received
    for received in fake_provider.received:
        assert "Authorization" not in received.headers and "x-api-key" not in received.headers
    assert_client_key_not_forwarded(fake_provider)


async def test_keys_are_used_round_robin(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"key-a": None, "key-b": None, "key-c": None}
    env = {"P_KEY": "key-a", "P_KEY_2": "key-b", "P_KEY_3": "key-c", "P_KEY_5": "never-read"}
    async with run_lip(config(fake_provider), env) as lip:
        for _ in range(5):
            await ask(lip)
    assert bearer_keys(fake_provider) == ["key-a", "key-b", "key-c", "key-a", "key-b"]


async def test_a_401_disables_the_key_and_the_request_moves_on(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"key-a": Fail(401), "key-b": None}
    async with run_lip(config(fake_provider), {"P_KEY": "key-a", "P_KEY_2": "key-b"}) as lip:
        for _ in range(4):
            assert await ask(lip) == "Hello from fake"
        keys = lip.runtime.backends["p"].diagnostics()["keys"]
    assert bearer_keys(fake_provider) == ["key-a", "key-b", "key-b", "key-b", "key-b"]
    assert keys[0]["disabled"] is True and keys[1]["disabled"] is False


async def test_a_disabled_key_comes_back_with_a_new_runtime(fake_provider: FakeProvider) -> None:
    """'Until the config is reloaded': key state lives in the runtime that a reload replaces."""
    fake_provider.keys = {"key-a": Fail(401), "key-b": None}
    env = {"P_KEY": "key-a", "P_KEY_2": "key-b"}
    async with run_lip(config(fake_provider), env) as lip:
        await ask(lip)
    async with run_lip(config(fake_provider), env) as lip:
        assert all(not k["disabled"] for k in lip.runtime.backends["p"].diagnostics()["keys"])


async def test_a_403_moves_the_request_to_the_next_key_without_disabling(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"key-a": Fail(403), "key-b": None}
    async with run_lip(config(fake_provider), {"P_KEY": "key-a", "P_KEY_2": "key-b"}) as lip:
        for _ in range(3):
            assert await ask(lip) == "Hello from fake"
        keys = lip.runtime.backends["p"].diagnostics()["keys"]
    assert bearer_keys(fake_provider) == ["key-a", "key-b", "key-b", "key-a", "key-b"]
    assert not keys[0]["disabled"] and keys[0]["cooling_s"] == 0


@pytest.mark.parametrize(("headers", "cooldown"), [({"Retry-After": "30"}, 30.0), ({}, 60.0)])
async def test_a_429_cools_the_key_for_retry_after_and_moves_on(
    fake_provider: FakeProvider, headers: dict[str, str], cooldown: float
) -> None:
    fake_provider.keys = {"key-a": Fail(429, headers=headers), "key-b": None}
    async with run_lip(config(fake_provider), {"P_KEY": "key-a", "P_KEY_2": "key-b"}) as lip:
        for _ in range(3):
            assert await ask(lip) == "Hello from fake"
        keys = lip.runtime.backends["p"].diagnostics()["keys"]
    assert bearer_keys(fake_provider) == ["key-a", "key-b", "key-b", "key-b"]
    assert not keys[0]["disabled"]
    assert cooldown - 5 < keys[0]["cooling_s"] <= cooldown


async def test_when_every_key_fails_the_client_gets_the_last_upstream_error(fake_provider: FakeProvider) -> None:
    limited = {"error": {"message": "Rate limit reached for key b", "type": "requests", "code": "rate_limit_exceeded"}}
    fake_provider.keys = {"key-a": Fail(401), "key-b": Fail(429, limited, {"Retry-After": "7"})}
    async with run_lip(config(fake_provider), {"P_KEY": "key-a", "P_KEY_2": "key-b"}) as lip:
        with pytest.raises(openai.RateLimitError) as caught:
            await ask(lip)
    error = caught.value
    assert error.status_code == 429
    assert isinstance(error.body, dict) and error.body["message"] == "Rate limit reached for key b"
    assert set(error.body) == {"message", "type", "param", "code"}
    assert error.response.headers["Retry-After"] == "7"
    assert bearer_keys(fake_provider) == ["key-a", "key-b"]


async def test_when_the_only_key_is_refused_the_client_sees_the_upstream_401_message(
    fake_provider: FakeProvider,
) -> None:
    fake_provider.keys = {"the-right-key": None}
    async with run_lip(config(fake_provider), {"P_KEY": CANARY}) as lip:
        with pytest.raises(openai.AuthenticationError) as caught:
            await ask(lip)
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict) and "Incorrect API key" in caught.value.body["message"]
    assert CANARY not in str(caught.value.body)


async def test_the_client_credential_is_never_forwarded_even_without_keys(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, key_root=None)) as lip:
        client = lip.openai(api_key=CLIENT_KEY, default_headers={"x-api-key": CLIENT_KEY})
        await client.chat.completions.create(model="p:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert_client_key_not_forwarded(fake_provider)
    assert "Authorization" not in fake_provider.last.headers


async def test_a_stream_rotates_before_the_first_byte(fake_provider: FakeProvider) -> None:
    fake_provider.keys = {"key-a": Fail(429), "key-b": None}
    fake_provider.queue(Turn(text="streamed fine", chunks=3))
    async with run_lip(config(fake_provider), {"P_KEY": "key-a", "P_KEY_2": "key-b"}) as lip:
        client = lip.openai()
        stream = await client.chat.completions.create(
            model="p:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "streamed fine"
    assert bearer_keys(fake_provider) == ["key-a", "key-b"]
