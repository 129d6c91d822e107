"""An OpenAI SDK client reaches an OpenAI-Chat-compatible provider through lip: same protocol, faithful relay."""

from __future__ import annotations

from tests.fakes import FakeProvider, Turn
from tests.harness import backend_row, run_lip


async def test_non_stream_reaches_upstream_with_native_model(fake_provider: FakeProvider) -> None:
    config = {"plugins": {"backends": [backend_row("provider123", fake_provider.url + "/v1")]}}
    fake_provider.script.append(Turn(text="Hello there"))
    async with run_lip(config) as lip:
        client = lip.openai()
        completion = await client.chat.completions.create(
            model="provider123:deepseek-chat",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"unknown_field": {"kept": True}},
        )
    assert completion.choices[0].message.content == "Hello there"
    sent = [r for r in fake_provider.received if r.path.endswith("/chat/completions")][-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "deepseek-chat"
    assert sent.body["unknown_field"] == {"kept": True}
    assert "authorization" not in {k.lower() for k in sent.headers} or "client-key" not in sent.headers.get(
        "authorization", ""
    )


async def test_stream_is_relayed_chunk_by_chunk(fake_provider: FakeProvider) -> None:
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}
    fake_provider.script.append(Turn(text="one two three four", chunks=4))
    async with run_lip(config) as lip:
        client = lip.openai()
        async with client.chat.completions.stream(
            model="p:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
        ) as stream:
            deltas = [e.delta async for e in stream if e.type == "content.delta"]
            final = await stream.get_final_completion()
    assert len(deltas) >= 3
    assert final.choices[0].message.content == "one two three four"
    assert final.usage is not None and final.usage.prompt_tokens > 0
