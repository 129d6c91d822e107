"""``/v1/messages/count_tokens`` runs the plan's leaves with the same failover as a message: an upstream that fails
before answering passes the count to the next leaf (exact from an Anthropic one, estimated from any other); the
client's own mistake is answered at once."""

from __future__ import annotations

from typing import Any

import anthropic
import orjson
import pytest

from lip.tokenizer import MESSAGE_OVERHEAD
from lip.tokenizer import encoding as tiktoken_encoding
from tests.fakes import Fail, FakeProvider
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row, free_port, run_lip

ANTHROPIC = "custom-anthropic-compatible"
CHAT = "custom-openai-legacy-compatible"
MESSAGES = [{"role": "user", "content": "How many tokens is this sentence, roughly?"}]
FAST = {"connect_s": 0.5, "first_byte_s": 2, "idle_s": 2, "total_s": 5}


def row(name: str, url: str, kind: str = ANTHROPIC, **config: Any) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    return backend_row(name, url, kind=kind, models=models, timeouts=FAST, **config)


def counts(fake: FakeProvider) -> int:
    return len(fake.requests_to("/v1/messages/count_tokens"))


async def count(lip: Any, model: str) -> tuple[int, str | None]:
    raw = await lip.anthropic().messages.with_raw_response.count_tokens(model=model, messages=MESSAGES)
    return (await raw.parse()).input_tokens, raw.headers.get("x-lip-backend")


@pytest.mark.parametrize("failure", [Fail(503), Fail(529), Fail(401)], ids=["503", "529", "401"])
async def test_a_failed_count_fails_over_to_the_next_anthropic_leaf(
    fake_provider_factory: FakeProviderFactory, failure: Fail
) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.keys = {"key-a": failure}  # every count at a is answered with the failure
    rows = [row("a", a.url, key_root="A_KEY"), row("b", b.url)]
    async with run_lip({"plugins": {"backends": rows}}, {"A_KEY": "key-a"}) as lip:
        tokens, served_by = await count(lip, "a:m|b:m")
        assert served_by == "b:m"
        assert counts(a) == 1 and counts(b) == 1
        (asked,) = b.requests_to("/v1/messages/count_tokens")
        assert asked.body["model"] == "m" and asked.body["messages"] == MESSAGES
        assert tokens == max(1, len(orjson.dumps([None, MESSAGES, None])) // 4)  # b's own count, exact
        assert lip.runtime.health.describe() == {}  # a count says nothing about the leaf's messages


async def test_an_unreachable_leaf_passes_the_count_to_an_estimating_one(fake_provider: FakeProvider) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    rows = [row("a", dead), row("c", fake_provider.url + "/v1", kind=CHAT)]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        tokens, served_by = await count(lip, "a:m|c:m")
    assert served_by == "c:m" and tokens > 0
    assert fake_provider.received == []  # estimated: a Chat upstream has no count to ask


async def test_the_client_s_own_mistake_is_not_failed_over(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.keys = {"key-a": Fail(400)}
    rows = [row("a", a.url, key_root="A_KEY"), row("b", b.url)]
    async with run_lip({"plugins": {"backends": rows}}, {"A_KEY": "key-a"}) as lip:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await count(lip, "a:m|b:m")
    assert caught.value.status_code == 400
    assert counts(a) == 1 and counts(b) == 0


async def test_every_leaf_failing_answers_the_last_error(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    a.keys, b.keys = {"key-a": Fail(503)}, {"key-b": Fail(502)}
    rows = [row("a", a.url, key_root="A_KEY"), row("b", b.url, key_root="B_KEY")]
    async with run_lip({"plugins": {"backends": rows}}, {"A_KEY": "key-a", "B_KEY": "key-b"}) as lip:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await count(lip, "a:m|b:m")
    assert caught.value.status_code == 502
    assert counts(a) == 1 and counts(b) == 1


TEXT = "東京の天気はどうですか？ Übersetze bitte ins Deutsche."


@pytest.mark.parametrize("tokenizer", [None, "cl100k_base", "O200K_BASE"])
async def test_a_non_anthropic_backend_counts_with_its_tokenizer(
    fake_provider: FakeProvider, tokenizer: str | None
) -> None:
    """The estimate is tiktoken's count of the text with the row's ``tokenizer`` (default o200k_base), plus one
    message's framing; nothing goes upstream."""
    extra = {"tokenizer": tokenizer} if tokenizer else {}
    rows = [row("c", fake_provider.url + "/v1", kind=CHAT, **extra)]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        counted = await lip.anthropic().messages.count_tokens(model="c:m", messages=[{"role": "user", "content": TEXT}])
    name = (tokenizer or "o200k_base").lower()
    assert counted.input_tokens == len(tiktoken_encoding(name).encode_ordinary(TEXT)) + MESSAGE_OVERHEAD
    assert fake_provider.received == []
