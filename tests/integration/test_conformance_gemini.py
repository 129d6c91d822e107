"""The matrix's Gemini row and column (with the 3 x 3 of the other test files, 4 x 4): every client protocol to a
Gemini backend and a Gemini client (google-genai) to every backend, stream and not, each client through its official
SDK: text, usage, a long stream, tools and tool results, images, reasoning, a multi-turn tool loop that must keep
Gemini's thought signature, errors and an upstream that disconnects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import DisconnectAfter, ErrorMidStream, Fail, FakeToolCall, FakeUsage, Turn
from tests.fakes import conformance as conf
from tests.integration.matrix import (
    ALL_CLIENTS,
    BACKENDS,
    MODEL,
    PIXEL_PNG,
    STOP,
    Ask,
    Img,
    Result,
    Rig,
    Tool,
    ask,
    history,
    raw_call,
    results,
    upstream_conversation,
    upstream_exchange,
    user,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAIRS = [(c, "gemini") for c in ALL_CLIENTS] + [("gemini", b) for b in BACKENDS]
CASES = [(c, b, s) for c, b in PAIRS for s in (False, True)]
IDS = [f"{c}-{b}-{'stream' if s else 'json'}" for c, b, s in CASES]
gemini_matrix = pytest.mark.parametrize(("client", "backend", "stream"), CASES, ids=IDS)
WEATHER_CALL = FakeToolCall("get_weather", '{"city": "Paris"}', id="call_w1")


def sent_model(rig: Rig, backend: str) -> str:
    """The native model the upstream was asked for: in the URL for Gemini, in the body for the others."""
    if backend == "gemini":
        [request] = rig.requests(backend)
        return request.path.rpartition("/")[2].partition(":")[0]
    return str(rig.upstream(backend)["model"])


@gemini_matrix
async def test_text(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="Hello there, traveller", chunks=4))
    seen = await ask(matrix, client, backend, stream, Ask([user("say hello")], system="Be brief."))
    assert seen.text == "Hello there, traveller"
    assert seen.stop == STOP[client]["end_turn"]
    assert sent_model(matrix, backend) == MODEL[backend]
    system, turns = upstream_conversation(backend, matrix.upstream(backend))
    assert system == "Be brief." and turns == [("user", "say hello")]
    if backend == "gemini":
        [request] = matrix.requests(backend)
        assert request.path.endswith(":streamGenerateContent" if stream else ":generateContent")
        assert (request.query.get("alt") == "sse") is stream


@gemini_matrix
async def test_usage(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="ok", usage=FakeUsage(input_tokens=20, output_tokens=7, cached=4, reasoning=3)))
    seen = await ask(matrix, client, backend, stream, Ask([user("count")], reasoning=True))
    assert (seen.usage["input"], seen.usage["output"], seen.usage["cached"]) == (20, 7, 4)
    assert seen.usage["reasoning"] == 3


@gemini_matrix
async def test_a_long_stream(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    text = "".join(f"word{i} " for i in range(400))
    matrix.fake.queue(Turn(text=text, chunks=200))
    seen = await ask(matrix, client, backend, stream, Ask([user("talk")]))
    assert seen.text == text


@gemini_matrix
async def test_tools_and_tool_results(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    tools = [Tool("get_weather", "The weather in a city")]
    matrix.fake.queue(Turn(text="", tool_calls=[WEATHER_CALL]))
    first = await ask(matrix, client, backend, stream, Ask([user("Weather in Paris?")], tools=tools))
    assert [(name, args) for _, name, args in first.calls] == [("get_weather", {"city": "Paris"})]
    assert first.stop == STOP[client]["tool_use"]
    declared = json.dumps(matrix.upstream(backend))
    assert "get_weather" in declared and "The weather in a city" in declared
    matrix.reset()
    matrix.fake.queue(Turn(text="Sunny, 21 degrees."))
    call_id = first.calls[0][0]
    turns = [user("Weather in Paris?"), history(client, first), results(Result(call_id, "sunny, 21C"))]
    second = await ask(matrix, client, backend, stream, Ask(turns, tools=tools))
    assert second.text == "Sunny, 21 degrees."
    calls, outs = upstream_exchange(backend, matrix.upstream(backend))
    assert [(name, args) for _, name, args in calls] == [("get_weather", {"city": "Paris"})]
    assert [text for _, text, _ in outs] == ["sunny, 21C"]
    assert outs[0][0] == calls[0][0]  # the result answers that call (by id, or by name for Gemini)


@gemini_matrix
async def test_a_tool_loop_keeps_geminis_thought_signature(
    matrix: Rig, client: str, backend: str, stream: bool
) -> None:
    """Gemini refuses a later turn whose function call lost its signature; whatever the client protocol, the
    signature must come back on the call it was issued with."""
    tools = [Tool("get_weather", "The weather in a city")]
    matrix.fake.queue(Turn(text="", reasoning="The user wants Paris.", tool_calls=[WEATHER_CALL]))
    first = await ask(matrix, client, backend, stream, Ask([user("Weather in Paris?")], tools=tools, reasoning=True))
    matrix.reset()
    matrix.fake.queue(Turn(text="Sunny."))
    turns = [user("Weather in Paris?"), history(client, first), results(Result(first.calls[0][0], "sunny"))]
    second = await ask(matrix, client, backend, stream, Ask(turns, tools=tools, reasoning=True))
    assert second.text == "Sunny."
    if backend == "gemini":
        body = matrix.upstream(backend)
        [part] = [p for c in body["contents"] for p in c["parts"] if "functionCall" in p]
        assert part["thoughtSignature"] not in (None, "", "skip_thought_signature_validator")


@gemini_matrix
async def test_images(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="A single pixel."))
    image = Img(data=PIXEL_PNG, media_type="image/png")
    seen = await ask(matrix, client, backend, stream, Ask([user("What is this?", image)]))
    assert seen.text == "A single pixel."
    body = matrix.upstream(backend)
    if client == backend == "gemini":  # relayed as the SDK sent it: base64url, snake_case (Google reads both)
        assert PIXEL_PNG.replace("+", "-").replace("/", "_") in json.dumps(body)
    else:  # translated: standard base64, which OpenAI and Anthropic require
        assert PIXEL_PNG in json.dumps(body)
    if backend == "gemini" and client != "gemini":
        parts = body["contents"][0]["parts"]
        assert {"inlineData": {"mimeType": "image/png", "data": PIXEL_PNG}} in parts


@gemini_matrix
async def test_reasoning_reaches_the_client(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Turn(text="42.", reasoning="Six times seven."))
    seen = await ask(matrix, client, backend, stream, Ask([user("6*7?")], reasoning=True))
    assert seen.text == "42."
    assert "".join(text for text, _ in seen.reasoning) == "Six times seven."


def error_status(client: str, status: int, body: bytes) -> int:
    """The error's status as the client's own error shape states it (Google's repeats it as its code)."""
    if client == "gemini":
        return int(conf.check_gemini_error(json.loads(body))["code"])
    return status


@gemini_matrix
async def test_upstream_errors_in_the_clients_shape(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(Fail(400))
    status, body = await raw_call(matrix, client, backend, stream, Ask([user("hi")]))
    assert status == 400 and error_status(client, status, body) == 400
    matrix.fake.queue(ErrorMidStream(after_chunks=1, status=503))
    status, body = await raw_call(matrix, client, backend, stream, Ask([user("hi")]))
    if stream:
        assert status == 200 and b"error" in body.split(b"Hello")[-1]  # the stream ends with the client's error event
        if client == "gemini":
            conf.check_gemini_stream(body, sse=True)  # every chunk valid, the last Google's error
    else:
        assert status == 502 and error_status(client, status, body) == 502  # an upstream's 5xx is lip's 502


@gemini_matrix
async def test_an_upstream_that_disconnects_ends_in_an_error(
    matrix: Rig, client: str, backend: str, stream: bool
) -> None:
    matrix.fake.queue(DisconnectAfter(1, Turn(text="abcdef", chunks=4)))
    status, body = await raw_call(matrix, client, backend, stream, Ask([user("hi")]))
    if not stream:
        assert status == 502
        return
    assert status == 200 and body.rstrip().endswith((b"}", b"]")) and b"error" in body
    if client == "gemini":
        chunks: list[Any] = [e.json() for e in conf.parse_sse(body)]
        assert "error" in chunks[-1] and chunks[-1]["error"]["status"] in conf.GOOGLE_STATUSES
