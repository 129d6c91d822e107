"""Fake OpenAI Chat Completions: validation as OpenAI rejects, `chat.completion` bodies and the chunk stream.

Stream: a role chunk, `reasoning_content` deltas (DeepSeek-style; `reasoning_field` names another, such as
OpenRouter's `reasoning`) when the turn reasons, content deltas,
tool-call deltas (id + name in the first fragment of each `index`, argument fragments after), the finish_reason
chunk, a usage chunk with `choices: []` when `stream_options.include_usage`, then `data: [DONE]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args, get_type_hints

from openai.types.chat import ChatCompletionMessageParam

from tests.fakes import files
from tests.fakes.endpoint import mid_stream_error
from tests.fakes.errors import ApiError, Family, openai_error, openai_error_body
from tests.fakes.script import ErrorMidStream, FakeToolCall, Turn, neutral_finish
from tests.fakes.wire import DONE, Frame, make_id, now, split_text

__all__ = ["OpenAIChat"]

_USER_PARTS = ("text", "image_url", "input_audio", "file")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]+")
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
}


def _missing(param: str) -> ApiError:
    return openai_error(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise openai_error(400, "Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            continue
        if not isinstance(tool.get("function"), dict):
            raise _missing(f"tools[{i}].function")
        name = tool["function"].get("name")
        if not name:
            raise _missing(f"tools[{i}].function.name")
        if len(str(name)) > 64:
            raise openai_error(
                400,
                f"Invalid 'tools[{i}].function.name': string too long. Expected a string with maximum length 64, "
                f"but got a string with length {len(str(name))} instead.",
                param=f"tools[{i}].function.name",
                code="string_above_max_length",
            )
        if not TOOL_NAME.fullmatch(str(name)):
            raise openai_error(
                400,
                f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a string that matches "
                "the pattern '^[a-zA-Z0-9_-]+$'.",
                param=f"tools[{i}].function.name",
                code="invalid_value",
            )


def _check_message(i: int, msg: Any) -> None:
    if not isinstance(msg, dict):
        raise openai_error(400, f"Invalid type for 'messages[{i}]': expected an object.", param=f"messages[{i}]")
    role = msg.get("role")
    if role is None:
        raise _missing(f"messages[{i}].role")
    if role not in _ROLES:
        supported = "'system', 'assistant', 'user', 'function', 'tool', and 'developer'"
        raise openai_error(
            400,
            f"Invalid value: '{role}'. Supported values are: {supported}.",
            param=f"messages[{i}].role",
            code="invalid_value",
        )
    if role in ("system", "developer", "user", "tool") and "content" not in msg:
        raise _missing(f"messages[{i}].content")
    if role == "tool" and not msg.get("tool_call_id"):
        raise _missing(f"messages[{i}].tool_call_id")
    if role == "user" and isinstance(msg.get("content"), list):
        _check_user_parts(i, msg["content"])


def _check_user_parts(i: int, parts: list[Any]) -> None:
    for j, part in enumerate(parts):
        at = f"messages[{i}].content[{j}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in _USER_PARTS:
            raise openai_error(
                400,
                f"Invalid value: '{kind}'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'.",
                param=f"{at}.type",
                code="invalid_value",
            )
        problem = files.chat_part(part) if kind in ("file", "input_audio") else None
        if problem:
            raise openai_error(400, f"Invalid '{at}': {problem}", param=at, code="invalid_value")


# every key a Chat message may have, per role, from the SDK's request types (OpenAI refuses any other)
_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    get_args(get_type_hints(param)["role"])[0]: frozenset(param.__annotations__)
    for param in get_args(ChatCompletionMessageParam)
}
DEEPSEEK_DOCS = "https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
MAX_CALL_ID = 40  # OpenAI refuses a longer tool call id in a request's history ("string_above_max_length")


def _check_known_keys(messages: list[dict[str, Any]]) -> None:
    """OpenAI's schema check: a message key its API does not define is refused (e.g. ``reasoning_content``)."""
    for i, msg in enumerate(messages):
        extra = sorted(set(msg) - _MESSAGE_KEYS.get(str(msg.get("role")), frozenset(msg)))
        if extra:
            raise openai_error(
                400, f"Additional properties are not allowed ('{extra[0]}' was unexpected) - 'messages.{i}'"
            )


def _check_reasoning_back(messages: list[dict[str, Any]], field: str) -> None:
    """DeepSeek's thinking mode (Kimi and GLM alike): an assistant tool-call turn must carry its reasoning back."""
    for i, msg in enumerate(messages):
        if msg.get("role") == "assistant" and msg.get("tool_calls") and not isinstance(msg.get(field), str):
            raise openai_error(
                400,
                f"Missing `{field}` field in the assistant message at message index {i}. "
                f"For more information, please refer to {DEEPSEEK_DOCS}",
                code="invalid_request_error",
            )


