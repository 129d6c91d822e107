"""Ordered failover: the next leaf is tried only when the previous one failed before anything reached the client,
and only for failures another leaf can fix; the response names the leaf that served it; the log says why each
abandoned attempt was abandoned."""

from __future__ import annotations

import logging
import random
from collections import Counter
from typing import Any

import openai
import pytest

from tests.fakes import (
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeProvider,
    HtmlErrorPage,
    Stall,
    Turn,
)
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, free_port, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
FAST = {"connect_s": 0.5, "first_byte_s": 0.3, "idle_s": 0.3, "total_s": 5}


def row(name: str, url: str, **config: Any) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    return backend_row(name, url + "/v1", models=models, timeouts=FAST, **config)


def config(*rows: dict[str, Any], **routing: Any) -> dict[str, Any]:
    return {"routing": routing, "plugins": {"backends": list(rows)}}


async def ask(
    lip: LipServer, model: str, *, stream: bool = False, client: openai.AsyncOpenAI | None = None
) -> tuple[str, str | None]:
    """The answer's text and the x-lip-backend header."""
    client = client or lip.openai()
    raw = await client.chat.completions.with_raw_response.create(model=model, messages=MESSAGES, stream=stream)
    if stream:
        text = "".join([c.choices[0].delta.content or "" async for c in raw.parse() if c.choices])
    else:
        text = raw.parse().choices[0].message.content or ""
    return text, raw.headers.get("x-lip-backend")


def calls(fake: FakeProvider) -> int:
    return len(fake.requests_to("/chat/completions"))


@pytest.fixture
async def pair(fake_provider_factory: FakeProviderFactory) -> tuple[FakeProvider, FakeProvider]:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    b.queue(Turn(text="bravo bravo"), Turn(text="bravo bravo"))
    return a, b


