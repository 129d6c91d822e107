"""The Go project's stub examples, unchanged, served by lip and asked through the official SDK: the bare model goes
to the default route, and the stub answers with the file's text, usage and (in the repair example) tool call."""

from __future__ import annotations

from pathlib import Path

from tests.harness import run_lip

EXAMPLES = Path(__file__).parent.parent / "data" / "go_project" / "config" / "examples"
MESSAGES = [{"role": "user", "content": "hi"}]


async def test_the_dogfood_stub_answers_its_text_and_usage() -> None:
    async with run_lip((EXAMPLES / "dogfood-local-stub.yaml").read_text()) as lip:
        raw = await lip.openai().chat.completions.with_raw_response.create(model="stub-default", messages=MESSAGES)
        answer = raw.parse()
    assert raw.headers["x-lip-backend"] == "dogfood-local:stub-default"
    assert answer.choices[0].message.content == "[dogfood] local stub"
    assert answer.usage is not None and (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, 7)


async def test_the_repair_example_answers_with_its_tool_call() -> None:
    async with run_lip((EXAMPLES / "dogfood-tool-call-repair.yaml").read_text()) as lip:
        stream = await lip.anthropic().messages.create(
            model="dogfood-local:stub-default", max_tokens=64, messages=MESSAGES, stream=True
        )
        events = [event async for event in stream]
    blocks = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in blocks] == ["text", "tool_use"]
    assert blocks[1].name == "get_weather"  # type: ignore[union-attr]
    arguments = "".join(
        e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert arguments == '{"location":"NYC",'  # as the file says: broken on purpose (the Go project's repair demo)
    [stop] = [e.delta.stop_reason for e in events if e.type == "message_delta"]
    assert stop == "tool_use"
