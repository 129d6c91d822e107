"""Every selector form is honoured or refused: a refusal is a 400 in the client's own protocol shape that says what
is wrong, never a model name sent upstream. The X-LIP-Route header wins over the body's model, and a name no
backend knows (an unknown prefix, or a bare model no inventory lists) takes routing.default_route when one is set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeProvider, Turn
from tests.fakes.conformance import check_anthropic_error, check_openai_error
from tests.harness import LipServer, backend_row, run_lip
from tests.integration.operate import call

USER = [{"role": "user", "content": "hi"}]
PROTOCOLS = {
    "chat": ("/v1/chat/completions", lambda model, stream: {"model": model, "messages": USER, "stream": stream}),
    "responses": ("/v1/responses", lambda model, stream: {"model": model, "input": "hi", "stream": stream}),
    "messages": (
        "/v1/messages",
        lambda model, stream: {"model": model, "max_tokens": 16, "messages": USER, "stream": stream},
    ),
}
REFUSALS = [
    pytest.param("a:m!b:m", False, "needs a streaming request", id="race-without-stream"),
    pytest.param("[thinker]a:m^b:m", True, "[thinker] (the Go project's interleaved thinking", id="thinker"),
    pytest.param("a:m!b:m^a:m", True, "cannot be mixed in one arm", id="race-and-choice"),
    pytest.param("[weight=2]a:m!b:m", True, "[weight] is not valid on a race leg", id="weight-on-race-leg"),
    pytest.param("[handicap=2]a:m|b:m", True, "[handicap] is only valid on a race leg", id="handicap-off-race"),
    pytest.param("a:m|{ttft_timeout=5}b:m", True, "must come before the first leaf", id="late-global-block"),
    pytest.param("{colour=blue}a:m", True, "unknown global parameter 'colour'", id="unknown-global"),
    pytest.param("[speed=9]a:m", True, "unknown annotation 'speed'", id="unknown-annotation"),
    pytest.param("[max_context=big]a:m", True, "positive token count", id="bad-context"),
    pytest.param("a:m?temperature=hot", True, "has the wrong type", id="bad-parameter"),
]


def config(fake: FakeProvider, **routing: Any) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    rows = [backend_row(p, fake.url + "/v1", models=models) for p in ("a", "b")]
    return {"routing": routing, "plugins": {"backends": rows}}


async def post(lip: LipServer, protocol: str, model: str, stream: bool, headers: dict[str, str] | None = None) -> Any:
    path, body = PROTOCOLS[protocol]
    return await call(
        lip.url + path, body(model, stream), headers={"anthropic-version": "2023-06-01", **(headers or {})}
    )


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
@pytest.mark.parametrize(("model", "stream", "says"), REFUSALS)
async def test_every_refusal_is_a_400_in_the_client_s_shape(
    fake_provider: FakeProvider, protocol: str, model: str, stream: bool, says: str
) -> None:
    async with run_lip(config(fake_provider)) as lip:
        reply = await post(lip, protocol, model, stream)
    assert reply.status == 400, reply.body
    if protocol == "messages":
        assert says in check_anthropic_error(reply.json()).error.message
    else:
        error = check_openai_error(reply.json())
        assert says in error.message and error.param == "model"
    assert not fake_provider.requests_to("/chat/completions")  # refused before any upstream was tried


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
async def test_the_route_header_wins_over_the_body_s_model(fake_provider: FakeProvider, protocol: str) -> None:
    fake_provider.queue(Turn(text="routed"))
    async with run_lip(config(fake_provider)) as lip:
        reply = await post(lip, protocol, "some-client-name", False, {"X-LIP-Route": "b:m"})
        bad = await post(lip, protocol, "a:m", False, {"X-LIP-Route": "a:m|"})
    assert reply.status == 200 and reply.headers["x-lip-backend"] == "b:m"
    assert fake_provider.last.body["model"] == "m"
    assert bad.status == 400 and b"invalid model selector 'a:m|'" in bad.body


async def test_unknown_names_take_the_default_route(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, default_route="b:m")) as lip:
        for model in ("zz:m", "no-such-model"):
            reply = await post(lip, "chat", model, False)
            assert reply.status == 200 and reply.headers["x-lip-backend"] == "b:m"
    async with run_lip(config(fake_provider)) as lip:
        reply = await post(lip, "chat", "zz:m", False)
    assert reply.status == 404 and "known prefixes: a, b" in check_openai_error(reply.json()).message
