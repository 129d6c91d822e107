"""Thought signatures survive a client's round trip: a Gemini upstream answers an OpenAI Chat, OpenAI Responses,
Anthropic Messages or Gemini client, the client sends the turn back as it would (with its tool results), and the
body lip sends Gemini next has every signature on the part it came on. Without this, Gemini 3 refuses the second
turn of every tool loop ("Function call is missing a thought_signature")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from google.genai import types

from lip.canonical.collect import collect
from lip.canonical.request import Request
from lip.protocols.gemini import GeminiCodec, wire
from lip.protocols.registry import codec_of

GEMINI = GeminiCodec()
CALL_SIG = "CiQBjz1rX2ZpcnN0LWNhbGwtc2lnbmF0dXJlLys="  # base64 with + and /, as Gemini sends them
TEXT_SIG = "Cg8BZmluYWwtdGV4dC1zaWc="
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}


def _gemini_answer(*parts: dict[str, Any]) -> dict[str, Any]:
    body = {
        "candidates": [{"content": {"parts": list(parts), "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "totalTokenCount": 30},
        "modelVersion": "gemini-3-pro-preview",
        "responseId": "resp-abc",
    }
    types.GenerateContentResponse.model_validate_json(orjson.dumps(body))
    return body


TOOL_TURN = _gemini_answer(
    {"text": "Let me check both.", "thought": True},
    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": CALL_SIG},
    {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
)
TEXT_TURN = _gemini_answer({"text": "It is sunny in both.", "thoughtSignature": TEXT_SIG})


# ---- each client protocol: its first request, and its next one built from lip's answer as its clients do


def _chat_first() -> dict[str, Any]:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}
    return {"model": "g", "messages": [{"role": "user", "content": "Weather in Paris and Rome?"}], "tools": [tool]}


def _chat_next(first: dict[str, Any], answer: dict[str, Any], results: list[str]) -> dict[str, Any]:
    message = answer["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    tool_messages = [
        {"role": "tool", "tool_call_id": c["id"], "content": r} for c, r in zip(calls, results, strict=False)
    ]
    return {**first, "messages": [*first["messages"], message, *tool_messages]}


def _anthropic_first() -> dict[str, Any]:
    tool = {"name": "get_weather", "input_schema": WEATHER}
    user = {"role": "user", "content": "Weather in Paris and Rome?"}
    return {"model": "g", "max_tokens": 1024, "messages": [user], "tools": [tool]}


def _anthropic_next(first: dict[str, Any], answer: dict[str, Any], results: list[str]) -> dict[str, Any]:
    blocks = answer["content"]
    uses = [b for b in blocks if b["type"] == "tool_use"]
    tool_results = [
        {"type": "tool_result", "tool_use_id": u["id"], "content": r} for u, r in zip(uses, results, strict=False)
    ]
    turns = [{"role": "assistant", "content": blocks}]
    if tool_results:
        turns.append({"role": "user", "content": tool_results})
    return {**first, "messages": [*first["messages"], *turns]}


def _responses_first() -> dict[str, Any]:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER, "strict": False}
    return {"model": "g", "input": "Weather in Paris and Rome?", "tools": [tool]}


def _responses_next(first: dict[str, Any], answer: dict[str, Any], results: list[str]) -> dict[str, Any]:
    output = answer["output"]
    calls = [item for item in output if item["type"] == "function_call"]
    outputs = [
        {"type": "function_call_output", "call_id": c["call_id"], "output": r}
        for c, r in zip(calls, results, strict=False)
    ]
    earlier = first["input"] if isinstance(first["input"], list) else [{"role": "user", "content": first["input"]}]
    return {**first, "input": [*earlier, *output, *outputs]}


def _gemini_first() -> dict[str, Any]:
    declaration = {"name": "get_weather", "parametersJsonSchema": WEATHER}
    contents = [{"role": "user", "parts": [{"text": "Weather in Paris and Rome?"}]}]
    return {"model": "g", "contents": contents, "tools": [{"functionDeclarations": [declaration]}]}


def _gemini_next(first: dict[str, Any], answer: dict[str, Any], results: list[str]) -> dict[str, Any]:
    content = answer["candidates"][0]["content"]
    calls = [p["functionCall"] for p in content["parts"] if "functionCall" in p]
    responses = [
        {"functionResponse": {"name": c["name"], "response": {"output": r}}}
        for c, r in zip(calls, results, strict=False)
    ]
    turns = [content] + ([{"role": "user", "parts": responses}] if responses else [])
    return {**first, "contents": [*first["contents"], *turns]}


Next = Callable[[dict[str, Any], dict[str, Any], list[str]], dict[str, Any]]
CLIENTS: dict[str, tuple[Callable[[], dict[str, Any]], Next]] = {
    "openai_chat": (_chat_first, _chat_next),
    "anthropic_messages": (_anthropic_first, _anthropic_next),
    "openai_responses": (_responses_first, _responses_next),
    "gemini": (_gemini_first, _gemini_next),
}


def _turn(protocol: str, body: dict[str, Any], answer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What lip sends Gemini for ``body``, and what the client gets when Gemini answers ``answer``."""
    client = codec_of(protocol)
    assert client is not None
    request = client.decode_request(body, {})
    upstream = GEMINI.encode_request(request, "gemini-3-pro-preview")
    for content in upstream["contents"]:
        types.Content.model_validate_json(orjson.dumps(content))
    for tool in upstream.get("tools", []):
        types.Tool.model_validate_json(orjson.dumps(tool))
    response = collect(GEMINI.decode_response(answer, request))
    return upstream, client.encode_response(response, request)


