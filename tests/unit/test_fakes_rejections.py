"""The fakes reject what the real providers reject, with the provider's status, error shape and message."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import FakeProvider, FakeToolCall, Turn
from tests.fakes import conformance as conf
from tests.fakes.rawhttp import request

USER = {"role": "user", "content": "hi"}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
TOOL_RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"messages": [USER]}, None, "you must provide a model parameter"),
        ({"model": "m"}, "messages", "Missing required parameter: 'messages'"),
        ({"model": "m", "messages": []}, "messages", "empty array"),
        (
            {"model": "m", "messages": [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]},
            "messages.[1].role",
            "must be a response to a preceeding message with 'tool_calls'",
        ),
        (
            {"model": "m", "messages": [USER, {"role": "assistant", "tool_calls": [CALL]}, USER]},
            "messages.[1].role",
            "did not have response messages: call_1",
        ),
        (
            {
                "model": "m",
                "messages": [
                    USER,
                    {"role": "assistant", "tool_calls": [CALL]},
                    {"role": "tool", "tool_call_id": "call_2", "content": "x"},
                ],
            },
            "messages.[2].tool_call_id",
            "'call_2' not found",
        ),
        (
            {"model": "m", "messages": [USER], "tools": [{"type": "function", "name": "f", "parameters": {}}]},
            "tools[0].function",
            "Missing required parameter: 'tools[0].function'",
        ),
        (
            {"model": "m", "messages": [USER], "tools": [{"type": "function", "function": {"name": "mcp.github"}}]},
            "tools[0].function.name",
            "string does not match pattern",
        ),
        (
            {"model": "m", "messages": [USER], "tools": [{"type": "function", "function": {"name": "f" * 65}}]},
            "tools[0].function.name",
            "maximum length 64",
        ),
        ({"model": "m", "messages": [USER], "stream_options": {"include_usage": True}}, "stream_options", "stream"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "Invalid value"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a"}}]}]},
            "messages[0].content[0]",
            "one of file_data or file_id",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_data": "JVBE"}}]}],
            },
            "messages[0].content[0]",
            "data URL",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            "messages[0].content[0].type",
            "Invalid value: 'document'",
        ),
    ],
)
async def test_chat_rejects(
    fake_provider: FakeProvider, body: dict[str, Any], param: str | None, fragment: str
) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", body)
    assert reply.status == 400
    error = conf.check_openai_error(reply.json())
    assert error.type == "invalid_request_error" and error.param == param and fragment in error.message


async def test_chat_accepts_answered_tool_calls(fake_provider: FakeProvider) -> None:
    messages = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", {"model": "m", "messages": messages})
    assert reply.status == 200


async def test_chat_invalid_json(fake_provider: FakeProvider) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", b"{nope")
    assert reply.status == 400 and "could not parse the JSON body" in conf.check_openai_error(reply.json()).message
    assert fake_provider.last.body is None and fake_provider.last.raw == b"{nope"


@pytest.mark.parametrize(
    ("body", "param", "code", "fragment"),
    [
        ({"input": "x"}, "model", "missing_required_parameter", "'model'"),
        ({"model": "m"}, "input", "missing_required_parameter", "'input'"),
        (
            {"model": "m", "input": "x", "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            "tools[0].name",
            "missing_required_parameter",
            "Missing required parameter: 'tools[0].name'.",
        ),
        (
            {"model": "m", "input": [{"type": "function_call_output", "call_id": "call_9", "output": "x"}]},
            "input",
            None,
            "No tool call found for function call output with call_id call_9.",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "call_id": "call_9", "name": "f", "arguments": "{}"}]},
            "input",
            None,
            "No tool output found for function call call_9.",
        ),
        (
            {"model": "m", "input": [{"type": "additional_tools", "role": "user", "tools": []}]},
            "input[0].role",
            None,
            "expected 'developer'",
        ),
        (
            {
                "model": "m",
                "input": "x",
                "tools": [{"type": "namespace", "name": "ns", "tools": [{"type": "function"}]}],
            },
            "tools[0].tools[0].name",
            "missing_required_parameter",
            "Missing required parameter",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "filename": "a.pdf"}]}]},
            "input[0].content[0]",
            "invalid_value",
            "one of file_data, file_id or file_url",
        ),
        (
            {"model": "m", "input": "x", "previous_response_id": "resp_missing"},
            "previous_response_id",
            "previous_response_not_found",
            "Previous response with id 'resp_missing' not found.",
        ),
    ],
)
async def test_responses_rejects(
    fake_provider: FakeProvider, body: dict[str, Any], param: str, code: str | None, fragment: str
) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/responses", body)
    assert reply.status == 400
    error = conf.check_openai_error(reply.json())
    assert (error.param, error.code) == (param, code) and fragment in error.message


async def test_responses_rejects_a_reasoning_reference_it_never_stored(fake_provider: FakeProvider) -> None:
    reasoning = {"type": "reasoning", "id": "rs_unknown", "summary": []}
    body = {"model": "m", "input": [reasoning, {"type": "message", "role": "user", "content": "x"}]}
    reply = await request("POST", f"{fake_provider.url}/v1/responses", body)
    assert reply.status == 404
    assert "Item with id 'rs_unknown' not found" in conf.check_openai_error(reply.json()).message
    with_proof = {**reasoning, "encrypted_content": "gAAAAAB"}
    reply = await request(
        "POST", f"{fake_provider.url}/v1/responses", {**body, "input": [with_proof, body["input"][1]]}
    )
    assert reply.status == 200


async def test_responses_chat_shaped_tools_via_sdk(fake_provider: FakeProvider) -> None:
    async with openai.AsyncOpenAI(base_url=f"{fake_provider.url}/v1", api_key="k", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.responses.create(
                model="m",
                input="x",
                tools=[{"type": "function", "function": {"name": "f"}}],  # type: ignore[list-item]
            )
    assert caught.value.status_code == 400 and caught.value.param == "tools[0].name"
    assert caught.value.code == "missing_required_parameter"


async def test_responses_store_false_is_not_retrievable(fake_provider: FakeProvider) -> None:
    url = f"{fake_provider.url}/v1/responses"
    fake_provider.queue(Turn(text="", tool_calls=[FakeToolCall("f", "{}", id="call_1")]))
    first = (await request("POST", url, {"model": "m", "input": "x", "store": False})).json()
    follow = {
        "model": "m",
        "previous_response_id": first["id"],
        "input": [{"type": "function_call_output", "call_id": "call_1", "output": "ok"}],
    }
    reply = await request("POST", url, follow)
    assert reply.status == 400 and conf.check_openai_error(reply.json()).code == "previous_response_not_found"


async def test_responses_inline_function_call_pairs(fake_provider: FakeProvider) -> None:
    items = [
        {"role": "user", "content": "x"},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    ]
    reply = await request("POST", f"{fake_provider.url}/v1/responses", {"model": "m", "input": items})
    assert reply.status == 200


def _anthropic(**overrides: Any) -> dict[str, Any]:
    return {"model": "claude-test", "max_tokens": 100, "messages": [USER], **overrides}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "claude-test", "messages": [USER]}, "max_tokens: Field required"),
        ({"max_tokens": 10, "messages": [USER]}, "model: Field required"),
        ({"model": "claude-test", "max_tokens": 10}, "messages: Field required"),
        (_anthropic(messages=[]), "at least one message"),
        (_anthropic(messages=[{"role": "assistant", "content": "x"}]), 'first message must use the "user" role'),
        (_anthropic(messages=[{"role": "system", "content": "x"}, USER]), 'Unexpected role "system"'),
        (
            _anthropic(messages=[USER, {"role": "assistant", "content": "a"}, {"role": "system", "content": "x"}]),
            'messages.2: Unexpected role "system" here',
        ),
        (
            _anthropic(messages=[USER, {"role": "system", "content": "x"}, USER]),
            'messages.1: Unexpected role "system" here',
        ),
        (
            _anthropic(messages=[{"role": "user", "content": [TOOL_RESULT]}]),
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
        ),
        (
            _anthropic(messages=[USER, {"role": "assistant", "content": [TOOL_USE]}, USER]),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            _anthropic(
                messages=[USER, {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"}]}, USER]
            ),
            "messages.1.content.0.thinking.signature: Field required",
        ),
        (
            _anthropic(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
            "tools.0: Input tag 'function'",
        ),
        (_anthropic(tools=[{"name": "f"}]), "tools.0.custom.input_schema: Field required"),
        (
            _anthropic(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "document", "source": {"type": "base64", "media_type": "text/plain", "data": "x"}}
                        ],
                    }
                ]
            ),
            "messages.0.content.0.document.source",
        ),
        (
            _anthropic(tools=[{"name": "mcp.github", "input_schema": {"type": "object"}}]),
            "tools.0.custom.name: String should match pattern",
        ),
        (
            _anthropic(thinking={"type": "enabled", "budget_tokens": 2048}),
            "must be greater than `thinking.budget_tokens`",
        ),
        (_anthropic(temperature=1.5), "temperature"),
        (
            _anthropic(
                max_tokens=4096,
                thinking={"type": "enabled", "budget_tokens": 2048},
                messages=[
                    USER,
                    {"role": "assistant", "content": [TOOL_USE]},
                    {"role": "user", "content": [TOOL_RESULT]},
                ],
            ),
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`",
        ),
    ],
)
async def test_anthropic_rejects(fake_provider: FakeProvider, body: dict[str, Any], fragment: str) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/messages", body, ANTHROPIC_HEADERS)
    assert reply.status == 400
    error = conf.check_anthropic_error(reply.json())
    assert error.error.type == "invalid_request_error" and fragment in error.error.message


async def test_anthropic_takes_a_mid_conversation_system_turn(fake_provider: FakeProvider) -> None:
    """``role: "system"`` after a user turn, last or before an assistant turn (the SDK's SystemMessageParam)."""
    system = {"role": "system", "content": [{"type": "text", "text": "Be brief from now on."}]}
    for messages in ([USER, system], [USER, system, {"role": "assistant", "content": "ok"}, USER]):
        reply = await request(
            "POST", f"{fake_provider.url}/v1/messages", _anthropic(messages=messages), ANTHROPIC_HEADERS
        )
        assert reply.status == 200, reply.json()


async def test_anthropic_requires_version_header(fake_provider: FakeProvider) -> None:
    reply = await request("POST", f"{fake_provider.url}/v1/messages", _anthropic(), {"x-api-key": "k"})
    assert reply.status == 400
    assert "anthropic-version" in conf.check_anthropic_error(reply.json()).error.message


async def test_anthropic_accepts_tool_round_trip(fake_provider: FakeProvider) -> None:
    thinking = {"type": "thinking", "thinking": "t", "signature": "sig"}
    messages = [
        USER,
        {"role": "assistant", "content": [thinking, TOOL_USE]},
        {"role": "user", "content": [TOOL_RESULT]},
    ]
    reply = await request("POST", f"{fake_provider.url}/v1/messages", _anthropic(messages=messages), ANTHROPIC_HEADERS)
    assert reply.status == 200


async def test_anthropic_tool_result_without_tool_use_via_sdk(fake_provider: FakeProvider) -> None:
    async with anthropic.AsyncAnthropic(base_url=fake_provider.url, api_key="k", max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(
                model="claude-test",
                max_tokens=10,
                messages=[{"role": "user", "content": [TOOL_RESULT]}],  # type: ignore[list-item]
            )
    assert caught.value.status_code == 400 and "unexpected `tool_use_id`" in caught.value.message


async def test_strict_models(fake_provider: FakeProvider) -> None:
    fake_provider.strict_models = True
    fake_provider.models = ["known"]
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", {"model": "nope", "messages": [USER]})
    assert reply.status == 404 and conf.check_openai_error(reply.json()).code == "model_not_found"
    reply = await request("POST", f"{fake_provider.url}/v1/messages", _anthropic(model="nope"), ANTHROPIC_HEADERS)
    assert reply.status == 404 and conf.check_anthropic_error(reply.json()).error.type == "not_found_error"
    reply = await request("POST", f"{fake_provider.url}/v1/responses", {"model": "known", "input": "x"})
    assert reply.status == 200


async def test_rejections_do_not_consume_the_script(fake_provider: FakeProvider) -> None:
    fake_provider.queue(Turn(text="scripted"))
    await request("POST", f"{fake_provider.url}/v1/chat/completions", {"model": "m"})
    reply = await request("POST", f"{fake_provider.url}/v1/chat/completions", {"model": "m", "messages": [USER]})
    assert reply.json()["choices"][0]["message"]["content"] == "scripted"
