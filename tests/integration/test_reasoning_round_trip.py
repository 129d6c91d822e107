"""Reasoning models behind agents on a Chat upstream: DeepSeek, Kimi and GLM in thinking mode refuse a tool loop whose
assistant tool-call turn comes back without its reasoning. Each client protocol (Anthropic thinking blocks, Responses
reasoning items, Chat ``reasoning_content``) runs a two-turn tool loop through lip to a strict Chat fake: the second
turn carries the first turn's reasoning in the field the backend is configured with and succeeds. OpenAI itself
(which refuses unknown message fields) gets none, and ``<think>`` text a model leaks becomes reasoning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest
import pytest_asyncio

from tests.fakes import FakeProvider, FakeToolCall, Turn
from tests.harness import backend_row, run_lip
from tests.integration.matrix import Ask, Result, Rig, Tool, ask, history, results, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

THOUGHT = "The user wants the weather in Bern: call get_weather."
CALL = FakeToolCall("get_weather", '{"city": "Bern"}', "call_Bern01")
CLIENTS = ("chat", "responses", "messages")
ROUNDS = [(c, s) for c in CLIENTS for s in (False, True)]
ROUND_IDS = [f"{c}-{'stream' if s else 'json'}" for c, s in ROUNDS]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[Rig]:
    async with FakeProvider() as fake:
        base = fake.url + "/v1"
        rows = [
            backend_row("deep", base),  # a custom Chat row: reasoning_content, the default
            backend_row("router", base, reasoning_field="reasoning"),
            backend_row("plain", base, reasoning_field="none"),
            {"id": "openai", "kind": "openai", "config": {"base_url": base}},
            backend_row("local", base, think_tags=True),
        ]
        async with run_lip({"plugins": {"backends": rows}}) as lip:
            yield Rig(fake, lip)


@pytest.fixture
def fake(rig: Rig) -> FakeProvider:
    rig.reset()
    rig.fake.chat_strict_messages = False
    rig.fake.chat_reasoning_field = "reasoning_content"
    rig.fake.chat_requires_reasoning = False
    return rig.fake


def chat_bodies(fake: FakeProvider) -> list[dict[str, Any]]:
    return [r.body for r in fake.received if r.path.endswith("/chat/completions")]


async def tool_loop(rig: Rig, client: str, backend: str, stream: bool) -> Any:
    """Turn 1: reasoning, then a tool call; turn 2: the result goes back with the history, as the client keeps it."""
    rig.fake.queue(Turn(text="", reasoning=THOUGHT, tool_calls=[CALL]), Turn(text="Bern: 12C."))
    a = Ask([user("weather in Bern?")], tools=[Tool("get_weather")], reasoning=True, max_tokens=8192)
    first = await ask(rig, client, backend, stream, a)
    passthrough = client == "chat"  # a Chat client on a Chat upstream sees the upstream's own field
    assert passthrough or [r[0] for r in first.reasoning] == [THOUGHT]
    assert [c[:2] for c in first.calls] == [("call_Bern01", "get_weather")]
    a.messages += [history(client, first), results(Result("call_Bern01", "12C"))]
    return await ask(rig, client, backend, stream, a)


def assistant_turn(body: dict[str, Any]) -> dict[str, Any]:
    turn: dict[str, Any] = next(m for m in body["messages"] if m["role"] == "assistant")
    return turn


@pytest.mark.parametrize(("client", "stream"), ROUNDS, ids=ROUND_IDS)
async def test_a_strict_upstream_gets_the_reasoning_back_in_reasoning_content(
    rig: Rig, fake: FakeProvider, client: str, stream: bool
) -> None:
    fake.chat_requires_reasoning = True
    second = await tool_loop(rig, client, "deep", stream)
    assert second.text == "Bern: 12C."
    turn = assistant_turn(chat_bodies(fake)[-1])
    assert turn["reasoning_content"] == THOUGHT
    assert [c["id"] for c in turn["tool_calls"]] == ["call_Bern01"]


@pytest.mark.parametrize(("client", "stream"), ROUNDS, ids=ROUND_IDS)
async def test_an_openrouter_style_upstream_gets_it_in_reasoning(
    rig: Rig, fake: FakeProvider, client: str, stream: bool
) -> None:
    """The upstream streams ``reasoning`` (OpenRouter, Ollama, newer vLLM) and takes it back under that name."""
    fake.chat_reasoning_field = "reasoning"
    fake.chat_requires_reasoning = True
    second = await tool_loop(rig, client, "router", stream)
    assert second.text == "Bern: 12C."
    turn = assistant_turn(chat_bodies(fake)[-1])
    if client != "chat":  # a Chat client's own history is relayed as it sent it (passthrough)
        assert turn["reasoning"] == THOUGHT and "reasoning_content" not in turn


@pytest.mark.parametrize("client", ["responses", "messages"])
async def test_without_the_field_a_strict_upstream_refuses_the_loop(rig: Rig, fake: FakeProvider, client: str) -> None:
    """What every agent hit before: reasoning_field none on a thinking-mode upstream is DeepSeek's 400."""
    fake.chat_requires_reasoning = True
    with pytest.raises((anthropic.BadRequestError, openai.BadRequestError)) as caught:
        await tool_loop(rig, client, "plain", False)
    assert "Missing `reasoning_content` field in the assistant message" in str(caught.value)


