"""A protocol-neutral view of one generation request, for fakes that answer from what they were sent.

`FakeProvider.responder` (a function of a `RequestView`) answers when the script is empty: the real-agent tests
(tests/agents/) use it to play a model in an agent loop without knowing how many side requests a client makes.
Each protocol's own spelling is read here: tools offered (Chat `function`, Responses `function`/`custom` and the
tools inside `namespace` entries, Anthropic tools) and tool results sent back (Chat `tool` messages, Responses
`function_call_output`/`custom_tool_call_output`, Anthropic `tool_result` blocks), text parts joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = ["Protocol", "RequestView", "request_view"]

Protocol = Literal["chat", "responses", "messages", "gemini"]
_RESULT_ITEMS = ("function_call_output", "custom_tool_call_output")


@dataclass(frozen=True, slots=True)
class RequestView:
    protocol: Protocol
    model: str
    stream: bool
    tools: tuple[str, ...]  # the names of the tools offered (a namespaced tool as "namespace.name")
    tool_results: tuple[str, ...]  # the text of every tool result in the conversation, in order
    thinking: bool  # the request asks for reasoning (Anthropic `thinking`, Responses `reasoning`, `reasoning_effort`)
    body: dict[str, Any]


def _text(content: Any) -> str:
    """A result's content as text: a string, or the text of its text parts (any protocol's part shape)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _tool_names(tools: Any, namespace: str = "") -> list[str]:
    names: list[str] = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "namespace":
            names += _tool_names(tool.get("tools"), f"{namespace}{tool.get('name')}.")
            continue
        name = tool.get("name") or (tool.get("function") or {}).get("name")
        if name:
            names.append(namespace + str(name))
    return names


def _chat(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return _tool_names(body.get("tools")), [_text(m.get("content")) for m in messages if m.get("role") == "tool"]


def _responses(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    raw = body.get("input")
    items = [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []
    tools = _tool_names(body.get("tools"))
    for item in items:
        if item.get("type") == "additional_tools":
            tools += _tool_names(item.get("tools"))
    return tools, [_text(item.get("output")) for item in items if item.get("type") in _RESULT_ITEMS]


def _messages(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    results: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                results.append(_text(block.get("content")))
    return _tool_names(body.get("tools")), results


def _result_text(response: Any) -> str:
    """A ``functionResponse.response``: its ``output``/``result``/``content`` text when it has one, else its JSON."""
    if isinstance(response, dict):
        for key in ("output", "result", "content"):
            if key in response:
                return (
                    _text(response[key])
                    if not isinstance(response[key], dict)
                    else orjson.dumps(response[key]).decode()
                )
        return orjson.dumps(response).decode()
    return _text(response)


def _gemini(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    tools = [
        str(d.get("name"))
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for d in tool.get("functionDeclarations") or []
        if isinstance(d, dict)
    ]
    results = [
        _result_text((part.get("functionResponse") or {}).get("response"))
        for content in body.get("contents") or []
        if isinstance(content, dict)
        for part in content.get("parts") or []
        if isinstance(part, dict) and "functionResponse" in part
    ]
    return tools, results


def _thinking(protocol: Protocol, body: dict[str, Any]) -> bool:
    if protocol == "gemini":
        thinking = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
        return bool(thinking.get("includeThoughts") or thinking.get("thinkingLevel") or thinking.get("thinkingBudget"))
    if protocol == "messages":
        return (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    if protocol == "responses":
        return (body.get("reasoning") or {}).get("effort") not in (None, "none")
    return body.get("reasoning_effort") not in (None, "none")


def request_view(protocol: Protocol, body: dict[str, Any]) -> RequestView:
    reader = {"chat": _chat, "responses": _responses, "messages": _messages, "gemini": _gemini}[protocol]
    tools, results = reader(body)
    stream = body.get("stream") is True
    thinking = _thinking(protocol, body)
    return RequestView(protocol, str(body.get("model")), stream, tuple(tools), tuple(results), thinking, body)
