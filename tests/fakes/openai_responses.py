"""Fake OpenAI Responses: validation as OpenAI rejects, `response` objects, the typed event stream, and a store.

Stream (every event `event: <type>` with a monotonically increasing `sequence_number`): response.created,
response.in_progress, then per output item: reasoning (output_item.added, reasoning_summary_part.added,
reasoning_summary_text.delta…, .done, reasoning_summary_part.done, output_item.done), message (output_item.added,
content_part.added, output_text.delta…, output_text.done, content_part.done, output_item.done), function_call
(output_item.added, function_call_arguments.delta…, .done, output_item.done), custom_tool_call (output_item.added,
custom_tool_call_input.delta…, .done, output_item.done); then response.completed, or
response.incomplete for max_tokens / content_filter.  Responses are kept by id unless `store` is false, so
`previous_response_id` resolves and tool outputs can answer calls made in earlier responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes import files
from tests.fakes.endpoint import mid_stream_error
from tests.fakes.errors import ApiError, Family, openai_error
from tests.fakes.script import ErrorMidStream, Turn, neutral_finish
from tests.fakes.wire import Frame, make_id, now, split_text

__all__ = ["OpenAIResponses"]

_INCOMPLETE = {"max_tokens": "max_output_tokens", "content_filter": "content_filter"}
_ENCRYPTED = "reasoning.encrypted_content"
_CALLS = ("function_call", "custom_tool_call")


@dataclass(frozen=True, slots=True)
class _Stored:
    previous_id: str | None
    items: list[dict[str, Any]]  # the request's input items followed by the response's output items


def _missing(param: str) -> ApiError:
    return openai_error(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    return [item for item in raw or [] if isinstance(item, dict)]


def _check_tools(tools: Any, where: str = "tools") -> None:
    """Function tools need a name; a ``namespace`` groups function and custom tools under a name. A list of objects,
    as OpenAI checks it (a mistyped one would otherwise reach the answer's echo of the tools)."""
    if tools is not None and not isinstance(tools, list):
        raise openai_error(400, f"Invalid type for '{where}': expected an array.", param=where, code="invalid_type")
    for i, tool in enumerate(tools or []):
        at = f"{where}[{i}]"
        if not isinstance(tool, dict):
            raise openai_error(400, f"Invalid type for '{at}': expected an object.", param=at, code="invalid_type")
        kind = tool.get("type")
        if kind in ("function", "custom", "namespace") and not tool.get("name"):
            raise _missing(f"{at}.name")
        if kind == "namespace":
            if not isinstance(tool.get("tools"), list):
                raise _missing(f"{at}.tools")
            _check_tools(tool["tools"], f"{at}.tools")


def _check_files(body: dict[str, Any]) -> None:
    for i, item in enumerate(body["input"] if isinstance(body["input"], list) else []):
        content = item.get("content") if isinstance(item, dict) else None
        for j, part in enumerate(content if isinstance(content, list) else []):
            is_file = isinstance(part, dict) and part.get("type") == "input_file"
            problem = files.responses_file(part) if is_file else None
            if problem:
                at = f"input[{i}].content[{j}]"
                raise openai_error(400, f"Invalid '{at}': {problem}", param=at, code="invalid_value")


def _check_additional_tools(body: dict[str, Any]) -> None:
    """``additional_tools`` input items: ``{type, role: "developer", tools}`` (the SDK's beta AdditionalTools)."""
    for i, item in enumerate(body["input"] if isinstance(body["input"], list) else []):
        if not isinstance(item, dict) or item.get("type") != "additional_tools":
            continue
        if item.get("role") != "developer":
            raise openai_error(
                400, f"Invalid value for 'input[{i}].role': expected 'developer'.", param=f"input[{i}].role"
            )
        if not isinstance(item.get("tools"), list):
            raise _missing(f"input[{i}].tools")
        _check_tools(item["tools"], f"input[{i}].tools")


class OpenAIResponses:
    """POST …/responses, with an in-memory store for `previous_response_id`."""

    family: Family = "openai"

    def __init__(self) -> None:
        self.stored: dict[str, _Stored] = {}

    def validate(self, body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise openai_error(400, "Invalid type for request body: expected an object.", code="invalid_type")
        if not body.get("model"):
            raise _missing("model")
        if "input" not in body:
            raise _missing("input")
        if not isinstance(body["input"], str | list):
            raise openai_error(
                400, "Invalid type for 'input': expected a string or an array.", param="input", code="invalid_type"
            )
        for name in ("reasoning", "text", "metadata"):
            if body.get(name) is not None and not isinstance(body[name], dict):
                raise openai_error(
                    400, f"Invalid type for '{name}': expected an object.", param=name, code="invalid_type"
                )
        _check_tools(body.get("tools"))
        _check_additional_tools(body)
        _check_files(body)
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            raise openai_error(
                400,
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        self._check_tool_outputs(body)
        self._check_reasoning_refs(body)
        return body

    def _check_reasoning_refs(self, body: dict[str, Any]) -> None:
        """A reasoning item without encrypted_content is a reference to a stored item: it must exist (OpenAI's 404)."""
        known = {item.get("id") for stored in self.stored.values() for item in stored.items}
        for item in _input_items(body):
            if item.get("type") != "reasoning" or item.get("encrypted_content") or item.get("id") in known:
                continue
            raise openai_error(
                404,
                f"Item with id '{item.get('id')}' not found. Items are not persisted when `store` is set to false. "
                "Try again with `store` set to true, or remove this item from your input.",
                param="input",
            )

    def _history(self, response_id: str | None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while response_id is not None and response_id in self.stored:
            stored = self.stored[response_id]
            items = stored.items + items
            response_id = stored.previous_id
        return items

    def _check_tool_outputs(self, body: dict[str, Any]) -> None:
        items = self._history(body.get("previous_response_id")) + _input_items(body)
        calls = [i.get("call_id") for i in items if i.get("type") == "function_call"]
        outputs = [i.get("call_id") for i in items if i.get("type") == "function_call_output"]
        for call_id in outputs:
            if call_id not in calls:
                raise openai_error(
                    400, f"No tool call found for function call output with call_id {call_id}.", param="input"
                )
        for call_id in calls:
            if call_id not in outputs:
                raise openai_error(400, f"No tool output found for function call {call_id}.", param="input")

    def respond(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        return self._build(body, turn).final

    def frames(self, body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Frame]:
        build = self._build(body, turn)
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": build.snapshot("in_progress")},
            {"type": "response.in_progress", "response": build.snapshot("in_progress")},
        ]
        calls = iter(turn.tool_calls)
        for index, item in enumerate(build.final["output"]):
            pieces = next(calls).fragments if item["type"] in _CALLS else turn.chunks
            events += _item_events(index, item, pieces)
        if not turn.omit_finish_reason:
            kind = "response.completed" if build.final["status"] == "completed" else "response.incomplete"
            events.append({"type": kind, "response": build.final})
        if fault is not None:
            events = [*events[: fault.after_chunks], _failure(build, fault)]
        return [Frame(e["type"], {"type": e["type"], "sequence_number": n, **e}) for n, e in enumerate(events)]

    def _build(self, body: dict[str, Any], turn: Turn) -> _Build:
        build = _Build(body, turn)
        if body.get("store") is not False:
            self.stored[build.final["id"]] = _Stored(
                body.get("previous_response_id"), _input_items(body) + build.final["output"]
            )
        return build


class _Build:
    """The final response for one turn, and the in-progress snapshots the stream announces first."""

    def __init__(self, body: dict[str, Any], turn: Turn) -> None:
        self.head = _head(body)
        incomplete = _INCOMPLETE.get(neutral_finish(turn))
        status = "incomplete" if incomplete else "completed"
        self.final = {**self.head, "status": status, "output": _output_items(body, turn, status), "usage": _usage(turn)}
        if incomplete:
            self.final["incomplete_details"] = {"reason": incomplete}
        else:
            self.final["completed_at"] = now()

    def snapshot(self, status: str) -> dict[str, Any]:
        return {**self.head, "status": status}


def _head(body: dict[str, Any]) -> dict[str, Any]:
    """The response object as announced by response.created: no output, no usage yet."""
    reasoning = body.get("reasoning") or {}
    return {
        "id": make_id("resp_", 48),
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_echo_tool(t) for t in body.get("tools") or []],
        "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        return tool
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", True),
    }


def _output_items(body: dict[str, Any], turn: Turn, status: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.reasoning is not None:
        item: dict[str, Any] = {
            "id": make_id("rs_", 48),
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": turn.reasoning}],
        }
        if _ENCRYPTED in (body.get("include") or []):
            item["encrypted_content"] = turn.reasoning_encrypted or "gAAAAAB" + make_id("", 64)
        items.append(item)
    if turn.text or not turn.tool_calls:
        part = {"type": "output_text", "text": turn.text, "annotations": [], "logprobs": []}
        items.append(
            {"id": make_id("msg_", 48), "type": "message", "status": status, "role": "assistant", "content": [part]}
        )
    for tc in turn.tool_calls:
        call_id = tc.id or make_id("call_")
        if tc.custom:  # a freeform tool's call: no status, the raw `input`
            call = {"id": make_id("ctc_", 48), "type": "custom_tool_call", "call_id": call_id, "input": tc.arguments}
        else:
            call = {"id": make_id("fc_", 48), "type": "function_call", "status": "completed", "arguments": tc.arguments}
            call["call_id"] = call_id
        call["name"] = tc.name
        items.append({**call, "namespace": tc.namespace} if tc.namespace else call)
    return items


def _item_events(index: int, item: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "reasoning":
        added = {k: v for k, v in item.items() if k != "encrypted_content"} | {"summary": []}
        text = item["summary"][0]["text"]
        at = {**where, "summary_index": 0}
        middle = [
            {"type": "response.reasoning_summary_part.added", **at, "part": {"type": "summary_text", "text": ""}},
            *({"type": "response.reasoning_summary_text.delta", **at, "delta": d} for d in split_text(text, pieces)),
            {"type": "response.reasoning_summary_text.done", **at, "text": text},
            {"type": "response.reasoning_summary_part.done", **at, "part": {"type": "summary_text", "text": text}},
        ]
    elif kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        part = item["content"][0]
        at = {**where, "content_index": 0}
        middle = [
            {"type": "response.content_part.added", **at, "part": {**part, "text": ""}},
            *(
                {"type": "response.output_text.delta", **at, "delta": d, "logprobs": []}
                for d in split_text(part["text"], pieces)
            ),
            {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []},
            {"type": "response.content_part.done", **at, "part": part},
        ]
    elif kind == "custom_tool_call":
        added = {**item, "input": ""}
        middle = [
            *(
                {"type": "response.custom_tool_call_input.delta", **where, "delta": d}
                for d in split_text(item["input"], pieces)
            ),
            {"type": "response.custom_tool_call_input.done", **where, "input": item["input"]},
        ]
    else:
        added = {**item, "status": "in_progress", "arguments": ""}
        middle = [
            *(
                {"type": "response.function_call_arguments.delta", **where, "delta": d}
                for d in split_text(item["arguments"], pieces)
            ),
            {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]},
        ]
    return [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *middle,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _failure(build: _Build, fault: ErrorMidStream) -> dict[str, Any]:
    err = mid_stream_error("openai", fault)
    code = "rate_limit_exceeded" if fault.status == 429 else "server_error"
    if fault.responses_event == "error":
        return {"type": "error", "code": code, "message": err.message, "param": None}
    failed = {**build.snapshot("failed"), "error": {"code": code, "message": err.message}}
    return {"type": "response.failed", "response": failed}


def _usage(turn: Turn) -> dict[str, Any]:
    u = turn.usage
    return {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached, "cache_write_tokens": u.cache_creation},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.total_tokens,
    }
