"""Upstream errors reach each client in its own shape, from every backend kind. Before any output: the HTTP status
(4xx as is, 5xx as 502) with OpenAI's ``{"error": {...}}`` or Anthropic's ``{"type": "error", "error": {...}}`` and the
upstream's message. After output began: Chat ``data: {"error": ...}`` without ``[DONE]``, Responses
``response.failed``, Anthropic ``event: error``; each stream otherwise valid up to there (checked on the raw bytes)."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import orjson
import pytest

from tests.fakes import ErrorMidStream, Fail, Turn
from tests.fakes.conformance import (
    check_anthropic_error,
    check_anthropic_stream,
    check_chat_stream,
    check_openai_error,
    check_responses_stream,
    parse_sse,
)
from tests.fakes.errors import ApiError, error_body
from tests.integration.matrix import BACKENDS, CLIENTS, SAME, Ask, Rig, ask, matrix_params, raw_call, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

ANTHROPIC_TYPE = {400: "invalid_request_error", 429: "rate_limit_error", 502: "api_error"}
OPENAI_TYPE = {400: "invalid_request_error", 429: None, 502: "server_error"}


def upstream_error(backend: str, status: int) -> Fail:
    error = ApiError(status, f"upstream says no ({status})")
    return Fail(status, error_body("anthropic" if backend == "anthropic" else "openai", error))


@matrix_params()
@pytest.mark.parametrize("status", [400, 429, 500])
async def test_error_before_output(matrix: Rig, client: str, backend: str, stream: bool, status: int) -> None:
    matrix.fake.queue(upstream_error(backend, status))
    with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as caught:
        await ask(matrix, client, backend, stream, Ask([user("hi")]))
    exc: Any = caught.value
    seen_status = status if status < 500 else 502
    assert exc.status_code == seen_status
    if client == "messages":
        assert isinstance(exc, anthropic.APIStatusError)
        body = check_anthropic_error(exc.body)
        assert body.error.message == f"upstream says no ({status})"
        if SAME[backend] != client or status < 500:
            assert body.error.type == ANTHROPIC_TYPE[seen_status]
    else:
        assert isinstance(exc, openai.APIStatusError)
        error = check_openai_error({"error": exc.body})
        assert error.message == f"upstream says no ({status})"
        if OPENAI_TYPE[seen_status] is not None and SAME[backend] != client:
            assert error.type == OPENAI_TYPE[seen_status]


# Stream events each fake sends before the error, so that the client has already seen some text.
AFTER = {"chat": 2, "responses": 5, "anthropic": 4}


def mid_stream(backend: str, status: int = 500) -> ErrorMidStream:
    return ErrorMidStream(AFTER[backend], status, "the model fell over", turn=Turn(text="Once upon a time", chunks=4))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_error_mid_stream_on_the_wire(matrix: Rig, client: str, backend: str) -> None:
    matrix.fake.queue(mid_stream(backend))
    status, raw = await raw_call(matrix, client, backend, True, Ask([user("a story")]))
    assert status == 200
    events = parse_sse(raw)
    if client == "chat":
        before, _, _ = raw.rpartition(b'data: {"error"')
        chunks = check_chat_stream(before, expect_done=False)  # everything up to the error is a valid stream
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        error = events[-1].json()
        assert check_openai_error(error).message == "the model fell over"
        assert all(e.data != "[DONE]" for e in events)
    elif client == "responses":
        check_responses_stream(raw)
        last = events[-1].json()
        assert last["type"] == "response.failed", last
        assert last["response"]["status"] == "failed"
        assert last["response"]["error"]["message"] == "the model fell over"
        assert any(e.event == "response.output_text.delta" for e in events)
    else:
        check_anthropic_stream(raw)
        assert events[-1].event == "error"
        error = check_anthropic_error(events[-1].json())
        assert (error.error.type, error.error.message) == ("api_error", "the model fell over")
        assert any(e.event == "content_block_delta" for e in events)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_error_mid_stream_reaches_the_sdk(matrix: Rig, client: str, backend: str) -> None:
    matrix.fake.queue(mid_stream(backend, 529 if backend == "anthropic" else 500))
    with pytest.raises((openai.APIError, anthropic.APIError, RuntimeError)) as caught:
        await ask(matrix, client, backend, True, Ask([user("a story")]))
    if client == "responses":  # the SDK's helper sees response.failed and reports the missing completion
        assert isinstance(caught.value, RuntimeError) and "response.completed" in str(caught.value)
    else:
        assert "the model fell over" in str(caught.value)


@pytest.mark.parametrize("client", CLIENTS)
async def test_a_responses_stream_cut_before_its_end_is_an_error(matrix: Rig, client: str) -> None:
    """A Responses upstream whose stream stops before response.completed: the client's stream ends in an error."""
    matrix.fake.queue(Turn(text="half a tho", omit_finish_reason=True))
    status, raw = await raw_call(matrix, client, "responses", True, Ask([user("a story")]))
    assert status == 200
    last = parse_sse(raw)[-1]
    if client == "chat":
        assert "error" in orjson.loads(last.data)
    else:
        assert last.event == "error"


