"""Claude Code's own request shapes (tests/integration/client_shapes.py) through lip to every backend kind.

An Anthropic upstream gets the body and the ``anthropic-beta`` flags exactly as Claude Code sent them; a Chat or
Responses upstream gets the faithful translation; and the Anthropic SDK's beta surface (what Claude Code uses:
``/v1/messages?beta=true``) parses every answer, stream and non-stream.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from anthropic.resources.beta.messages import AsyncMessages

from tests.fakes import FakeToolCall, FakeUsage, Turn
from tests.fakes.anthropic_messages import AnthropicMessages
from tests.integration import client_shapes as shapes
from tests.integration.matrix import MODEL, Rig

pytestmark = pytest.mark.asyncio(loop_scope="module")

KNOWN = shapes.sdk_params(AsyncMessages.create)
COUNT_KNOWN = shapes.sdk_params(AsyncMessages.count_tokens)
BETAS = list(shapes.CLAUDE_CODE_BETAS)
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
SYSTEM_TEXT = "\n\n".join(block["text"] for block in shapes.claude_code_system())
REMINDERS = [{"type": "text", "text": block["text"]} for block in shapes.claude_code_reminders()]
# Claude Code's metadata.user_id (~150 characters) as an OpenAI end-user id, which takes at most 64: hashed, stable.
SHORT_USER_ID = "lip-" + hashlib.sha256(shapes.CLAUDE_CODE_USER_ID.encode()).hexdigest()[:60]


async def send(rig: Rig, body: dict[str, Any]) -> Any:
    """``body`` as Claude Code sends it (the SDK's beta surface, its betas and headers); the final message."""
    kwargs = shapes.split_kwargs(body, KNOWN)
    stream = kwargs.pop("stream", False)
    headers = dict(shapes.CLAUDE_CODE_HEADERS)
    messages = rig.anthropic.beta.messages
    if not stream:  # an explicit timeout: the SDK refuses a non-streamed 32k-token request without one
        return await messages.create(**kwargs, betas=BETAS, extra_headers=headers, timeout=60)
    async with messages.stream(**kwargs, betas=BETAS, extra_headers=headers) as events:
        return await events.get_final_message()


def verbatim(body: dict[str, Any], backend: Any) -> dict[str, Any]:
    """``body`` as an upstream of the client's own protocol must receive it: only the model rewritten (the SDK
    leaves ``stream`` out of a non-streamed call)."""
    expected = {**body, "model": MODEL[backend]}
    if not expected.get("stream"):
        expected.pop("stream", None)
    return expected


def edit_turn(**extra: Any) -> Turn:
    arguments = json.dumps(shapes.CLAUDE_CODE_PATCH_INPUT)
    return Turn(text="I'll edit it.", tool_calls=[FakeToolCall("Edit", arguments, fragments=4)], **extra)


def claude_tools_as_functions() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]},
        }
        for t in shapes.claude_code_tools()
    ]


# ---------------------------------------------------------------- first turn


@STREAMS
async def test_first_turn_reaches_an_anthropic_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(edit_turn(reasoning="Find the greeting first."))
    body = shapes.claude_code_first_turn(Rig.selector("anthropic"), stream=stream)
    final = await send(matrix, body)

    assert matrix.upstream("anthropic") == verbatim(body, "anthropic")
    sent = matrix.requests("anthropic")[0]
    assert sent.headers["anthropic-beta"] == ",".join(BETAS)
    assert sent.headers["anthropic-version"] == matrix.anthropic.default_headers["anthropic-version"]
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].signature and final.content[2].input == shapes.CLAUDE_CODE_PATCH_INPUT
    assert final.stop_reason == "tool_use"


@STREAMS
async def test_first_turn_to_a_chat_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(edit_turn(reasoning="Find the greeting first."))
    final = await send(matrix, shapes.claude_code_first_turn(Rig.selector("chat"), stream=stream))

    sent = matrix.upstream("chat")
    assert sent["messages"] == [
        {"role": "system", "content": SYSTEM_TEXT},
        {"role": "user", "content": [*REMINDERS, {"type": "text", "text": "Rename the greeting in src/app.py"}]},
    ]
    assert sent["tools"] == claude_tools_as_functions()
    assert (sent["max_tokens"], sent["temperature"], sent["user"]) == (32000, 1, SHORT_USER_ID)
    assert sent["reasoning_effort"] == "high"  # thinking budget 31999
    assert "anthropic-beta" not in matrix.requests("chat")[0].headers
    assert not {"thinking", "context_management", "metadata", "system"} & set(sent)
    # the Chat provider's reasoning_content comes back as a thinking block (unsigned: it cannot be sent back)
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].thinking == "Find the greeting first."
    assert final.content[2].name == "Edit" and final.content[2].input == shapes.CLAUDE_CODE_PATCH_INPUT
    assert final.stop_reason == "tool_use"


