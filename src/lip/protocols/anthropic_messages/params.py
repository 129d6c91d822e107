"""Anthropic Messages, a request's settings towards the API: thinking (and where it must stay off), sampling, stop
sequences, tool declarations and the output format."""

from __future__ import annotations

import logging
from typing import Any

from lip.canonical.request import Params, Request
from lip.protocols.anthropic_messages.blocks import (
    EFFORT_BUDGETS,
    EMPTY_SCHEMA,
    MIN_THINKING_BUDGET,
    encode_tool_choice,
    encode_tools,
    used_tool_names,
)

log = logging.getLogger("lip.protocols.anthropic_messages")


def thinking_on(thinking: Any) -> bool:
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def thinking_conflict(request: Request, messages: list[dict[str, Any]]) -> str | None:
    """Why the API would reject thinking on this request, if it would."""
    choice = request.tool_choice
    if choice is not None and choice.mode in ("required", "tool"):
        return "tool use is forced"
    if messages and messages[-1]["role"] == "assistant":
        return "the last turn is an assistant prefill"
    if loop_lacks_thinking(messages):
        return "the tool loop's last assistant turn has no thinking block"
    return None


def loop_lacks_thinking(messages: list[dict[str, Any]]) -> bool:
    """A closing tool_result answers an assistant turn that does not open with a thinking block (the API then
    refuses thinking)."""
    if len(messages) < 2 or not any(b["type"] == "tool_result" for b in messages[-1]["content"]):
        return False
    first = messages[-2]["content"][0]["type"] if messages[-2]["content"] else ""
    return first not in ("thinking", "redacted_thinking")


def thinking_config(
    request: Request, messages: list[dict[str, Any]], default_max: int
) -> tuple[dict[str, Any] | None, int]:
    """(thinking config, max_tokens) from the canonical budget or effort; budget < max_tokens always holds."""
    p = request.params
    max_tokens = p.max_tokens if p.max_tokens is not None else default_max
    budget = p.reasoning_budget if p.reasoning_budget is not None else EFFORT_BUDGETS.get(p.reasoning_effort or "")
    if not budget:
        return None, max_tokens
    conflict = thinking_conflict(request, messages)
    if conflict is not None:
        log.debug("not enabling thinking: %s", conflict)
        return None, max_tokens
    budget = max(budget, MIN_THINKING_BUDGET)
    if p.max_tokens is None:
        max_tokens = budget + default_max
        if p.output_limit is not None:
            max_tokens = min(max_tokens, p.output_limit)
    if budget >= max_tokens:
        budget = max_tokens // 2
        if budget < MIN_THINKING_BUDGET:
            log.debug("not enabling thinking: max_tokens %d leaves no room for a thinking budget", max_tokens)
            return None, max_tokens
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def sampling(p: Params, thinking: bool, body: dict[str, Any]) -> None:
    temperature, top_p = p.temperature, p.top_p
    if temperature is not None and not 0 <= temperature <= 1:
        log.debug("clamping temperature %s into Anthropic's range 0..1", temperature)
        temperature = min(max(temperature, 0.0), 1.0)
    if thinking and temperature is not None and temperature != 1:
        log.debug("dropping temperature %s: thinking requires the default", temperature)
        temperature = None
    if thinking and top_p is not None and top_p < 0.95:
        log.debug("dropping top_p %s: thinking requires 0.95 or more", top_p)
        top_p = None
    if temperature is not None:
        body["temperature"] = temperature
    if top_p is not None:
        body["top_p"] = top_p


def stop_sequences(stop: list[str]) -> list[str]:
    kept = [s for s in stop if s.strip()]
    if len(kept) < len(stop):
        log.debug("dropping whitespace-only stop sequences: Anthropic rejects them")
    return kept


def declare_tools(request: Request, messages: list[dict[str, Any]], same: bool, body: dict[str, Any]) -> None:
    tools = request.raw.get("tools") if same and isinstance(request.raw.get("tools"), list) else None
    if tools is None:
        tools = encode_tools(request)
    if tools:
        body["tools"] = tools
        if request.tool_choice is not None:
            body["tool_choice"] = encode_tool_choice(request.tool_choice)
        return
    used = used_tool_names(messages)
    if used:  # the API refuses tool_use/tool_result history without tool definitions
        log.debug("declaring tools %s for the history's tool calls; tool_choice none", used)
        body["tools"] = [{"name": name, "input_schema": EMPTY_SCHEMA} for name in used]
        body["tool_choice"] = {"type": "none"}


def response_format(value: dict[str, Any], body: dict[str, Any]) -> None:
    if value.get("type") == "json_schema" and isinstance(value.get("schema"), dict):
        body["output_config"] = {"format": {"type": "json_schema", "schema": value["schema"]}}
    elif value.get("type") != "text":
        log.debug("dropping response_format %r: Anthropic structured output needs a JSON schema", value.get("type"))