async def test_a_passthrough_responses_stream_cut_before_its_end_gets_an_error_event(matrix: Rig) -> None:
    """Same protocol, relayed untouched: a stream that stops short still ends in the client's error event."""
    matrix.fake.queue(Turn(text="half a tho", omit_finish_reason=True))
    status, raw = await raw_call(matrix, "responses", "responses", True, Ask([user("a story")]))
    assert status == 200
    events = parse_sse(raw)
    assert any("half" in e.data for e in events)
    assert events[-1].event == "error"


RATE_LIMITED = {"chat": "rate_limit_exceeded", "responses": "rate_limit_exceeded", "messages": "rate_limit_error"}


@pytest.mark.parametrize("responses_event", ["response.failed", "error"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_a_rate_limit_mid_stream_keeps_its_kind(
    matrix: Rig, client: str, backend: str, responses_event: str
) -> None:
    if responses_event == "error" and backend != "responses":
        pytest.skip("only a Responses upstream has two mid-stream error events")
    fault = ErrorMidStream(
        AFTER[backend],
        429,
        "slow down",
        responses_event,  # type: ignore[arg-type]
        Turn(text="Once upon a time", chunks=4),
    )
    matrix.fake.queue(fault)
    _, raw = await raw_call(matrix, client, backend, True, Ask([user("a story")]))
    last = parse_sse(raw)[-1].json()
    if client == "chat":
        error = last["error"]
        assert "rate_limit" in f"{error['type']} {error['code']}", error
    elif client == "responses":
        error = last["response"]["error"] if last["type"] == "response.failed" else last
        assert error["code"] == RATE_LIMITED[client], last
    else:
        assert last["error"]["type"] == RATE_LIMITED[client], last
    assert "slow down" in orjson.dumps(last).decode()


@pytest.mark.parametrize("client", CLIENTS)
async def test_lips_own_errors_are_in_the_clients_shape(matrix: Rig, client: str) -> None:
    """An unknown backend prefix (404) and a field of the wrong type (400, found when translating), both before
    anything is sent upstream."""
    with pytest.raises((openai.NotFoundError, anthropic.NotFoundError)) as missing:
        await ask(matrix, client, "nope", False, Ask([user("hi")]))
    translated = "chat" if client == "messages" else "anthropic"
    with pytest.raises((openai.BadRequestError, anthropic.BadRequestError)) as bad:
        await ask(matrix, client, translated, False, Ask([user("hi")], extra={"temperature": "hot"}))
    for caught in (missing, bad):
        exc: Any = caught.value
        if client == "messages":
            check_anthropic_error(exc.body)
        else:
            check_openai_error({"error": exc.body})
    assert "temperature" in str(bad.value)
    assert matrix.fake.received == []