@STREAMS
async def test_first_turn_to_a_responses_upstream(matrix: Rig, stream: bool) -> None:
    usage = FakeUsage(input_tokens=900, output_tokens=40, cached=600, reasoning=12)
    matrix.fake.queue(edit_turn(reasoning="Find the greeting first.", usage=usage))
    final = await send(matrix, shapes.claude_code_first_turn(Rig.selector("responses"), stream=stream))

    sent = matrix.upstream("responses")
    assert sent["instructions"] == SYSTEM_TEXT
    assert sent["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": b["text"]}
                for b in [*REMINDERS, {"text": "Rename the greeting in src/app.py"}]
            ],
        }
    ]
    assert sent["tools"] == [
        {**f["function"], "type": "function", "strict": False} for f in claude_tools_as_functions()
    ]
    assert sent["reasoning"] == {"effort": "high"}
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert (sent["max_output_tokens"], sent["temperature"], sent["store"]) == (32000, 1, False)
    assert sent["user"] == SHORT_USER_ID  # metadata.user_id is longer than the 64 characters OpenAI takes
    # encrypted reasoning comes back as a thinking block whose signature carries it home on the next turn
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[0].signature.startswith("lip-encrypted:")
    assert final.content[2].input == shapes.CLAUDE_CODE_PATCH_INPUT
    assert final.usage.cache_read_input_tokens == 600 and final.usage.input_tokens == 300


# ---------------------------------------------------------------- the tool loop, with a mid-conversation system turn


@STREAMS
async def test_tool_loop_reaches_an_anthropic_upstream_verbatim(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="The Makefile has no test target; run pytest instead?"))
    body = shapes.claude_code_tool_loop(Rig.selector("anthropic"), stream=stream)
    final = await send(matrix, body)

    assert matrix.upstream("anthropic") == verbatim(body, "anthropic")
    assert final.content[0].text.startswith("The Makefile") and final.stop_reason == "end_turn"


@STREAMS
async def test_tool_loop_to_a_chat_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="The Makefile has no test target."))
    final = await send(matrix, shapes.claude_code_tool_loop(Rig.selector("chat"), stream=stream))

    sent = matrix.upstream("chat")
    read, bash = (
        {"id": "toolu_01A09q90qw90lq917835lq9", "name": "Read", "args": {"file_path": "/home/dev/project/src/app.py"}},
        {
            "id": "toolu_01B8s7d6f5g4h3j2k1l0m9n",
            "name": "Bash",
            "args": {"command": "make test", "description": "Run the test suite"},
        },
    )
    assert sent["messages"][2:] == [
        {
            "role": "assistant",
            "content": "Let me look at the file and the tests.",
            # the turn's thinking goes back as text: DeepSeek-style upstreams refuse a tool loop without it
            "reasoning_content": "I should look at the file first, then run the tests.",
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["args"], separators=(",", ":"))},
                }
                for c in (read, bash)
            ],
        },
        {"role": "tool", "tool_call_id": read["id"], "content": "     1\tprint('hi')\n"},
        {
            "role": "tool",
            "tool_call_id": bash["id"],
            "content": "Error: make: *** No rule to make target 'test'.  Stop.",
        },
        {"role": "system", "content": "<total_tokens>14999970 tokens left</total_tokens>"},
    ]
    assert sent["reasoning_effort"] == "high" and sent["max_tokens"] == 64000
    assert final.content[0].text == "The Makefile has no test target."


@STREAMS
async def test_tool_loop_to_a_responses_upstream(matrix: Rig, stream: bool) -> None:
    matrix.fake.queue(Turn(text="The Makefile has no test target."))
    final = await send(matrix, shapes.claude_code_tool_loop(Rig.selector("responses"), stream=stream))

    sent = matrix.upstream("responses")
    kinds = [(i["type"], i.get("role")) for i in sent["input"]]
    assert kinds == [
        ("message", "user"),
        ("message", "assistant"),
        ("function_call", None),
        ("function_call", None),
        ("function_call_output", None),
        ("function_call_output", None),
        ("message", "system"),
    ]  # the signed thinking block has no Responses form: dropped, never sent as text
    assert sent["input"][5]["output"] == "Error: make: *** No rule to make target 'test'.  Stop."
    assert sent["input"][6]["content"] == [
        {"type": "input_text", "text": "<total_tokens>14999970 tokens left</total_tokens>"}
    ]
    assert sent["reasoning"] == {"effort": "high"}
    assert final.content[0].text == "The Makefile has no test target."


# ---------------------------------------------------------------- helper calls: tools: [] and an assistant prefill


async def test_prefill_helper_reaches_an_anthropic_upstream_verbatim(matrix: Rig) -> None:
    matrix.fake.queue(Turn(text='"isNewTopic": true, "title": "Rename greeting"}'))
    body = shapes.claude_code_prefill(Rig.selector("anthropic"))
    final = await send(matrix, body)
    assert matrix.upstream("anthropic") == verbatim(body, "anthropic")
    assert final.content[0].text.endswith("}")


