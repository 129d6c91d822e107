"""Context windows through a real lip: an upstream that refuses the prompt as too long fails over to the next leaf
before anything reaches the client; a leaf whose model's window is known to be too small is never called; when no
leaf can take the prompt the client gets the Go project's 413, in its own protocol's shape."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip

GO_413 = "request exceeds context limits for all configured model routes"
TOO_LONG_OPENAI = Fail(
    400,
    {
        "error": {
            "message": "This model's maximum context length is 8192 tokens. However, your messages resulted in "
            "9000 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    },
)
TOO_LONG_ANTHROPIC = Fail(
    400,
    {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "prompt is too long: 9000 tokens > 8192 maximum"},
    },
)
ANTHROPIC_KIND = "custom-anthropic-compatible"
LONG = "word " * 4000  # about 5,000 tokens by lip's estimate, 20,000 bytes


def row(name: str, fake: FakeProvider, window: int | None = None, **config: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"native_id": "m"}
    if window is not None:
        item["context_window"] = window
    suffix = "" if config.get("kind") == ANTHROPIC_KIND else "/v1"
    return backend_row(name, fake.url + suffix, models={"source": "inline", "items": [item]}, **config)


def config(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"plugins": {"backends": list(rows)}}


async def chat(lip: LipServer, model: str, text: str = "hi") -> tuple[str, str | None]:
    raw = await lip.openai().chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return raw.parse().choices[0].message.content or "", raw.headers.get("x-lip-backend")


@pytest.fixture
async def pair(fake_provider_factory: FakeProviderFactory) -> tuple[FakeProvider, FakeProvider]:
    return await fake_provider_factory(), await fake_provider_factory()


async def test_an_upstream_that_says_the_prompt_is_too_long_fails_over(
    pair: tuple[FakeProvider, FakeProvider],
) -> None:
    small, large = pair
    small.queue(TOO_LONG_OPENAI)
    large.queue(Turn(text="from the large one"))
    async with run_lip(config(row("small", small, circuit_failures=1), row("large", large))) as lip:
        assert await chat(lip, "small:m|large:m") == ("from the large one", "large:m")
        small.queue(TOO_LONG_OPENAI)  # and it says nothing about the leaf's health: its circuit stays closed
        large.queue(Turn(text="again"))
        assert await chat(lip, "small:m|large:m") == ("again", "large:m")
        assert lip.runtime.health.describe() == {}
    assert len(small.requests_to("/chat/completions")) == 2  # tried again: not skipped as an open circuit


async def test_an_anthropic_prompt_too_long_fails_over_for_an_anthropic_client(
    pair: tuple[FakeProvider, FakeProvider],
) -> None:
    small, large = pair
    small.queue(TOO_LONG_ANTHROPIC)
    large.queue(Turn(text="from the large one"))
    rows = (row("small", small, kind=ANTHROPIC_KIND), row("large", large, kind=ANTHROPIC_KIND))
    async with run_lip(config(*rows)) as lip:
        message = await lip.anthropic().messages.create(
            model="small:m|large:m", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content[0].type == "text" and message.content[0].text == "from the large one"
    assert len(large.requests_to("/messages")) == 1


async def test_when_every_upstream_says_too_long_the_client_gets_the_go_projects_413(
    pair: tuple[FakeProvider, FakeProvider],
) -> None:
    small, large = pair
    small.queue(TOO_LONG_OPENAI)
    large.queue(TOO_LONG_OPENAI)
    async with run_lip(config(row("small", small), row("large", large))) as lip:
        with pytest.raises(openai.APIStatusError) as refused:
            await chat(lip, "small:m|large:m")
    assert refused.value.status_code == 413
    assert refused.value.body == {
        "message": GO_413,
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }


async def test_a_leaf_whose_window_is_known_too_small_is_never_called(
    pair: tuple[FakeProvider, FakeProvider],
) -> None:
    small, large = pair
    large.queue(Turn(text="large"), Turn(text="small enough"))
    async with run_lip(config(row("small", small, window=1000), row("large", large, window=100_000))) as lip:
        assert await chat(lip, "small:m|large:m", LONG) == ("large", "large:m")
        small.queue(Turn(text="small"))
        assert await chat(lip, "small:m|large:m", "hi") == ("small", "small:m")
    assert len(small.requests_to("/chat/completions")) == 1  # only the short prompt
    assert len(large.requests_to("/chat/completions")) == 1


async def test_no_leaf_large_enough_is_a_413_in_each_clients_shape(pair: tuple[FakeProvider, FakeProvider]) -> None:
    small, _ = pair
    async with run_lip(config(row("small", small, window=1000))) as lip:
        with pytest.raises(openai.APIStatusError) as chat_refused:
            await chat(lip, "small:m", LONG)
        with pytest.raises(anthropic.APIStatusError) as messages_refused:
            await lip.anthropic().messages.create(
                model="small:m", max_tokens=10, messages=[{"role": "user", "content": LONG}]
            )
        with pytest.raises(openai.APIStatusError) as responses_refused:
            await lip.openai().responses.create(model="small:m", input=LONG)
    assert chat_refused.value.status_code == 413
    assert messages_refused.value.status_code == 413
    assert messages_refused.value.body == {
        "type": "error",
        "error": {"type": "request_too_large", "message": GO_413},
        "request_id": messages_refused.value.body["request_id"],  # type: ignore[index]
    }
    assert responses_refused.value.status_code == 413
    assert responses_refused.value.body["message"] == GO_413  # type: ignore[index]
    assert small.received == []


async def test_max_and_min_context_route_by_the_prompts_size(pair: tuple[FakeProvider, FakeProvider]) -> None:
    small, large = pair
    small.responder = lambda view: Turn(text="small")
    large.responder = lambda view: Turn(text="large")
    async with run_lip(config(row("small", small), row("large", large))) as lip:
        route = "[max_context=1k]small:m|[min_context=1k]large:m"
        assert await chat(lip, route, "hi") == ("small", "small:m")  # too small for large's min_context
        assert await chat(lip, route, LONG) == ("large", "large:m")  # too large for small's max_context
        with pytest.raises(openai.APIStatusError) as refused:
            await chat(lip, "[max_context=1k]small:m", LONG)
    assert refused.value.status_code == 413
    assert len(small.requests_to("/chat/completions")) == 1
    assert len(large.requests_to("/chat/completions")) == 1
