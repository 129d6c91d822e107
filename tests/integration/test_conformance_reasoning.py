"""Reasoning across protocols: Anthropic thinking (with signature) <-> Responses reasoning items (encrypted content
kept opaque) <-> Chat ``reasoning_content``. The client sees the reasoning in its own shape with a proof it can send
back; sent back next turn, the proof reaches an upstream of its origin in that upstream's native form again, a Chat
upstream gets the text back in ``reasoning_content`` (it takes no proof), and reasoning a target cannot take is
dropped, never sent as plain text."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.fakes import FakeToolCall, Turn
from tests.integration.matrix import BACKENDS, Ask, Result, Rig, Tool, ask, history, matrix_params, results, user

pytestmark = pytest.mark.asyncio(loop_scope="module")

THOUGHT = "First, recall that six times seven is forty-two."
SIGNATURE = "EqQBCkYIBxgCKkDsig-abc123"
ENCRYPTED = "gAAAAABenc-opaque-xyz"
INCLUDE = {"responses": {"include": ["reasoning.encrypted_content"]}}  # as Codex asks for it


def turn() -> Turn:
    return Turn(text="42.", reasoning=THOUGHT, reasoning_signature=SIGNATURE, reasoning_encrypted=ENCRYPTED)


def question(client: str) -> Ask:
    return Ask([user("six times seven?")], reasoning=True, max_tokens=8192, extra=INCLUDE.get(client, {}))


def expected_proof(client: str, backend: str, proof: str | None) -> bool:
    """Whether ``proof`` (what the client got to send back) is the right one for a ``backend`` answer."""
    if backend == "chat":  # a Chat upstream gives no proof: nothing to carry back
        return not proof
    if client == "messages":
        return proof == SIGNATURE if backend == "anthropic" else (proof or "").endswith(":" + ENCRYPTED)
    if client == "responses":
        return proof == ENCRYPTED if backend == "responses" else SIGNATURE in (proof or "")
    return proof is None


@matrix_params()
async def test_reasoning_reaches_the_client(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(turn())
    seen = await ask(matrix, client, backend, stream, question(client))
    assert seen.text == "42."
    assert len(seen.reasoning) == 1
    text, proof = seen.reasoning[0]
    assert text == THOUGHT
    assert expected_proof(client, backend, proof), proof


def upstream_effort(backend: str, body: dict[str, Any]) -> Any:
    if backend == "chat":
        return body.get("reasoning_effort")
    if backend == "responses":
        return (body.get("reasoning") or {}).get("effort"), "reasoning.encrypted_content" in body.get("include", [])
    thinking = body.get("thinking") or {}
    return (
        thinking.get("type"),
        thinking.get("budget_tokens", 0) >= 1024,
        body["max_tokens"] > thinking.get("budget_tokens", 0),
    )


REQUESTED: dict[str, dict[str, Any]] = {  # what each upstream was asked, from each client's way of asking for reasoning
    "chat": {"chat": "medium", "responses": "medium", "messages": "low"},
    "responses": {"chat": ("medium", True), "responses": ("medium", True), "messages": ("low", True)},
    "anthropic": {c: ("enabled", True, True) for c in ("chat", "responses", "messages")},
}


@matrix_params(stream=False)
async def test_reasoning_request_reaches_the_upstream(matrix: Rig, client: str, backend: str) -> None:
    await ask(matrix, client, backend, False, question(client))
    assert upstream_effort(backend, matrix.upstream(backend)) == REQUESTED[backend][client]


def upstream_reasoning(backend: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """Reasoning the upstream got back in its native form: (text, signature or encrypted content)."""
    if backend == "responses":
        items = [i for i in body["input"] if i.get("type") == "reasoning"]
        return [("".join(s["text"] for s in i.get("summary", [])), i["encrypted_content"]) for i in items]
    if backend == "anthropic":
        blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
        return [(b["thinking"], b["signature"]) for b in blocks if b["type"] == "thinking"]
    return [(m["reasoning_content"], "") for m in body["messages"] if "reasoning_content" in m]


@matrix_params()
async def test_reasoning_is_carried_back(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    matrix.fake.queue(turn(), Turn(text="Still 42."))
    first = await ask(matrix, client, backend, stream, question(client))
    matrix.fake.received.clear()
    follow = question(client)
    follow.messages += [history(client, first), user("are you sure?")]
    seen = await ask(matrix, client, backend, stream, follow)
    assert seen.text == "Still 42."
    body = matrix.upstream(backend)
    carried = upstream_reasoning(backend, body)
    native_proof = {"anthropic": SIGNATURE, "responses": ENCRYPTED}.get(backend)
    if backend == "chat":  # a Chat upstream takes the text back in reasoning_content, with no proof
        assert carried == [(THOUGHT, "")]
    elif client == "chat":  # reasoning_content has no proof: nothing an Anthropic or Responses target could verify
        assert carried == []
    else:
        assert carried == [(THOUGHT, native_proof)]
    # Never as plain text: the thought appears nowhere but inside a native reasoning item/block.
    assert orjson.dumps(body).decode().count(THOUGHT) == len(carried)


@matrix_params()
async def test_reasoning_in_a_tool_loop(matrix: Rig, client: str, backend: str, stream: bool) -> None:
    """Thinking, then a tool call; the result goes back with the thinking before the call, as Anthropic requires."""
    call = FakeToolCall("get_weather", '{"city": "Bern"}', "toolu_01Bern")
    matrix.fake.queue(
        Turn(
            text="", reasoning=THOUGHT, reasoning_signature=SIGNATURE, reasoning_encrypted=ENCRYPTED, tool_calls=[call]
        ),
        Turn(text="Bern: 12C."),
    )
    a = question(client)
    a.tools = [Tool("get_weather")]
    first = await ask(matrix, client, backend, stream, a)
    assert first.calls == [("toolu_01Bern", "get_weather", {"city": "Bern"})]
    matrix.fake.received.clear()
    a.messages += [history(client, first), results(Result("toolu_01Bern", "12C"))]
    seen = await ask(matrix, client, backend, stream, a)
    assert seen.text == "Bern: 12C."
    body = matrix.upstream(backend)
    if backend == "anthropic" and client != "chat":
        turn = next(m for m in body["messages"] if m["role"] == "assistant")
        assert [b["type"] for b in turn["content"]] == ["thinking", "tool_use"]
        assert turn["content"][0]["signature"] == SIGNATURE
    if backend == "anthropic":  # thinking stays on only where the loop's last assistant turn carries its block
        assert ("thinking" in body) is (client != "chat")
    if backend == "responses" and client != "chat":
        kinds = [i.get("type") for i in body["input"]]
        assert kinds[-3:] == ["reasoning", "function_call", "function_call_output"], kinds


SWITCHES = [(c, a, b) for c in ("chat", "responses", "messages") for a in BACKENDS for b in BACKENDS if a != b]


@pytest.mark.parametrize("loop", [False, True], ids=["answer", "tool-loop"])
@pytest.mark.parametrize(("client", "first", "second"), SWITCHES, ids=["-".join(s) for s in SWITCHES])
async def test_switching_backend_kind_mid_conversation(
    matrix: Rig, client: str, first: str, second: str, loop: bool
) -> None:
    """Turn 1 on one backend kind, turn 2 (failover, a model switch) on another, the client's own protocol included:
    reasoning the second upstream cannot verify (no proof, another provider's proof, lip's envelope of one) is
    dropped rather than sent for it to reject (a Chat upstream takes the text and checks nothing), and Anthropic
    thinking is left off where the API would then require a thinking block it no longer has; the fake upstreams
    reject what the real ones would."""
    calls = [FakeToolCall("get_weather", '{"city": "Bern"}', "toolu_01Bern")] if loop else []
    answer = Turn(
        text="" if loop else "42.",
        reasoning=THOUGHT,
        reasoning_signature=SIGNATURE,
        reasoning_encrypted=ENCRYPTED,
        tool_calls=calls,
    )
    matrix.fake.queue(answer, Turn(text="Still 42."))
    a = question(client)
    a.tools = [Tool("get_weather")]
    seen = await ask(matrix, client, first, False, a)
    matrix.fake.received.clear()
    a.messages += [history(client, seen), results(Result("toolu_01Bern", "12C")) if loop else user("are you sure?")]
    assert (await ask(matrix, client, second, False, a)).text == "Still 42."
    body = matrix.upstream(second)
    # a Chat upstream takes reasoning as plain text in reasoning_content, whoever made it (DeepSeek refuses a tool
    # loop without it); the others only with a proof of their own
    assert upstream_reasoning(second, body) == ([(THOUGHT, "")] if second == "chat" else [])
    assert "lip-" not in orjson.dumps(body).decode()
    assert orjson.dumps(body).decode().count(THOUGHT) == (1 if second == "chat" else 0)
