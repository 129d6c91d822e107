"""Malformed input that once gave a 500 is a 400 in the client's shape naming the field, relayed and translated: a
list where an enum string goes, a body nested past what lip can send, a selector number past 64 bits, a selector
longer than 4,096 characters. ``x-lip-backend`` carries only the leaf that answered, on every path that has one.
(tests/integration/test_fuzz.py keeps the whole class closed; these are the cases it first found, by name.)"""

from __future__ import annotations

import functools
import json
from typing import Any

import aiohttp
import orjson
import pytest

from tests.fakes import Fail, Stall, Turn
from tests.harness import backend_row, run_lip
from tests.integration.matrix import CLIENT_PATH, MODEL, PREFIX, Rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

HEADERS = {"authorization": "Bearer client-key", "anthropic-version": "2023-06-01"}
HI = [{"role": "user", "content": "hi"}]


def selector(backend: str) -> str:
    return f"{PREFIX[backend]}:{MODEL[backend]}"


def body(client: str, model: str, **extra: Any) -> dict[str, Any]:
    if client == "responses":
        return {"model": model, "input": HI, **extra}
    if client == "messages":
        return {"model": model, "max_tokens": 20, "messages": HI, **extra}
    return {"model": model, "messages": HI, **extra}


async def post(rig: Rig, path: str, data: bytes) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.post(rig.lip.url + path, data=data, headers=HEADERS) as response,
    ):
        raw = await response.read()
        parsed = orjson.loads(raw) if response.content_type == "application/json" else raw
        return response.status, dict(response.headers), parsed


def refusal(client: str, answer: Any) -> str:
    """The message of a 400 in the client's own shape; an OpenAI shape must name the field in ``param``."""
    if client == "messages":
        assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error", answer
        return str(answer["error"]["message"])
    assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["param"], answer
    return f"{answer['error']['param']}: {answer['error']['message']}"


@pytest.mark.parametrize("backend", ["chat", "responses", "anthropic"])
async def test_a_list_as_a_responses_item_type_is_a_400(matrix: Rig, backend: str) -> None:
    bad = body("responses", selector(backend), input=[{"type": [], "role": "user", "content": "hi"}])
    status, _, answer = await post(matrix, CLIENT_PATH["responses"], orjson.dumps(bad))
    if backend == "responses":  # relayed: lip sends it as it came, and the upstream judges it
        assert status < 500 and matrix.upstream("responses")["input"][0]["type"] == []
        return
    assert status == 400 and "input[0].type" in refusal("responses", answer)
    assert matrix.fake.received == []


@pytest.mark.parametrize("choice", [{"type": []}, {"type": {}}, {"type": 3}])
@pytest.mark.parametrize("backend", ["chat", "responses"])
async def test_a_non_string_anthropic_tool_choice_type_is_a_400(
    matrix: Rig, backend: str, choice: dict[str, Any]
) -> None:
    tools = [{"name": "get", "input_schema": {"type": "object"}}]
    bad = body("messages", selector(backend), tools=tools, tool_choice=choice)
    status, _, answer = await post(matrix, CLIENT_PATH["messages"], orjson.dumps(bad))
    assert status == 400 and "tool_choice.type" in refusal("messages", answer)
    assert matrix.fake.received == []


DEEP = functools.reduce(lambda inner, _: [inner], range(300), [])  # orjson reads it and cannot write it


@pytest.mark.parametrize("backend", ["chat", "responses", "anthropic"])
@pytest.mark.parametrize("client", ["chat", "responses", "messages"])
async def test_a_body_nested_too_deep_is_a_400_naming_its_field(matrix: Rig, client: str, backend: str) -> None:
    bad = body(client, selector(backend), metadata={"x": DEEP})
    status, _, answer = await post(matrix, CLIENT_PATH[client], json.dumps(bad).encode())
    message = refusal(client, answer)
    assert status == 400 and "metadata" in message and "128 levels" in message
    assert matrix.fake.received == []


@pytest.mark.parametrize("client", ["chat", "responses", "messages"])
async def test_a_body_nested_to_the_limit_is_sent(matrix: Rig, client: str) -> None:
    """128 levels (the body is level 1) pass, relayed and translated; the schema arrives as the client sent it."""
    schema = functools.reduce(lambda inner, _: {"items": inner}, range(121), {"type": "string"})
    backend = {"chat": "anthropic", "responses": "chat", "messages": "responses"}[client]
    tool = (
        {"type": "function", "function": {"name": "f", "parameters": schema}}
        if client == "chat"
        else {"type": "function", "name": "f", "parameters": schema}
        if client == "responses"
        else {"name": "f", "input_schema": schema}
    )
    for target in (backend, {"chat": "chat", "responses": "responses", "messages": "anthropic"}[client]):
        matrix.reset()
        status, _, answer = await post(
            matrix, CLIENT_PATH[client], orjson.dumps(body(client, selector(target), tools=[tool]))
        )
        assert status == 200, answer
        assert orjson.dumps(matrix.upstream(target)["tools"]).count(b'"items"') == 121


