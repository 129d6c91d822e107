"""What survives translation on the request side, from every client to every backend kind: the system prompt
(``system`` / ``instructions`` / a ``developer`` message), multi-turn history, stop sequences, max tokens (each
protocol's own field), temperature and top_p, the end user's id; and a parameter a target cannot honour that would
change the meaning (``n > 1``) is a clear 400 in the client's shape, sent nowhere."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes.conformance import check_openai_error
from tests.integration.matrix import (
    BACKENDS,
    CLIENTS,
    Ask,
    Rig,
    ask,
    assistant,
    matrix_params,
    upstream_conversation,
    user,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


HISTORY = [user("My name is Ada."), assistant("Nice to meet you, Ada."), user("What is my name?")]


@pytest.mark.parametrize("role", ["system", "developer"])
@matrix_params(stream=False)
async def test_system_prompt_and_history(matrix: Rig, client: str, backend: str, role: str) -> None:
    if role == "developer" and client == "messages":
        pytest.skip("Anthropic Messages has no developer role")
    await ask(matrix, client, backend, False, Ask(HISTORY, system="Answer in one word.", system_role=role))  # type: ignore[arg-type]
    system, turns = upstream_conversation(backend, matrix.upstream(backend))
    assert system == "Answer in one word."
    assert turns == [("user", "My name is Ada."), ("assistant", "Nice to meet you, Ada."), ("user", "What is my name?")]


def upstream_params(backend: str, body: dict[str, Any]) -> dict[str, Any]:
    """max tokens, temperature, top_p, stop and user under their neutral names."""
    if backend == "chat":
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        stop = body.get("stop")
        user_id = body.get("user")
    elif backend == "responses":
        max_tokens, stop = body.get("max_output_tokens"), None
        user_id = body.get("safety_identifier") or body.get("user")
    else:
        max_tokens, stop = body.get("max_tokens"), body.get("stop_sequences")
        user_id = (body.get("metadata") or {}).get("user_id")
    return {
        "max_tokens": max_tokens,
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "stop": stop,
        "user": user_id,
    }


@matrix_params(stream=False)
async def test_generation_parameters(matrix: Rig, client: str, backend: str) -> None:
    stop = None if client == "responses" else ["END", "STOP"]
    a = Ask([user("go")], max_tokens=321, temperature=0.3, top_p=0.9, stop=stop, user="user-42")
    await ask(matrix, client, backend, False, a)
    expected = {"max_tokens": 321, "temperature": 0.3, "top_p": 0.9, "stop": stop, "user": "user-42"}
    if backend == "responses":
        expected["stop"] = None  # Responses has no stop sequences: dropped
    assert upstream_params(backend, matrix.upstream(backend)) == expected


@pytest.mark.parametrize("client", ["chat", "responses"])
@pytest.mark.parametrize("backend", ["chat", "responses"])
async def test_openai_metadata(matrix: Rig, client: str, backend: str) -> None:
    if backend == "chat" and client != "chat":
        pytest.skip("Chat metadata belongs to stored completions: not sent to Chat-compatible backends")
    await ask(matrix, client, backend, False, Ask([user("go")], extra={"metadata": {"trace": "t-1"}, "store": True}))
    assert matrix.upstream(backend)["metadata"] == {"trace": "t-1"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_n_above_one_is_refused_where_it_cannot_be_honoured(matrix: Rig, backend: str) -> None:
    a = Ask([user("two answers please")], extra={"n": 2})
    if backend == "chat":
        seen = await ask(matrix, "chat", backend, False, a)
        assert len(seen.raw.choices) == 2
        assert matrix.upstream(backend)["n"] == 2
        return
    with pytest.raises(openai.BadRequestError) as caught:
        await ask(matrix, "chat", backend, False, a)
    error = check_openai_error({"error": caught.value.body})
    assert error.param == "n" and "'n'" in error.message
    assert matrix.fake.received == []


@pytest.mark.parametrize("client", CLIENTS)
async def test_n_of_one_is_harmless(matrix: Rig, client: str) -> None:
    if client != "chat":
        pytest.skip("only Chat has n")
    for backend in BACKENDS:
        await ask(matrix, client, backend, False, Ask([user("one")], extra={"n": 1}))
    assert len(matrix.fake.received) == 3
