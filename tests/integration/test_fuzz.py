"""Arbitrary and mutated bodies and headers to every POST endpoint: never a 500, never a hang; an error is always
a 4xx in the endpoint's protocol shape (a valid request gets its 200)."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import run_lip
from tests.integration.operate import CLIENT_KEY

CONFIG = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hi"}]},
    "/v1/responses": {"model": "local-stub:echo", "input": [{"role": "user", "content": "hi"}]},
    "/v1/messages": {"model": "local-stub:echo", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/messages/count_tokens": {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hi"}]},
}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Served:
    host: str
    port: int
    paths: tuple[str, ...]


@pytest.fixture(scope="module")
def lip() -> Iterator[Served]:
    """lip on its own event loop in a thread, so hypothesis can drive plain blocking HTTP calls."""
    ready = threading.Event()
    state: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    async def main() -> None:
        async with run_lip(CONFIG, {"LIP_API_KEY": CLIENT_KEY}) as served:
            routes = served.app.router.routes()
            posts = sorted({r.resource.canonical for r in routes if r.method == "POST" and r.resource is not None})
            state["served"] = Served("127.0.0.1", int(served.url.rsplit(":", 1)[1]), tuple(posts))
            state["stop"] = asyncio.Event()
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(15)
    yield state["served"]
    loop.call_soon_threadsafe(state["stop"].set)
    thread.join(15)
    loop.close()


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


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
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