@pytest.mark.parametrize(("client", "stream"), [("responses", False), ("messages", True)])
async def test_openai_gets_no_reasoning_field(rig: Rig, fake: FakeProvider, client: str, stream: bool) -> None:
    """OpenAI refuses a message key it does not define; its preset sends reasoning back nowhere."""
    fake.chat_strict_messages = True
    second = await tool_loop(rig, client, "openai", stream)
    assert second.text == "Bern: 12C."
    turn = assistant_turn(chat_bodies(fake)[-1])
    assert "reasoning_content" not in turn and "reasoning" not in turn


async def test_the_fake_refuses_reasoning_content_as_openai_does(rig: Rig, fake: FakeProvider) -> None:
    """The strict fake really refuses the field (so the test above can fail)."""
    fake.chat_strict_messages = True
    with pytest.raises(anthropic.BadRequestError) as caught:
        await tool_loop(rig, "messages", "deep", False)
    assert "'reasoning_content' was unexpected" in str(caught.value)


LEAKED = "<think>\nBern is in Switzerland.\n</think>\n\nIt is 12C in Bern."


TRANSLATED = ("responses", "messages")  # a Chat client on a Chat upstream gets the upstream's bytes as they are


@pytest.mark.parametrize("chunks", [1, 3, 7, 40])
@pytest.mark.parametrize("client", TRANSLATED)
async def test_leaked_think_tags_become_reasoning(rig: Rig, fake: FakeProvider, client: str, chunks: int) -> None:
    """A model that writes its thoughts as ``<think>...</think>`` in content (tags split across chunks)."""
    fake.queue(Turn(text=LEAKED, chunks=chunks))
    seen = await ask(rig, client, "local", True, Ask([user("weather in Bern?")]))
    assert seen.text == "It is 12C in Bern."
    assert [r[0] for r in seen.reasoning] == ["\nBern is in Switzerland.\n"]


@pytest.mark.parametrize("client", TRANSLATED)
async def test_think_tags_in_a_whole_answer(rig: Rig, fake: FakeProvider, client: str) -> None:
    fake.queue(Turn(text=LEAKED))
    seen = await ask(rig, client, "local", False, Ask([user("weather in Bern?")]))
    assert seen.text == "It is 12C in Bern."
    assert [r[0] for r in seen.reasoning] == ["\nBern is in Switzerland.\n"]


async def test_think_tags_are_text_where_the_backend_is_not_configured_so(rig: Rig, fake: FakeProvider) -> None:
    fake.queue(Turn(text=LEAKED))
    seen = await ask(rig, "messages", "deep", True, Ask([user("weather in Bern?")]))
    assert seen.text == LEAKED and seen.reasoning == []


async def test_a_chat_client_on_a_chat_upstream_gets_the_tags_relayed(rig: Rig, fake: FakeProvider) -> None:
    """Same-protocol passthrough relays the upstream's bytes untouched: think_tags applies where lip translates."""
    fake.queue(Turn(text=LEAKED))
    seen = await ask(rig, "chat", "local", True, Ask([user("weather in Bern?")]))
    assert seen.text == LEAKED
