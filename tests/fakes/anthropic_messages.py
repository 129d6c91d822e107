"""Fake Anthropic Messages: validation as Anthropic rejects, `message` bodies, the event stream, count_tokens.

Stream: message_start, then per content block (thinking, text, tool_use) content_block_start /
content_block_delta (thinking_delta + signature_delta, text_delta, input_json_delta) / content_block_stop with
its index (a `ping` follows the first block start), then message_delta (stop_reason, and the cumulative usage as the
API now repeats it: input, cache read, cache creation and output tokens, with the thinking-token breakdown) and
message_stop.  A mid-stream failure is `event: error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from tests.fakes import files
from tests.fakes.endpoint import mid_stream_error
from tests.fakes.errors import ApiError, Family, anthropic_error
from tests.fakes.script import ErrorMidStream, FakeToolCall, Turn, neutral_finish
from tests.fakes.wire import Frame, json_bytes, make_id, split_text

__all__ = ["AnthropicMessages"]

_STOP = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "tool_use": "tool_use",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
}
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_TAGS = "'custom', 'bash_20250124', 'text_editor_20250728', 'web_search_20250305'"


def _bad(message: str) -> ApiError:
    return anthropic_error(400, message)


def _blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    content = msg.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _check_system_turn(messages: list[Any], i: int) -> None:
    """A mid-conversation system turn (the SDK's ``SystemMessageParam``; models since Opus 4.8 take it): it follows
    a user turn and is the last message or comes right before an assistant turn; never first, never two in a row."""
    before = messages[i - 1] if i > 0 else None
    after = messages[i + 1] if i + 1 < len(messages) else None
    if before is None:
        raise _bad(
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, '
            'not "system" as the first input message.'
        )
    if (
        not isinstance(before, dict)
        or before.get("role") != "user"
        or (after is not None and (not isinstance(after, dict) or after.get("role") != "assistant"))
    ):
        raise _bad(
            f'messages.{i}: Unexpected role "system" here: a system message must follow a user turn and be the '
            "last message or come right before an assistant turn."
        )
    content = messages[i].get("content")
    if isinstance(content, list) and any(not isinstance(b, dict) or b.get("type") != "text" for b in content):
        raise _bad(f"messages.{i}.content: a system message takes text blocks only")


def _check_roles(messages: list[Any]) -> None:
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise _bad(f"messages.{i}: Input should be a valid dictionary")
        role = msg.get("role")
        if role == "system":
            _check_system_turn(messages, i)
        elif role not in ("user", "assistant"):
            raise _bad(f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
        if not isinstance(msg.get("content"), str | list):
            raise _bad(f"messages.{i}.content: Field required")
    if messages[0]["role"] != "user":
        raise _bad('messages: first message must use the "user" role')


def _check_blocks(messages: list[dict[str, Any]]) -> None:
    for i, msg in enumerate(messages):
        for j, block in enumerate(_blocks(msg)):
            if block.get("type") == "thinking" and not block.get("signature"):
                raise _bad(f"messages.{i}.content.{j}.thinking.signature: Field required")
            problem = files.anthropic_document(block) if block.get("type") == "document" else None
            if problem:
                raise _bad(f"messages.{i}.content.{j}.document.{problem}")


def _check_tool_pairing(messages: list[dict[str, Any]]) -> None:
    for i, msg in enumerate(messages):
        prev = messages[i - 1] if i > 0 else None
        offered: set[Any] = {b.get("id") for b in _blocks(prev) if b.get("type") == "tool_use"} if prev else set()
        if prev is not None and prev["role"] == "user":
            offered = set()
        results = [(j, b.get("tool_use_id")) for j, b in enumerate(_blocks(msg)) if b.get("type") == "tool_result"]
        for j, use_id in results:
            if use_id not in offered:
                raise _bad(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {use_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )
        if offered and msg["role"] == "user":
            missing = ", ".join(sorted(map(str, offered - {use_id for _, use_id in results})))
            if missing:
                raise _bad(
                    f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next "
                    "message."
                )


def _check_tools(tools: Any) -> None:
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        if not isinstance(tool, dict):
            raise _bad(f"tools.{i}: Input should be a valid dictionary")
        kind = tool.get("type", "custom")
        if kind == "custom":
            if not tool.get("name"):
                raise _bad(f"tools.{i}.custom.name: Field required")
            if not TOOL_NAME.fullmatch(str(tool["name"])):
                raise _bad(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            if "input_schema" not in tool:
                raise _bad(f"tools.{i}.custom.input_schema: Field required")
        elif kind == "function":
            raise _bad(
                f"tools.{i}: Input tag 'function' found using 'type' does not match any of the expected "
                f"tags: {_TOOL_TAGS}"
            )


def _check_params(body: dict[str, Any]) -> None:
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad("max_tokens: Input should be greater than or equal to 1")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise _bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise _bad(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context"
                "-window-size"
            )
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not 0 <= temperature <= 1:
        raise _bad("temperature: Input should be less than or equal to 1")


def _check_thinking_loop(body: dict[str, Any]) -> None:
    """With thinking on, the assistant turn a closing tool_result answers must open with its thinking block (the
    API's own rule and message; lip must turn thinking off where it dropped that block)."""
    thinking = body.get("thinking")
    messages = body["messages"]
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive") or len(messages) < 2:
        return
    last, turn = messages[-1], messages[-2]
    if not any(b.get("type") == "tool_result" for b in _blocks(last)) or turn.get("role") != "assistant":
        return
    first = (_blocks(turn) or [{"type": "text"}])[0].get("type")
    if first not in ("thinking", "redacted_thinking"):
        raise _bad(
            f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
            f"`{first}`. When `thinking` is enabled, a final `assistant` message must start with a thinking block "
            "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking "
            "blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our "
            "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
        )


class AnthropicMessages:
    """POST …/v1/messages and …/v1/messages/count_tokens."""

    family: Family = "anthropic"

    def validate(self, body: Any, headers: Mapping[str, str], *, count_tokens: bool = False) -> dict[str, Any]:
        if not headers.get("anthropic-version"):
            raise _bad("anthropic-version: header is required")
        if not isinstance(body, dict):
            raise _bad("Input should be a valid dictionary")
        required = ("model", "messages") if count_tokens else ("model", "max_tokens", "messages")
        for name in required:
            if name not in body:
                raise _bad(f"{name}: Field required")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise _bad("messages: Input should be a valid list")
        if not messages:
            raise _bad("messages: at least one message is required")
        _check_roles(messages)
        _check_blocks(messages)
        _check_tool_pairing(messages)
        _check_tools(body.get("tools"))
        if not count_tokens:
            _check_params(body)
            _check_thinking_loop(body)
        return body

    def count_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        """A deterministic estimate: about one token per four bytes of system, messages and tools."""
        size = len(json_bytes([body.get("system"), body["messages"], body.get("tools")]))
        return {"input_tokens": max(1, size // 4)}

    def respond(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        message = _message(body, turn)
        message["content"] = _content(turn)
        message["stop_reason"] = _stop(turn)
        message["stop_sequence"] = turn.stop_sequence if message["stop_reason"] == "stop_sequence" else None
        return message

    def frames(self, body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Frame]:
        start = _message(body, turn)
        # message_start has the input counts and a first output token; message_delta repeats the input counts
        start["usage"] = {k: v for k, v in start["usage"].items() if k != "output_tokens_details"} | {
            "output_tokens": 1
        }
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        calls = iter(turn.tool_calls)
        for index, block in enumerate(_content(turn)):
            call = next(calls) if block["type"] == "tool_use" else None
            events += _block_events(index, block, turn.chunks, call)
        events.insert(min(2, len(events)), {"type": "ping"})  # Anthropic pings after the first block starts
        stop = _stop(turn)
        delta = {"stop_reason": stop, "stop_sequence": turn.stop_sequence if stop == "stop_sequence" else None}
        events.append({"type": "message_delta", "delta": delta, "usage": _delta_usage(turn)})
        events.append({"type": "message_stop"})
        if fault is not None:
            err = mid_stream_error(self.family, fault)
            error = {"type": "error", "error": {"type": err.type, "message": err.message}}
            events = [*events[: fault.after_chunks], error]
        return [Frame(e["type"], e) for e in events]


def _stop(turn: Turn) -> str | None:
    return None if turn.omit_finish_reason else _STOP[neutral_finish(turn)]


def _delta_usage(turn: Turn) -> dict[str, Any]:
    """``message_delta.usage`` (MessageDeltaUsage): the cumulative counts of the whole message."""
    return {k: v for k, v in _usage(turn).items() if k not in ("cache_creation", "service_tier")}


def _usage(turn: Turn) -> dict[str, Any]:
    u = turn.usage
    usage: dict[str, Any] = {
        "input_tokens": max(0, u.input_tokens - u.cached - u.cache_creation),
        "cache_creation_input_tokens": u.cache_creation,
        "cache_read_input_tokens": u.cached,
        "cache_creation": {"ephemeral_5m_input_tokens": u.cache_creation, "ephemeral_1h_input_tokens": 0},
        "output_tokens": u.output_tokens,
        "service_tier": "standard",
    }
    if u.reasoning:
        usage["output_tokens_details"] = {"thinking_tokens": u.reasoning}
    return usage


def _message(body: dict[str, Any], turn: Turn) -> dict[str, Any]:
    return {
        "id": make_id("msg_01"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(turn),
    }


def _content(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.reasoning is not None:
        signature = turn.reasoning_signature or "EqQBCkYIBxgCKkD" + make_id("", 80)
        blocks.append({"type": "thinking", "thinking": turn.reasoning, "signature": signature})
    if turn.text or not turn.tool_calls:
        blocks.append({"type": "text", "text": turn.text})
    for tc in turn.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": tc.id or make_id("toolu_01"),
                "name": tc.name,
                "input": orjson.loads(tc.arguments or "{}"),
            }
        )
    return blocks


def _block_events(index: int, block: dict[str, Any], chunks: int, call: FakeToolCall | None) -> list[dict[str, Any]]:
    kind = block["type"]
    opened: dict[str, Any]
    if kind == "thinking":
        opened = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split_text(block["thinking"], chunks)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        opened = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split_text(block["text"], chunks)]
    else:
        assert call is not None
        opened = {**block, "input": {}}
        pieces = ["", *split_text(call.arguments, call.fragments)]
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    return [
        {"type": "content_block_start", "index": index, "content_block": opened},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]
