"""A conversation's requests reach the provider with the same API key and, where the backend takes it, the same
``prompt_cache_key`` (a hash of the session, never the client's id): what keeps a provider's prompt cache hitting.
Requests that name no session rotate keys round-robin as before."""

from __future__ import annotations

from typing import Any

import orjson

from lip.routing.affinity import digest
from tests.fakes import FakeProvider
from tests.harness import LipServer, backend_row, run_lip

KEYS = {"P_KEY": "key-one", "P_KEY_2": "key-two", "P_KEY_3": "key-three"}
ORDER = list(KEYS.values())
STATIC = {"source": "inline", "items": [{"native_id": "m"}]}
CLAUDE_SESSION = "23784068-40c1-4c44-b903-bf2275594906"


def config(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    row = backend_row("p", fake.url + "/v1", key_root="P_KEY", models=STATIC, **extra)
    return {"plugins": {"backends": [row]}}


async def ask(lip: LipServer, headers: dict[str, str] | None = None, **body: Any) -> None:
    await lip.openai().chat.completions.create(
        model="p:m", messages=[{"role": "user", "content": "hi"}], extra_headers=headers or {}, **body
    )


def sent(fake: FakeProvider) -> list[tuple[str, Any]]:
    """(the key, the prompt_cache_key) of each chat call the provider received."""
    calls = fake.requests_to("/chat/completions")
    return [(r.headers["Authorization"].removeprefix("Bearer "), r.body.get("prompt_cache_key")) for r in calls]


def key_of(session: str) -> str:
    return ORDER[int(digest("session", session)[:8], 16) % len(ORDER)]


async def test_a_sessions_requests_keep_their_key_and_cache_key(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, prompt_cache_key=True), KEYS) as lip:
        for _ in range(3):
            await ask(lip, {"X-LIP-Session-Id": "alpha"})
        for _ in range(2):
            await ask(lip, {"X-LIP-Session-Id": "gamma"})
    cache_alpha, cache_gamma = "lip-" + digest("session", "alpha"), "lip-" + digest("session", "gamma")
    assert key_of("alpha") != key_of("gamma")
    assert sent(fake_provider) == [(key_of("alpha"), cache_alpha)] * 3 + [(key_of("gamma"), cache_gamma)] * 2
    assert all("alpha" not in r.raw.decode() for r in fake_provider.received)


async def test_requests_without_a_session_rotate_keys_and_send_no_cache_key(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, prompt_cache_key=True), KEYS) as lip:
        for _ in range(3):
            await ask(lip)
    assert sorted(key for key, _ in sent(fake_provider)) == sorted(ORDER)
    assert [cache for _, cache in sent(fake_provider)] == [None] * 3


async def test_a_clients_own_prompt_cache_key_is_kept_and_names_the_session(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, prompt_cache_key=True), KEYS) as lip:
        for _ in range(2):
            await ask(lip, prompt_cache_key="codex-thread-1")
    assert sent(fake_provider) == [(key_of("codex-thread-1"), "codex-thread-1")] * 2


async def test_a_row_that_does_not_take_it_gets_no_cache_key_but_keeps_the_key(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider), KEYS) as lip:  # custom kinds: off unless the row says so
        assert lip.runtime.affinity.cache_keys is False
        for _ in range(2):
            await ask(lip, {"X-LIP-Session-Id": "alpha"})
    assert [cache for _, cache in sent(fake_provider)] == [None, None]


async def test_claude_codes_session_reaches_a_chat_backend_as_its_cache_key(fake_provider: FakeProvider) -> None:
    user_id = orjson.dumps({"device_id": "d", "account_uuid": "", "session_id": CLAUDE_SESSION}).decode()
    async with run_lip(config(fake_provider, prompt_cache_key=True), KEYS) as lip:
        for _ in range(2):
            await lip.anthropic().messages.create(
                model="p:m",
                max_tokens=50,
                messages=[{"role": "user", "content": "hi"}],
                metadata={"user_id": user_id},
                extra_headers={"X-Claude-Code-Session-Id": CLAUDE_SESSION},
            )
    assert sent(fake_provider) == [(key_of(CLAUDE_SESSION), "lip-" + digest("session", CLAUDE_SESSION))] * 2