def _check_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """Each tool message answers an id of the preceding assistant tool_calls, and each such id is answered."""
    pending: set[str] = set()
    opened_at = -1
    for i, msg in enumerate(messages):
        if msg["role"] == "tool":
            if opened_at < 0:
                raise openai_error(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            call_id = msg["tool_call_id"]
            if call_id not in pending:
                raise openai_error(
                    400,
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of previous message.",
                    param=f"messages.[{i}].tool_call_id",
                )
            pending.discard(call_id)
            continue
        if pending:
            break
        calls = msg.get("tool_calls") if msg["role"] == "assistant" else None
        for j, call in enumerate(calls or []):
            call_id = str(call.get("id")) if isinstance(call, dict) else ""
            if len(call_id) > MAX_CALL_ID:  # OpenAI's own check (its error, param and code)
                raise openai_error(
                    400,
                    f"Invalid 'messages[{i}].tool_calls[{j}].id': string too long. Expected a string with maximum "
                    f"length {MAX_CALL_ID}, but got a string with length {len(call_id)} instead.",
                    param=f"messages[{i}].tool_calls[{j}].id",
                    code="string_above_max_length",
                )
        opened_at = i if calls else -1
        pending = {str(c.get("id")) for c in calls or [] if isinstance(c, dict)}
    if pending:
        raise openai_error(
            400,
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(pending))}",
            param=f"messages.[{opened_at}].role",
        )


class OpenAIChat:
    """POST …/chat/completions."""

    family: Family = "openai"

    def __init__(self) -> None:
        self.strict_messages = False  # refuse message keys the OpenAI API does not define, as OpenAI does
        self.reasoning_field = "reasoning_content"  # where reasoning is sent (OpenRouter and Ollama: "reasoning")
        self.requires_reasoning = False  # an assistant tool-call turn must carry it back (DeepSeek's thinking mode)

    def validate(self, body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise openai_error(400, "Invalid type for request body: expected an object.", code="invalid_type")
        if not body.get("model"):
            raise openai_error(400, "you must provide a model parameter")
        messages = body.get("messages")
        if messages is None:
            raise _missing("messages")
        if not isinstance(messages, list) or not messages:
            raise openai_error(
                400,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array "
                "instead.",
                param="messages",
                code="empty_array",
            )
        for i, msg in enumerate(messages):
            _check_message(i, msg)
        _check_tool_pairing(messages)
        if self.strict_messages:
            _check_known_keys(messages)
        if self.requires_reasoning:
            _check_reasoning_back(messages, self.reasoning_field)
        _check_tools(body.get("tools"))
        n = body.get("n", 1)
        if n is not None and (not isinstance(n, int) or n < 1 or n > 128):
            raise openai_error(
                400,
                f"Invalid 'n': expected an integer between 1 and 128, but got {n}.",
                param="n",
                code="invalid_value",
            )
        if body.get("stream_options") is not None and not body.get("stream"):
            raise openai_error(
                400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
            )
        return body

    def respond(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": turn.text if turn.text or not turn.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if turn.reasoning is not None:
            message[self.reasoning_field] = turn.reasoning
        if turn.tool_calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": tc.name, "arguments": tc.arguments}}
                for cid, tc in _with_ids(turn.tool_calls)
            ]
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": _finish(turn)} for i in range(_n(body))
        ]
        return {**_envelope(body, make_id("chatcmpl-"), "chat.completion"), "choices": choices, "usage": _usage(turn)}

    def frames(self, body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Frame]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = _envelope(body, make_id("chatcmpl-"), "chat.completion.chunk")
        if include_usage:
            head["usage"] = None
        frames = [  # one choice per chunk, as OpenAI streams n > 1
            Frame(None, {**head, "choices": [{"index": i, **step}]})
            for step in _steps(turn, self.reasoning_field)
            for i in range(_n(body))
        ]
        if include_usage:
            frames.append(Frame(None, {**head, "choices": [], "usage": _usage(turn)}))
        if fault is not None:
            err = mid_stream_error(self.family, fault)
            return [*frames[: fault.after_chunks], Frame(None, openai_error_body(err))]
        return frames if turn.omit_terminal else [*frames, DONE]


def _n(body: dict[str, Any]) -> int:
    n = body.get("n")
    return n if isinstance(n, int) else 1


def _envelope(body: dict[str, Any], cid: str, obj: str) -> dict[str, Any]:
    return {
        "id": cid,
        "object": obj,
        "created": now(),
        "model": body["model"],
        "service_tier": "default",
        "system_fingerprint": "fp_fake0001",
    }


def _with_ids(calls: list[FakeToolCall]) -> list[tuple[str, FakeToolCall]]:
    return [(tc.id or make_id("call_"), tc) for tc in calls]


def _finish(turn: Turn) -> str | None:
    if turn.omit_finish_reason:
        return None
    return turn.chat_finish_override or _FINISH[neutral_finish(turn)]


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"delta": delta, "logprobs": None, "finish_reason": finish}


def _steps(turn: Turn, reasoning_field: str) -> list[dict[str, Any]]:
    """Per-choice deltas in stream order (the choice index is added by the caller)."""
    steps = [_choice({"role": "assistant", "content": "", "refusal": None})]
    steps += [_choice({reasoning_field: piece}) for piece in split_text(turn.reasoning or "", turn.chunks)]
    steps += [_choice({"content": piece}) for piece in split_text(turn.text, turn.chunks)]
    for index, (cid, tc) in enumerate(_with_ids(turn.tool_calls)):
        first = {"index": index, "id": cid, "type": "function", "function": {"name": tc.name, "arguments": ""}}
        steps.append(_choice({"tool_calls": [first]}))
        for frag in split_text(tc.arguments, tc.fragments):
            steps.append(_choice({"tool_calls": [{"index": index, "function": {"arguments": frag}}]}))
    if not turn.omit_finish_reason:
        steps.append(_choice({}, _finish(turn)))
    return steps


def _usage(turn: Turn) -> dict[str, Any]:
    u = turn.usage
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached, "cache_write_tokens": u.cache_creation, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
