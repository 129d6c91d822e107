"""What Anthropic clients need beyond /v1/messages: ``/v1/models`` in the Anthropic list shape (the SDK's
``models.list()`` works), ``count_tokens`` (exact from an Anthropic upstream, estimated elsewhere), and the
``anthropic-version`` / ``anthropic-beta`` headers forwarded to an Anthropic upstream and to no other."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from tests.fakes.conformance import check_anthropic_models, check_openai_models
from tests.integration.matrix import BACKENDS, MODEL, Ask, Rig, ask, matrix_params, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

SELECTORS = {"oc:gpt-4o", "or:gpt-4o", "an:claude-test"}


async def test_models_for_an_anthropic_client(matrix: Rig) -> None:
    listed = [m async for m in matrix.anthropic.models.list()]
    assert {m.id for m in listed} >= SELECTORS
    assert all(m.type == "model" and m.display_name for m in listed)
    headers = {"anthropic-version": "2023-06-01", "x-api-key": "client-key"}
    async with aiohttp.ClientSession() as session, session.get(matrix.lip.url + "/v1/models", headers=headers) as r:
        body = orjson.loads(await r.read())
    assert {m.id for m in check_anthropic_models(body)} >= SELECTORS


async def test_models_for_an_openai_client(matrix: Rig) -> None:
    listed = [m async for m in matrix.openai.models.list()]
    assert {m.id for m in listed} >= SELECTORS
    async with aiohttp.ClientSession() as session, session.get(matrix.lip.url + "/v1/models") as r:
        assert {m.id for m in check_openai_models(orjson.loads(await r.read()))} >= SELECTORS


@pytest.mark.parametrize("backend", BACKENDS)
async def test_count_tokens(matrix: Rig, backend: str) -> None:
    messages = [{"role": "user", "content": "How many tokens is this sentence, roughly?"}]
    counted = await matrix.anthropic.messages.count_tokens(
        model=matrix.selector(backend),
        messages=messages,  # type: ignore[arg-type]
        system="Be brief.",
    )
    assert counted.input_tokens > 0
    sent = [r for r in matrix.fake.received if r.path.endswith("/count_tokens")]
    if backend == "anthropic":  # exact: the upstream's own count, asked with the native model
        (request,) = sent
        assert request.body["model"] == MODEL[backend] and request.body["messages"] == messages
        assert request.headers["anthropic-version"]
        expected = max(1, len(orjson.dumps(["Be brief.", messages, None])) // 4)
        assert counted.input_tokens == expected
    else:  # estimated: nothing is sent
        assert sent == [] and matrix.fake.received == []


BETA = "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"


@matrix_params()
async def test_anthropic_headers(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    headers = {"anthropic-beta": BETA} if client == "messages" else {}
    await ask(matrix, client, backend, stream, Ask([user("hi")], extra={"extra_headers": headers} if headers else {}))
    (request,) = matrix.requests(backend)
    if backend == "anthropic":  # the client's own version, else the one lip speaks
        version = matrix.anthropic.default_headers["anthropic-version"] if client == "messages" else "2023-06-01"
        assert request.headers["anthropic-version"] == version
        assert request.headers.get("anthropic-beta") == (BETA if client == "messages" else None)
    else:
        assert "anthropic-beta" not in request.headers and "anthropic-version" not in request.headers


async def test_count_tokens_forwards_the_beta_header(matrix: Rig) -> None:
    await matrix.anthropic.messages.count_tokens(
        model="an:claude-test",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": BETA},
    )
    (request,) = matrix.fake.received
    assert request.headers["anthropic-beta"] == BETA


async def test_count_tokens_leaves_out_thinking_from_another_provider(matrix: Rig) -> None:
    """Claude Code counts its whole conversation; thinking a Chat upstream produced (no signature) would be refused."""
    signed = {"type": "thinking", "thinking": "mine", "signature": "EqQBsig"}
    foreign = {"type": "thinking", "thinking": "from a Chat upstream", "signature": ""}
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [foreign, {"type": "text", "text": "a"}]},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": [signed, {"type": "text", "text": "b"}]},
        {"role": "user", "content": "q3"},
    ]
    counted = await matrix.anthropic.messages.count_tokens(model="an:claude-test", messages=messages)  # type: ignore[arg-type]
    assert counted.input_tokens > 0
    (request,) = matrix.fake.received
    assert request.body["messages"][1]["content"] == [{"type": "text", "text": "a"}]
    assert request.body["messages"][3]["content"] == [signed, {"type": "text", "text": "b"}]