@pytest.mark.parametrize(
    "param", ["seed=99999999999999999999999", "max_tokens=9223372036854775808", "temperature=1e999"]
)
@pytest.mark.parametrize("backend", ["chat", "anthropic"])
async def test_a_selector_number_past_what_can_be_sent_is_a_400(matrix: Rig, backend: str, param: str) -> None:
    status, _, answer = await post(
        matrix, CLIENT_PATH["chat"], orjson.dumps(body("chat", f"{selector(backend)}?{param}"))
    )
    assert status == 400 and "out of range" in refusal("chat", answer)
    assert matrix.fake.received == []


async def test_the_largest_64_bit_seed_is_sent(matrix: Rig) -> None:
    model = f"{selector('chat')}?seed=9223372036854775807"
    status, _, _ = await post(matrix, CLIENT_PATH["chat"], orjson.dumps(body("chat", model)))
    assert status == 200 and matrix.upstream("chat")["seed"] == 2**63 - 1


@pytest.mark.parametrize("client", ["chat", "responses", "messages"])
async def test_a_selector_over_4096_characters_is_a_400(matrix: Rig, client: str) -> None:
    long = selector("chat") + "|" + "x" * 5000
    status, headers, answer = await post(matrix, CLIENT_PATH[client], orjson.dumps(body(client, long)))
    assert status == 400 and "4096 characters" in refusal(client, answer)
    assert "x-lip-backend" not in headers and len(str(headers)) < 2000
    assert matrix.fake.received == []


LONG_TAIL = "|an:" + "m" * 3900  # a selector under the cap whose chosen leaf is short


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("client", ["chat", "responses", "messages"])
async def test_only_the_chosen_leaf_goes_into_x_lip_backend(matrix: Rig, client: str, stream: bool) -> None:
    """Relayed (chat -> oc) and translated (responses, messages -> oc), JSON and streamed; after a failover the
    header names the leaf that answered."""
    model = f"{selector('chat')}?seed=7{LONG_TAIL}"
    status, headers, _ = await post(matrix, CLIENT_PATH[client], orjson.dumps(body(client, model, stream=stream)))
    assert status == 200 and headers["x-lip-backend"] == selector("chat")
    matrix.reset()
    matrix.fake.queue(Fail(503))
    model = f"{selector('chat')}|{selector('anthropic')}?temperature=0.5{LONG_TAIL}"
    status, headers, _ = await post(matrix, CLIENT_PATH[client], orjson.dumps(body(client, model, stream=stream)))
    assert status == 200 and headers["x-lip-backend"] == selector("anthropic")


async def test_count_tokens_names_only_the_chosen_leaf(matrix: Rig) -> None:
    model = f"{selector('anthropic')}{LONG_TAIL}"
    data = orjson.dumps({"model": model, "messages": HI})
    status, headers, _ = await post(matrix, "/v1/messages/count_tokens", data)
    assert status == 200 and headers["x-lip-backend"] == selector("anthropic")


async def test_an_error_carries_no_x_lip_backend(matrix: Rig) -> None:
    matrix.fake.queue(Fail(400))
    model = f"{selector('chat')}{LONG_TAIL}"
    status, headers, _ = await post(matrix, CLIENT_PATH["chat"], orjson.dumps(body("chat", model)))
    assert status == 400 and "x-lip-backend" not in headers


async def test_a_keepalive_stream_carries_no_x_lip_backend(matrix: Rig) -> None:
    """Keep-alive commits the 200 before a leaf answers, so the header cannot name one (docs/routing.md)."""
    row = backend_row("ka", matrix.fake.url + "/v1", keepalive_s=0.05)
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        matrix.fake.queue(Stall(0.3, Turn(text="late")))
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.post(
                lip.url + CLIENT_PATH["chat"],
                json=body("chat", "ka:m" + LONG_TAIL.replace("an:", "ka:"), stream=True),
                headers=HEADERS,
            ) as response,
        ):
            answer = await response.read()
    assert response.status == 200 and "x-lip-backend" not in response.headers
    assert answer.startswith(b": keep-alive") and answer.endswith(b"data: [DONE]\n\n")
