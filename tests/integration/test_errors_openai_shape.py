"""Errors reach an OpenAI client in its own shape {"error": {"message", "type", "param", "code"}} with the right
status: bad input 400 naming the field, unknown prefix 404, upstream 4xx as is, 5xx/unreachable 502, timeout 504,
admission full 429 with Retry-After. Never a 500 for bad input, never a hang."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import openai
import orjson
import pytest

from tests.fakes import Fail, FakeProvider, HtmlErrorPage, Stall, Turn
from tests.harness import LipServer, backend_row, free_port, run_lip

USER = [{"role": "user", "content": "hi"}]
TIMEOUT = aiohttp.ClientTimeout(total=10)  # "never a hang": every raw request here is bounded


def config(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    return {"plugins": {"backends": [backend_row("p", fake.url + "/v1", **extra)]}}


async def post(lip: LipServer, body: bytes, path: str = "/v1/chat/completions") -> tuple[int, dict[str, Any], Any]:
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        session.post(lip.url + path, data=body, headers={"Content-Type": "application/json"}) as response,
    ):
        return response.status, dict(response.headers), orjson.loads(await response.read())


def assert_openai_error(body: Any) -> dict[str, Any]:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"] and isinstance(error["type"], str)
    return error


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"model": "p:m", "messages": [', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_malformed_json_is_a_400(fake_provider: FakeProvider, raw: bytes, fragment: str) -> None:
    async with run_lip(config(fake_provider)) as lip:
        status, _, body = await post(lip, raw)
    assert status == 400
    error = assert_openai_error(body)
    assert fragment in error["message"] and error["type"] == "invalid_request_error"
    assert fake_provider.requests_to("/chat/completions") == []


WRONG: list[tuple[Any, str | None]] = [
    ([], None),
    ("a string", None),
    (42, None),
    (None, None),
    ({"messages": USER}, "model"),
    ({"model": None, "messages": USER}, "model"),
    ({"model": 42, "messages": USER}, "model"),
    ({"model": ["p:m"], "messages": USER}, "model"),
    ({"model": "", "messages": USER}, "model"),
    ({"model": "p:m"}, "messages"),
    ({"model": "p:m", "messages": {"role": "user"}}, "messages"),
    ({"model": "p:m", "messages": []}, "messages"),
    ({"model": "p:m", "messages": USER, "stream": "true"}, "stream"),
    ({"model": "p:m", "messages": USER, "stream": 1}, "stream"),
    ({"model": "p:m", "messages": USER, "stream": True, "stream_options": "yes"}, "stream_options"),
    ({"model": ":m", "messages": USER}, "model"),
    ({"model": "p:", "messages": USER}, "model"),
]


@pytest.mark.parametrize(("body", "param"), WRONG, ids=[str(i) for i in range(len(WRONG))])
async def test_a_missing_or_invalid_field_is_a_400_naming_it(
    fake_provider: FakeProvider, body: Any, param: str | None
) -> None:
    async with run_lip(config(fake_provider)) as lip:
        status, _, answer = await post(lip, orjson.dumps(body))
    assert status == 400, answer
    error = assert_openai_error(answer)
    if param is not None:
        assert error["param"] == param and param in error["message"]
    assert fake_provider.requests_to("/chat/completions") == []


CROSS_PROTOCOL_WRONG: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": 5}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
    {"messages": [{"role": "tool", "content": "x"}]},
    {"messages": [5]},
    {"messages": USER, "tools": [{"type": "function", "function": {"name": 5}}]},
    {"messages": USER, "tool_choice": 5},
    {"messages": USER, "temperature": "hot"},
    {"messages": USER, "max_tokens": "many"},
    {"messages": USER, "stop": [1, 2]},
    {"messages": USER, "response_format": {"type": "xml"}},
]


@pytest.mark.parametrize("body", CROSS_PROTOCOL_WRONG, ids=[str(i) for i in range(len(CROSS_PROTOCOL_WRONG))])
async def test_wrong_types_on_a_translated_path_are_400s(body: dict[str, Any]) -> None:
    """The local stub goes through the full decode: every wrong type is a 400, never a 500."""
    async with run_lip({"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}) as lip:
        status, _, answer = await post(lip, orjson.dumps({"model": "local-stub:echo", **body}))
    assert status == 400, answer
    assert_openai_error(answer)


async def test_unknown_paths_and_methods_answer_json(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider)) as lip, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(lip.url + "/v1/chat/completions") as response:
            assert response.status == 405
            assert_openai_error(await response.json())
        async with session.post(lip.url + "/v1/nothing-here", json={}) as response:
            assert response.status == 404
            assert_openai_error(await response.json())


async def test_an_unknown_prefix_is_a_404(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider)) as lip:
        status, _, body = await post(lip, orjson.dumps({"model": "nope:m", "messages": USER}))
    assert status == 404
    error = assert_openai_error(body)
    assert "'nope'" in error["message"] and "p" in error["message"].split("known prefixes:")[-1]


@pytest.mark.parametrize(
    ("fail", "status", "message"),
    [
        (
            Fail(
                400,
                {
                    "error": {
                        "message": "max_tokens is too large",
                        "type": "invalid_request_error",
                        "param": "max_tokens",
                        "code": None,
                    }
                },
            ),
            400,
            "max_tokens is too large",
        ),
        (Fail(404), 404, "The model does not exist or you do not have access to it."),
        (
            Fail(422, {"error": {"message": "Unprocessable thing", "type": "invalid_request_error"}}),
            422,
            "Unprocessable thing",
        ),
        (Fail(402, {"error": "Insufficient credits"}), 402, "Insufficient credits"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_4xx_is_passed_on_with_status_and_message(
    fake_provider: FakeProvider, fail: Fail, status: int, message: str, stream: bool
) -> None:
    fake_provider.queue(fail)
    async with run_lip(config(fake_provider)) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=stream)
    assert caught.value.status_code == status
    body = caught.value.body
    assert isinstance(body, dict) and body["message"] == message
    assert set(body) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("fail", [Fail(500), Fail(503), HtmlErrorPage(502), Fail(529, "overloaded")])
@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_5xx_is_a_502(fake_provider: FakeProvider, fail: Fail | HtmlErrorPage, stream: bool) -> None:
    fake_provider.queue(fail)
    async with run_lip(config(fake_provider)) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=stream)
    assert caught.value.status_code == 502
    assert isinstance(caught.value.body, dict) and set(caught.value.body) == {"message", "type", "param", "code"}
    assert "<html" not in caught.value.body["message"]


async def test_an_unreachable_upstream_is_a_502() -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    row = backend_row("p", closed, models={"source": "inline", "items": [{"native_id": "m"}]})
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="p:m", messages=USER)
    assert caught.value.status_code == 502
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "upstream_unreachable"


@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_timeout_is_a_504(fake_provider: FakeProvider, stream: bool) -> None:
    fake_provider.queue(Stall(5))
    async with run_lip(config(fake_provider, timeouts={"first_byte_s": 0.3})) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=stream)
    assert caught.value.status_code == 504
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "upstream_timeout"


async def test_admission_full_is_a_429_with_retry_after(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Stall(0.5, Turn(text="first")))
    async with run_lip(config(fake_provider, max_concurrent_requests=1, admission_wait_s=0)) as lip:
        client = lip.openai()
        first = asyncio.create_task(client.chat.completions.create(model="p:m", messages=USER))
        while fake_provider.in_flight == 0:  # the first request holds the only slot
            await asyncio.sleep(0.01)
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="p:m", messages=USER)
        assert (await first).choices[0].message.content == "first"
    assert caught.value.status_code == 429
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "admission_full"
    assert len(fake_provider.requests_to("/chat/completions")) == 1


async def test_a_body_over_the_limit_is_a_413(fake_provider: FakeProvider) -> None:
    cfg = {**config(fake_provider), "server": {"max_body_bytes": 1000}}
    async with run_lip(cfg) as lip:
        big = orjson.dumps({"model": "p:m", "messages": [{"role": "user", "content": "x" * 5000}]})
        status, _, body = await post(lip, big)
    assert status == 413
    assert_openai_error(body)