TRIGGERS = [
    pytest.param(Fail(500), id="500"),
    pytest.param(Fail(502), id="502"),
    pytest.param(Fail(503), id="503"),
    pytest.param(Fail(529), id="529"),
    pytest.param(Fail(408), id="408"),
    pytest.param(Fail(429), id="429-no-keys"),
    pytest.param(HtmlErrorPage(502), id="html-502"),
    pytest.param(Stall(2.0), id="first-byte-timeout"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("failure", TRIGGERS)
async def test_fails_over_on(pair: tuple[FakeProvider, FakeProvider], failure: Any, stream: bool) -> None:
    a, b = pair
    a.queue(failure)
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        assert await ask(lip, "a:m|b:m", stream=stream) == ("bravo bravo", "b:m")
    assert calls(a) == 1 and calls(b) == 1


async def test_fails_over_on_429_once_the_leaf_s_keys_are_exhausted(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.keys = {"k1": Fail(429, headers={"Retry-After": "20"}), "k2": Fail(429)}
    env = {"A_KEY": "k1", "A_KEY_2": "k2"}
    async with run_lip(config(row("a", a.url, key_root="A_KEY"), row("b", b.url)), env) as lip:
        assert await ask(lip, "a:m|b:m") == ("bravo bravo", "b:m")
    assert calls(a) == 2  # both keys were tried first


async def test_fails_over_when_the_leaf_does_not_know_the_model(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.strict_models, a.models = True, ["something-else"]
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        assert await ask(lip, "a:m|b:m") == ("bravo bravo", "b:m")


async def test_fails_over_on_connect_errors(pair: tuple[FakeProvider, FakeProvider]) -> None:
    _, b = pair
    closed = f"http://127.0.0.1:{free_port()}"
    async with run_lip(config(row("a", closed), row("b", b.url))) as lip:
        assert await ask(lip, "a:m|b:m", stream=True) == ("bravo bravo", "b:m")


async def test_fails_over_on_a_stream_that_ends_before_its_first_event(
    pair: tuple[FakeProvider, FakeProvider],
) -> None:
    a, b = pair
    a.queue(DisconnectAfter(0))
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        assert await ask(lip, "a:m|b:m", stream=True) == ("bravo bravo", "b:m")


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, openai.BadRequestError), (413, openai.APIStatusError), (422, openai.UnprocessableEntityError)],
)
async def test_never_fails_over_on_the_client_s_mistakes(
    pair: tuple[FakeProvider, FakeProvider], status: int, error: type[openai.APIStatusError]
) -> None:
    a, b = pair
    a.queue(Fail(status))
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        with pytest.raises(error) as caught:
            await ask(lip, "a:m|b:m")
    assert caught.value.status_code == status
    assert calls(b) == 0


@pytest.mark.parametrize(
    "fault",
    [
        DisconnectAfter(2, Turn(text="alpha alpha alpha alpha", chunks=4)),
        ErrorMidStream(2, turn=Turn(text="alpha alpha alpha alpha", chunks=4)),
    ],
    ids=["disconnect", "provider-error-event"],
)
async def test_never_fails_over_after_the_first_byte(pair: tuple[FakeProvider, FakeProvider], fault: Any) -> None:
    a, b = pair
    a.queue(fault)
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        client = lip.openai()
        stream = await client.chat.completions.create(model="a:m|b:m", messages=MESSAGES, stream=True)
        seen: list[str] = []
        with pytest.raises(openai.APIError):
            async for chunk in stream:
                seen.extend(c.delta.content or "" for c in chunk.choices)
    text = "".join(seen)
    assert text and "alpha alpha alpha alpha".startswith(text)  # one provider's text, never a mix
    assert "bravo" not in text and calls(b) == 0


async def test_the_header_names_the_leaf_and_the_log_every_abandoned_attempt(
    fake_provider_factory: FakeProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = [await fake_provider_factory() for _ in range(3)]
    a.queue(Fail(503))
    b.queue(Stall(2.0))
    c.queue(Turn(text="charlie"))
    cfg = config(row("a", a.url), row("b", b.url), row("c", c.url))
    with caplog.at_level(logging.INFO, logger="lip.routing"):
        async with run_lip(cfg) as lip:
            assert await ask(lip, "a:m|b:m|c:m") == ("charlie", "c:m")
    abandoned = [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(abandoned) == 2
    assert "attempt 1/3 at a:m abandoned (http_503)" in abandoned[0] and "failing over to b:m" in abandoned[0]
    assert "attempt 2/3 at b:m abandoned (upstream_timeout)" in abandoned[1] and "first byte" in abandoned[1]
    assert "failing over to c:m" in abandoned[1]


async def test_the_last_leaf_s_error_reaches_the_client(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.queue(Fail(503))
    b.script[:] = [Fail(502)]
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        with pytest.raises(openai.InternalServerError) as caught:
            await ask(lip, "a:m|b:m")
    assert caught.value.status_code == 502


async def test_weights_are_observed_within_tolerance(fake_provider_factory: FakeProviderFactory) -> None:
    a, b = await fake_provider_factory(), await fake_provider_factory()
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        lip.runtime.planner.rng = random.Random(5)
        client = lip.openai()
        served = Counter([(await ask(lip, "[weight=3]a:m^[weight=1]b:m", client=client))[1] for _ in range(120)])
    assert 75 <= served["a:m"] <= 105 and served["a:m"] + served["b:m"] == 120


async def test_a_weighted_leaf_that_fails_is_redrawn_among_the_rest(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.queue(Fail(503))
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        lip.runtime.planner.rng = random.Random(0)
        assert lip.runtime.planner.plan("[weight=1000]a:m^[weight=1]b:m")[0].leaf == "a:m"
        lip.runtime.planner.rng = random.Random(0)
        assert await ask(lip, "[weight=1000]a:m^[weight=1]b:m") == ("bravo bravo", "b:m")


async def test_per_leaf_parameters_override_the_request_s(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.queue(Fail(503))
    async with run_lip(config(row("a", a.url), row("b", b.url))) as lip:
        client = lip.openai()
        await client.chat.completions.create(
            model="a:m?temperature=0.2|b:m?temperature=0.9&max_tokens=77&reasoning_effort=high",
            messages=MESSAGES,
            temperature=0.5,
        )
    assert a.requests_to("/chat/completions")[0].body["temperature"] == 0.2
    sent = b.requests_to("/chat/completions")[0].body
    assert (sent["temperature"], sent["max_tokens"], sent["reasoning_effort"]) == (0.9, 77, "high")


async def test_an_alias_steers_an_unchanged_client(pair: tuple[FakeProvider, FakeProvider]) -> None:
    a, b = pair
    a.queue(Fail(500))
    cfg = config(row("a", a.url), row("b", b.url), model_aliases={"gpt-4o": "a:m|b:m"})
    async with run_lip(cfg) as lip:
        assert await ask(lip, "gpt-4o") == ("bravo bravo", "b:m")


@pytest.mark.parametrize(("model", "position"), [("a:m|", 4), ("a:m^^b:m", 4), ("[weight=x]a:m", 8), ("a:m b:m", 3)])
async def test_a_malformed_selector_is_a_400_pointing_at_the_position(
    fake_provider: FakeProvider, model: str, position: int
) -> None:
    async with run_lip(config(row("a", fake_provider.url))) as lip:
        with pytest.raises(openai.BadRequestError) as caught:
            await ask(lip, model)
    assert f"at position {position}" in caught.value.message
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "model"
    assert calls(fake_provider) == 0
