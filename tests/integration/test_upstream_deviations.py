""" "Compatible" providers that deviate from their protocol, through every client protocol x backend kind, streamed
and not: the client gets a valid answer or stream (read with the SDKs' own stream helpers), or an error in its own
shape that carries what the upstream said.

- a stream request answered with the whole JSON answer (a server that ignores ``stream: true``) is served as a
  stream, counted as the repair ``whole_body_for_stream``; when that body is an error, the client reads its message;
- an error body framed as SSE (``data: {"error": ...}``, text/event-stream) keeps the upstream's message;
- a non-JSON error body keeps a bounded excerpt, alike in every protocol;
- a 200 whose body is JSON but not an object is an upstream protocol error (502).
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import (
    Action,
    Fail,
    FakeToolCall,
    HtmlErrorPage,
    IgnoreStream,
    NonObjectBody,
    OkWithErrorBody,
    SSEFramedError,
    Turn,
)
from tests.fakes.conformance import (
    check_anthropic_error,
    check_anthropic_stream,
    check_chat_stream,
    check_openai_error,
    check_responses_stream,
)
from tests.integration.matrix import (
    BACKENDS,
    CLIENTS,
    PREFIX,
    STOP,
    Ask,
    Rig,
    Tool,
    ask,
    matrix_params,
    raw_call,
    user,
)
from tests.integration.operate import call

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def repairs(rig: Rig, backend: str) -> float:
    text = (await call(rig.lip.url + "/metrics", method="GET")).body.decode()
    for metric in text_string_to_metric_families(text):
        for s in metric.samples:
            if s.name == "lip_stream_repairs_total" and s.labels == {
                "kind": "whole_body_for_stream",
                "backend": PREFIX[backend],
            }:
                return float(s.value)
    return 0.0


async def client_error(rig: Rig, client: str, backend: str, stream: bool, action: Action) -> tuple[int, str]:
    """(HTTP status, message) of the error the client got, its body checked against the client's error type."""
    rig.fake.queue(action)
    with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as caught:
        await ask(rig, client, backend, stream, Ask([user("hi")]))
    error: Any = caught.value
    if client == "messages":
        return error.status_code, check_anthropic_error(error.body).error.message
    return error.status_code, check_openai_error({"error": error.body}).message


@matrix_params()
async def test_a_whole_json_answer_to_a_stream_request_is_served_as_a_stream(
    matrix: Rig, client: str, backend: str, stream: bool
) -> None:
    before = await repairs(matrix, backend)
    turn = Turn(text="all at once", tool_calls=[FakeToolCall("weather", '{"city": "Oslo"}')])
    matrix.fake.queue(IgnoreStream(turn))
    seen = await ask(matrix, client, backend, stream, Ask([user("weather in Oslo?")], tools=[Tool("weather")]))
    assert bool(matrix.upstream(backend).get("stream")) is stream  # the upstream was asked for a stream
    assert seen.text == "all at once"
    assert [(name, args) for _, name, args in seen.calls] == [("weather", {"city": "Oslo"})]
    assert seen.stop == STOP[client]["tool_use"]
    assert seen.usage["input"] == 10 and seen.usage["output"] == 5
    assert await repairs(matrix, backend) == before + (1 if stream else 0)
    if stream:
        assert seen.events  # the SDK read a stream, and its helper assembled the final object


CHECK_STREAM = {"chat": check_chat_stream, "responses": check_responses_stream, "messages": check_anthropic_stream}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_the_stream_made_from_a_whole_answer_is_valid_on_the_wire(matrix: Rig, client: str, backend: str) -> None:
    matrix.fake.queue(IgnoreStream(Turn(text="all at once")))
    status, raw = await raw_call(matrix, client, backend, True, Ask([user("hi")]))
    assert status == 200
    assert CHECK_STREAM[client](raw)  # every event checked against the SDK's types, the stream complete


@matrix_params()
async def test_an_error_in_a_200_says_what_the_upstream_answered(
    matrix: Rig, client: str, backend: str, stream: bool
) -> None:
    status, message = await client_error(matrix, client, backend, stream, OkWithErrorBody(message="quota exhausted"))
    assert status == 502
    assert "the upstream answered HTTP 200 with an error: quota exhausted" in message


@matrix_params()
@pytest.mark.parametrize("upstream_status", [400, 500])
async def test_an_sse_framed_error_keeps_the_upstream_message(
    matrix: Rig, client: str, backend: str, stream: bool, upstream_status: int
) -> None:
    action = SSEFramedError(upstream_status, "the model is resting")
    status, message = await client_error(matrix, client, backend, stream, action)
    assert status == (400 if upstream_status == 400 else 502)
    assert message == "the model is resting"


@matrix_params()
async def test_a_non_json_error_body_keeps_a_bounded_excerpt(
    matrix: Rig, client: str, backend: str, stream: bool
) -> None:
    text = "upstream connect error or disconnect/reset before headers. reset reason: overflow " + "x" * 5000
    status, message = await client_error(matrix, client, backend, stream, Fail(503, text))
    assert status == 502
    assert message.startswith("the upstream answered HTTP 503: upstream connect error or disconnect/reset")
    assert len(message) < 600


@matrix_params()
async def test_an_html_error_page_is_named_by_its_title(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    status, message = await client_error(matrix, client, backend, stream, HtmlErrorPage(502))
    assert (status, message) == (502, "the upstream answered HTTP 502: 502 Bad Gateway")


@matrix_params()
@pytest.mark.parametrize("payload", [b"[1,2,3]", b'"hello"', b"null", b"42"], ids=["list", "string", "null", "number"])
async def test_a_200_that_is_not_a_json_object_is_an_upstream_error(
    matrix: Rig, client: str, backend: str, stream: bool, payload: bytes
) -> None:
    status, message = await client_error(matrix, client, backend, stream, NonObjectBody(payload))
    assert status == 502
    assert "the upstream answered HTTP 200 with JSON that is not an object" in message
