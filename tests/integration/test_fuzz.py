"""Arbitrary and mutated bodies and headers to every POST endpoint: never a 500, never a hang; an error is always
a 4xx in the endpoint's protocol shape (a valid request gets its 200)."""

from __future__ import annotations

import asyncio
import copy
import functools
import http.client
import itertools
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeProvider
from tests.harness import run_lip
from tests.integration.matrix import PIXEL_PNG, WEATHER, matrix_config
from tests.integration.operate import CLIENT_KEY

CONFIG = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/responses": {"model": "local-stub:echo", "input": [{"role": "user", "content": "hi"}]},
    "/v1/messages": {"model": "local-stub:echo", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/messages/count_tokens": {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hi"}]},
}
T = TypeVar("T")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    paths: tuple[str, ...]


def in_thread(started: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """What ``started`` yields, kept running on its own event loop in a thread, so that hypothesis can drive plain
    blocking HTTP calls."""
    ready = threading.Event()
    state: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    async def main() -> None:
        async with started() as value:
            state["value"], state["stop"] = value, asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(15)
    yield state["value"]
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(15)
    loop.close()


@asynccontextmanager
async def stub_lip() -> AsyncIterator[Served]:
    async with run_lip(CONFIG, {"LIP_API_KEY": CLIENT_KEY}) as served:
        routes = served.app.router.routes()
        posts = sorted({r.resource.canonical for r in routes if r.method == "POST" and r.resource is not None})
        yield Served("127.0.0.1", int(served.url.rsplit(":", 1)[1]), tuple(posts))


@pytest.fixture(scope="module")
def lip() -> Iterator[Served]:
    yield from in_thread(stub_lip)


def endpoints(served: Served, *, known: bool = False) -> list[str]:
    """The POST endpoints; ``known``: only those with a valid body in VALID (bare paths share the /v1 one)."""
    found = [p for p in served.paths if "{" not in p and p != "/admin/reload"]
    return [p for p in found if valid_body(p) is not None] if known else found


def valid_body(path: str) -> dict[str, Any] | None:
    body = VALID.get(path) or VALID.get("/v1" + path)
    return orjson.loads(orjson.dumps(body)) if body is not None else None


def post(served: Served, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POST with the client key, unless ``headers`` bring their own credentials."""
    connection = http.client.HTTPConnection(served.host, served.port, timeout=10)
    try:
        all_headers = {"Content-Type": "application/json", **(headers or {"x-api-key": CLIENT_KEY})}
        connection.request("POST", path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def assert_well_formed(path: str, status: int, body: bytes) -> None:
    assert status < 500 or status == 501, (status, body[:300])
    if status == 200:
        return
    assert 400 <= status < 600, status
    parsed = orjson.loads(body)
    if path.startswith("/v1/messages") or path.startswith("/messages"):
        assert parsed["type"] == "error" and isinstance(parsed["error"]["message"], str), parsed
    else:
        assert isinstance(parsed["error"]["message"], str) and isinstance(parsed["error"]["type"], str), parsed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=15,
)


def paths_of(value: Any, prefix: tuple[Any, ...] = (), limit: int = 16) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes), down to ``limit`` levels."""
    found = [prefix]
    if len(prefix) >= limit:
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key), limit)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index), limit)
    return found


def mutate(body: Any, path: tuple[Any, ...], operation: str, value: Any) -> Any:
    if not path:
        return value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "replace":
        parent[last] = value
    elif isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent.insert(last, value)
    return body


@FUZZ
@given(data=st.data(), raw=st.binary(max_size=600))
def test_arbitrary_bytes(lip: Served, data: st.DataObject, raw: bytes) -> None:
    path = data.draw(st.sampled_from(endpoints(lip)))
    status, body = post(lip, path, raw)
    assert_well_formed(path, status, body)


@FUZZ
@given(data=st.data(), value=json_values)
def test_arbitrary_json(lip: Served, data: st.DataObject, value: Any) -> None:
    path = data.draw(st.sampled_from(endpoints(lip)))
    status, body = post(lip, path, json.dumps(value).encode())
    assert_well_formed(path, status, body)
    assert status != 200 or isinstance(value, dict)


@FUZZ
@given(data=st.data())
def test_mutated_valid_bodies(lip: Served, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(endpoints(lip, known=True)))
    body: Any = valid_body(path)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths_of(body)))
        operation = data.draw(st.sampled_from(["replace", "delete", "insert"] if where else ["replace"]))
        body = mutate(body, where, operation, data.draw(json_values))
    body = body if not isinstance(body, dict) or data.draw(st.booleans()) else {**body, "stream": True}
    status, answer = post(lip, path, json.dumps(body).encode())
    assert_well_formed(path, status, answer)


latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=80)


@FUZZ
@given(data=st.data(), request_id=latin1, key=latin1, content_type=latin1)
def test_arbitrary_headers(lip: Served, data: st.DataObject, request_id: str, key: str, content_type: str) -> None:
    path = data.draw(st.sampled_from(endpoints(lip, known=True)))
    headers = {"X-Request-ID": request_id, "Content-Type": content_type or "x"}
    name = data.draw(st.sampled_from(["x-api-key", "Authorization", "api-key", "x-goog-api-key"]))
    headers[name] = key.strip() or "k"
    status, body = post(lip, path, orjson.dumps(valid_body(path)), headers)
    assert_well_formed(path, status, body)
    assert status == 401


def test_every_post_endpoint_is_fuzzed(lip: Served) -> None:
    assert "/v1/chat/completions" in endpoints(lip, known=True)
    for path in endpoints(lip, known=True):
        status, body = post(lip, path, orjson.dumps(valid_body(path)))
        assert status == 200, (path, body[:300])


# ---------------------------------------------------------------- wrong types at every depth, relayed and translated
#
# One fake provider behind three backends (Chat ``oc``, Responses ``or``, Anthropic ``an``): each client protocol's
# rich valid body goes to each of them, so the same-protocol pair is relayed and the other two are translated. A
# mutation puts a value of another JSON type at any path of the body, or a field the codecs read (with any value)
# into any object. Whatever lip accepts it must be able to send; what it cannot, it refuses with a 4xx in the
# client's shape. Some wrong-looking values are valid (a whole-number float where an integer goes, say), so the
# test asserts "never a 5xx, and a 400 says what is wrong", not "always a 400".

MODELS = {"oc": "gpt-4o", "or": "gpt-4o", "an": "claude-test"}
PIXEL = "data:image/png;base64," + PIXEL_PNG
RICH: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": PIXEL}}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get", "arguments": '{"city":"x"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get", "description": "d", "parameters": WEATHER}}],
        "tool_choice": {"type": "function", "function": {"name": "get"}},
        "max_tokens": 50,
        "temperature": 0.5,
        "stop": ["zz"],
        "user": "u",
    },
    "/v1/responses": {
        "instructions": "be brief",
        "input": [
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}, {"type": "input_image", "image_url": PIXEL}],
            },
            {"type": "function_call", "call_id": "call_1", "name": "get", "arguments": '{"city":"x"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        "tools": [{"type": "function", "name": "get", "description": "d", "parameters": WEATHER}],
        "tool_choice": {"type": "function", "name": "get"},
        "max_output_tokens": 50,
        "temperature": 0.5,
        "text": {"format": {"type": "text"}},
        "store": False,
        "metadata": {"a": "b"},
    },
    "/v1/messages": {
        "max_tokens": 50,
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "hi"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG}},
                ],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
        ],
        "tools": [{"name": "get", "description": "d", "input_schema": WEATHER}],
        "tool_choice": {"type": "tool", "name": "get"},
        "temperature": 0.5,
        "stop_sequences": ["zz"],
        "metadata": {"user_id": "u"},
    },
}
RICH["/v1/messages/count_tokens"] = {
    k: v
    for k, v in RICH["/v1/messages"].items()
    if k not in ("max_tokens", "temperature", "stop_sequences", "metadata")
}
# A second variant of each: reasoning, structured output and an automatic tool choice instead of a named one.
VARIANT: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning_effort": "low",
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}},
    },
    "/v1/responses": {
        "tool_choice": "auto",
        "reasoning": {"effort": "low", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}},
    },
    "/v1/messages": {
        "max_tokens": 2048,
        "tool_choice": {"type": "auto"},
        "temperature": 1,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    },
    "/v1/messages/count_tokens": {
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    },
}
THOUGHT = {"type": "thinking", "thinking": "t", "signature": "sig"}  # Anthropic with thinking: before a tool_use
# Every name the codecs spell (field names and enum values alike), read from their source so that a field a codec
# learns to read is fuzzed too: each may be put into any object of a valid body, with any value.
READ_FIELDS = sorted(
    {
        name
        for module in Path(str(resources.files("lip.protocols"))).rglob("*.py")  # codec packages included
        for name in re.findall(r'"([a-z][a-z_]{1,40})"', module.read_text(encoding="utf-8"))
    }
)
DEEP = functools.reduce(lambda inner, _: [inner], range(300), [])  # parses, and is past what orjson can write
wrong_values = (
    st.sampled_from([None, True, 0, -1, 1.5, 100.0, "", "x", "function", [], {}, [[]], [{}], {"type": []}, DEEP])
    | st.sampled_from([2**64, -(2**63) - 1, 10**30, 1e308])
    | json_values
)


