"""The embedded default config: lip on 127.0.0.1:8000 with the no-network local-stub backend, whose replies stream
as several deltas and whose models are listed; GET /healthz answers 200."""

from __future__ import annotations

import aiohttp

from lip.config.load import default_text, load_default
from tests.harness import run_lip

README_BODY = {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hello"}]}


def test_the_default_serves_local_stub_on_loopback_8000() -> None:
    settings = load_default({})
    assert (settings.config.server.host, settings.config.server.port) == ("127.0.0.1", 8000)
    [stub] = settings.backends
    assert (stub.prefix, stub.kind.kind, stub.base_url, stub.key_root) == ("local-stub", "local-stub", None, None)
    assert settings.warnings == ()


async def test_the_readme_curl_gets_an_answer() -> None:
    async with (
        run_lip(default_text()) as lip,
        aiohttp.ClientSession() as session,
        session.post(lip.url + "/v1/chat/completions", json=README_BODY) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "You said: hello"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["model"] == "echo"


async def test_a_stub_stream_has_several_deltas_and_usage() -> None:
    async with run_lip(default_text()) as lip:
        stream = await lip.openai().chat.completions.create(
            model="local-stub:echo",
            messages=[{"role": "user", "content": "one two three four five six"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 3
    assert "".join(deltas) == "You said: one two three four five six"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_stub_replies_are_deterministic() -> None:
    async with run_lip(default_text()) as lip:
        client = lip.openai()
        answers = {
            (await client.chat.completions.create(model="local-stub:hello", messages=README_BODY["messages"]))
            .choices[0]
            .message.content
            for _ in range(3)
        }
    assert answers == {"Hello from lip's local stub backend. It answers without any network."}


async def test_bare_names_take_the_default_route_to_the_stub() -> None:
    async with run_lip(default_text()) as lip:
        completion = await lip.openai().chat.completions.create(model="gpt-4o", messages=README_BODY["messages"])
    assert completion.choices[0].message.content == "You said: hello"


async def test_stub_models_are_listed() -> None:
    async with run_lip(default_text()) as lip:
        page = await lip.openai().models.list()
    assert [m.id for m in page.data] == ["local-stub:echo", "local-stub:hello"]


async def test_healthz_answers_200() -> None:
    async with (
        run_lip(default_text()) as lip,
        aiohttp.ClientSession() as session,
        session.get(lip.url + "/healthz") as response,
    ):
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