def _model_parts(upstream: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [c["parts"] for c in upstream["contents"] if c["role"] == "model"]


@pytest.mark.parametrize("protocol", list(CLIENTS))
def test_a_tool_loops_signatures_come_back_on_their_parts_from_every_client(protocol: str) -> None:
    first, next_body = CLIENTS[protocol]
    body = first()
    upstream, answer = _turn(protocol, body, TOOL_TURN)
    assert protocol == "gemini" or upstream["tools"] == [  # a Gemini client's own tools go as it sent them
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]},
                }
            ]
        }
    ]
    body = next_body(body, answer, ["sunny", "cloudy"])
    upstream, answer = _turn(protocol, body, TEXT_TURN)
    [model] = _model_parts(upstream)
    calls = [p for p in model if "functionCall" in p]
    assert [c["functionCall"] for c in calls] == [
        {"name": "get_weather", "args": {"city": "Paris"}},
        {"name": "get_weather", "args": {"city": "Rome"}},
    ]
    assert calls[0]["thoughtSignature"] == CALL_SIG  # the one Gemini 3 checks
    assert "thoughtSignature" not in calls[1]  # a parallel call has none, and gets none
    user = upstream["contents"][-1]
    assert user["role"] == "user"
    assert [p["functionResponse"] for p in user["parts"]] == [
        {"name": "get_weather", "response": {"output": "sunny"}},
        {"name": "get_weather", "response": {"output": "cloudy"}},
    ]
    if protocol == "openai_chat":
        return  # a Chat message has no field for a text part's signature; the call's rides in its id
    body = next_body(body, answer, [])
    body = _add_user_turn(protocol, body)
    upstream, _ = _turn(protocol, body, TEXT_TURN)
    last_model = _model_parts(upstream)[-1]
    assert {"text": "It is sunny in both.", "thoughtSignature": TEXT_SIG} in last_model


def _add_user_turn(protocol: str, body: dict[str, Any]) -> dict[str, Any]:
    if protocol == "gemini":
        return {**body, "contents": [*body["contents"], {"role": "user", "parts": [{"text": "thanks"}]}]}
    key = "input" if protocol == "openai_responses" else "messages"
    return {**body, key: [*body[key], {"role": "user", "content": "thanks"}]}


def test_a_call_another_provider_made_gets_googles_stand_in_signature() -> None:
    chat = codec_of("openai_chat")
    assert chat is not None
    call = {"id": "call_abc", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
    body = {
        "model": "g",
        "messages": [
            {"role": "user", "content": "list"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "a b"},
        ],
    }
    upstream = GEMINI.encode_request(chat.decode_request(body, {}), "gemini-3-flash")
    [model] = _model_parts(upstream)
    assert model == [{"functionCall": {"name": "ls", "args": {}}, "thoughtSignature": wire.FOREIGN_SIGNATURE}]


def test_reasoning_from_other_providers_never_reaches_gemini() -> None:
    anthropic = codec_of("anthropic_messages")
    assert anthropic is not None
    assistant = [
        {"type": "thinking", "thinking": "secret plan", "signature": "anthropic-sig"},
        {"type": "text", "text": "Hello"},
    ]
    body = {
        "model": "g",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": "more"},
        ],
    }
    upstream = GEMINI.encode_request(anthropic.decode_request(body, {}), "gemini-2.5-flash")
    assert _model_parts(upstream) == [[{"text": "Hello"}]]


def test_a_gemini_clients_ids_and_signatures_round_trip_through_same_protocol_translation() -> None:
    body = _gemini_first()
    body = _gemini_next(body, TOOL_TURN, ["sunny", "cloudy"])
    request = GEMINI.decode_request(body, {})
    upstream = GEMINI.encode_request(request, "gemini-3-pro-preview")
    model = _model_parts(upstream)[0]
    assert model[0] == {"text": "Let me check both.", "thought": True} or "thoughtSignature" in model[0]
    assert [p.get("thoughtSignature") for p in model if "functionCall" in p] == [CALL_SIG, None]


def test_a_request_without_its_tool_results_gets_error_responses_in_call_order() -> None:
    chat = codec_of("openai_chat")
    assert chat is not None
    calls = [
        {"id": "a", "type": "function", "function": {"name": "one", "arguments": "{}"}},
        {"id": "b", "type": "function", "function": {"name": "two", "arguments": "{}"}},
    ]
    body = {
        "model": "g",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "b", "content": "two done"},
            {"role": "tool", "tool_call_id": "zzz", "content": "stray"},
        ],
    }
    request: Request = chat.decode_request(body, {})
    user = GEMINI.encode_request(request, "gemini-2.5-flash")["contents"][-1]
    assert user["parts"] == [
        {"functionResponse": {"name": "one", "response": {"error": "No result was provided for this tool call."}}},
        {"functionResponse": {"name": "two", "response": {"output": "two done"}}},
        {"text": "[result of tool call zzz]\nstray"},
    ]