@dataclass(frozen=True)
class Rigged:
    served: Served
    fake: FakeProvider


@asynccontextmanager
async def three_kinds() -> AsyncIterator[Rigged]:
    async with FakeProvider() as fake, run_lip(matrix_config(fake), {"LIP_API_KEY": CLIENT_KEY}) as served:
        yield Rigged(Served("127.0.0.1", int(served.url.rsplit(":", 1)[1]), ()), fake)


@pytest.fixture(scope="module")
def rigged() -> Iterator[Rigged]:
    """lip with the three backend kinds on one fake."""
    yield from in_thread(three_kinds)


def rich_body(path: str, prefix: str, variant: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(orjson.dumps({**RICH[path], **(VARIANT[path] if variant else {})}))
    if variant and path.startswith("/v1/messages"):
        body["messages"][1]["content"].insert(0, dict(THOUGHT))
    return {"model": f"{prefix}:{MODELS[prefix]}", **body}


def other_type(value: Any) -> st.SearchStrategy[Any]:
    """A value that is not of ``value``'s JSON type (numbers count as one type)."""

    def kind(v: Any) -> str:
        return "number" if isinstance(v, int | float) and not isinstance(v, bool) else type(v).__name__

    return wrong_values.filter(lambda v: kind(v) != kind(value))


def assert_names_the_problem(path: str, status: int, body: bytes) -> None:
    """Never a 5xx; a 4xx comes in the client's shape with a message, and lip's own 400 in an OpenAI shape names
    the field in ``param`` (an upstream's refusal is passed on as the upstream worded it)."""
    assert_well_formed(path, status, body)
    assert status < 500, (status, body[:300])
    error = orjson.loads(body)["error"] if status != 200 else {}
    if status >= 400:
        assert error["message"], body
    if status == 400 and error.get("code") == "invalid_request":
        assert error["param"], body


@pytest.mark.parametrize("prefix", list(MODELS))
@pytest.mark.parametrize("path", list(RICH))
def test_rich_bodies_are_served_everywhere(rigged: Rigged, path: str, prefix: str) -> None:
    for stream, variant in itertools.product((False, True), (False, True)):
        status, body = post(rigged.served, path, orjson.dumps({**rich_body(path, prefix, variant), "stream": stream}))
        assert status == 200, (stream, variant, body[:400])


WRONG = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@WRONG
@given(data=st.data())
def test_wrong_types_at_every_depth(rigged: Rigged, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(RICH)))
    body: Any = rich_body(path, data.draw(st.sampled_from(list(MODELS))), data.draw(st.booleans()))
    for _ in range(data.draw(st.integers(1, 2))):
        where = data.draw(st.sampled_from([p for p in paths_of(body) if p and p != ("model",)]))
        parent = body
        for step in where[:-1]:
            parent = parent[step]
        parent[where[-1]] = copy.deepcopy(data.draw(other_type(parent[where[-1]])))
    body["stream"] = data.draw(st.booleans())
    status, answer = post(rigged.served, path, json.dumps(body).encode())
    assert_names_the_problem(path, status, answer)


@WRONG
@given(data=st.data())
def test_read_fields_anywhere(rigged: Rigged, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(RICH)))
    body: Any = rich_body(path, data.draw(st.sampled_from(list(MODELS))), data.draw(st.booleans()))
    objects = [p for p in paths_of(body) if isinstance(value_at(body, p), dict)]
    for _ in range(data.draw(st.integers(1, 2))):
        value = copy.deepcopy(data.draw(wrong_values))
        value_at(body, data.draw(st.sampled_from(objects)))[data.draw(st.sampled_from(READ_FIELDS))] = value
    body["stream"] = data.draw(st.booleans())
    status, answer = post(rigged.served, path, json.dumps(body).encode())
    assert_names_the_problem(path, status, answer)


def value_at(body: Any, where: tuple[Any, ...]) -> Any:
    for step in where:
        body = body[step]
    return body