@pytest.mark.parametrize("backend", ["chat", "responses"])
async def test_prefill_helper_to_openai_upstreams(matrix: Rig, backend: Any) -> None:
    matrix.fake.queue(Turn(text='"isNewTopic": true, "title": "Rename greeting"}'))
    final = await send(matrix, shapes.claude_code_prefill(Rig.selector(backend)))

    sent = matrix.upstream(backend)
    assert "tools" not in sent and "tool_choice" not in sent
    if backend == "chat":
        assert sent["messages"][-1] == {"role": "assistant", "content": "{"}  # the prefill stays the last turn
    else:
        last = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "{"}]}
        assert sent["input"][-1] == last
    assert final.content[0].text == '"isNewTopic": true, "title": "Rename greeting"}'


# ---------------------------------------------------------------- count_tokens


async def count(rig: Rig, backend: Any) -> Any:
    kwargs = shapes.split_kwargs(shapes.claude_code_count_tokens(Rig.selector(backend)), COUNT_KNOWN)
    return await rig.anthropic.beta.messages.count_tokens(
        **kwargs, betas=BETAS, extra_headers=dict(shapes.CLAUDE_CODE_HEADERS)
    )


async def test_count_tokens_is_exact_from_an_anthropic_upstream(matrix: Rig) -> None:
    counted = await count(matrix, "anthropic")
    [sent] = matrix.fake.requests_to("/v1/messages/count_tokens")
    assert sent.body == shapes.claude_code_count_tokens(MODEL["anthropic"])
    assert sent.headers["anthropic-beta"].split(",")[: len(BETAS)] == BETAS  # the SDK adds token-counting
    assert counted.input_tokens == AnthropicMessages().count_tokens(sent.body)["input_tokens"]


@pytest.mark.parametrize("backend", ["chat", "responses"])
async def test_count_tokens_is_estimated_for_openai_upstreams(matrix: Rig, backend: Any) -> None:
    counted = await count(matrix, backend)
    assert counted.input_tokens > 1000  # the system prompt and nine tool schemas
    assert not [r for r in matrix.fake.received if not r.path.endswith("/models")]  # no upstream call


async def test_responses_reasoning_rides_home_in_claude_codes_history(matrix: Rig) -> None:
    """Encrypted reasoning reaches Claude Code as a thinking block; sent back, it reaches the Responses upstream as
    the reasoning item it was (never as text)."""
    matrix.fake.queue(edit_turn(reasoning="Find the greeting first.", reasoning_encrypted="gAAAAB-opaque-blob"))
    first = shapes.claude_code_first_turn(Rig.selector("responses"), stream=True)
    final = await send(matrix, first)
    history = [block.model_dump(exclude_none=True) for block in final.content]
    result = {"type": "tool_result", "tool_use_id": final.content[2].id, "content": "The file has been updated."}
    matrix.reset()
    matrix.fake.queue(Turn(text="Done."))
    await send(
        matrix,
        {
            **first,
            "messages": [
                *first["messages"],
                {"role": "assistant", "content": history},
                {"role": "user", "content": [result]},
            ],
        },
    )

    sent = matrix.upstream("responses")
    assert [i for i in sent["input"] if i["type"] == "reasoning"] == [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Find the greeting first."}],
            "encrypted_content": "gAAAAB-opaque-blob",
        }
    ]
    assert sent["input"][-1] == {
        "type": "function_call_output",
        "call_id": final.content[2].id,
        "output": "The file has been updated.",
    }


# ---------------------------------------------------------------- an image inside a tool result (Read on a PNG)


@pytest.mark.parametrize("backend", ["anthropic", "chat", "responses"])
async def test_an_image_tool_result_reaches_every_upstream(matrix: Rig, backend: Any) -> None:
    matrix.fake.queue(Turn(text="The screenshot shows a login form."))
    body = shapes.claude_code_screenshot_result(Rig.selector(backend))
    final = await send(matrix, body)

    sent = matrix.upstream(backend)
    data_url = f"data:image/png;base64,{shapes.PNG_1PX}"
    if backend == "anthropic":
        assert sent == verbatim(body, "anthropic")
    elif backend == "responses":
        assert sent["input"][-1] == {
            "type": "function_call_output",
            "call_id": "toolu_01Screenshot0000000000",
            "output": [{"type": "input_image", "image_url": data_url, "detail": "auto"}],
        }
    else:  # a Chat tool message takes text only: the image follows it in a user message
        tool, image = sent["messages"][-2:]
        assert tool == {"role": "tool", "tool_call_id": "toolu_01Screenshot0000000000", "content": ""}
        assert image["role"] == "user"
        assert {"type": "image_url", "image_url": {"url": data_url}} in image["content"]
    assert final.content[0].text == "The screenshot shows a login form."
