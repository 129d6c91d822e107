"""Gemini ``generationConfig``, ``tools`` and ``toolConfig`` <-> canonical parameters, tool specs and tool choice.

- ``maxOutputTokens``, ``temperature``, ``topP``, ``stopSequences``, ``candidateCount`` (n), ``seed`` map one to
  one; ``topK`` and the rest of ``generationConfig`` have no canonical field: a Gemini upstream gets them only by
  passthrough or same-protocol translation, other targets drop them by name.
- ``responseMimeType: application/json`` with ``responseJsonSchema`` (JSON Schema) or ``responseSchema`` (Gemini's
  Schema) is a JSON-schema response format, without a schema a JSON-object one; towards Gemini a schema goes as a
  cleaned ``responseSchema`` that keeps the client's property order.
- ``thinkingConfig``: ``thinkingLevel`` is an effort, a positive ``thinkingBudget`` a thinking budget (0 and -1,
  off and dynamic, leave the target to its default). Towards Gemini a budget is a ``thinkingBudget`` in the
  model's range; an effort a ``thinkingLevel`` on Gemini 3 and later, else a budget (``EFFORT_BUDGETS``);
  thoughts are asked for (``includeThoughts``) whenever reasoning is.
- ``functionDeclarations`` (``parametersJsonSchema`` as is, ``parameters`` from Gemini's Schema) are function
  tools; Google's own tools (``googleSearch``, ``codeExecution``, ``urlContext``, ...) are dropped by name.
  ``functionCallingConfig`` modes: AUTO/VALIDATED auto, ANY required (one allowed name: that tool), NONE none.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from lip.canonical.request import Params, Request, ToolChoice, ToolSpec
from lip.errors import InvalidRequest
from lip.protocols import fields, freeform
from lip.protocols.gemini import schema, wire

log = logging.getLogger("lip.protocols.gemini")

MAX_STOP_SEQUENCES = 5  # Gemini refuses more
EFFORT_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768}
EFFORT_LEVELS = {"minimal": "low", "low": "low", "medium": "high", "high": "high", "xhigh": "high", "max": "high"}
FLASH_LEVELS = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high", "xhigh": "high"}
CUSTOM_TOOL_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {"input": {"type": "STRING", "description": "The raw input for this tool."}},
    "required": ["input"],
}
HELD_CONFIG = frozenset(
    {
        "maxOutputTokens",
        "temperature",
        "topP",
        "stopSequences",
        "candidateCount",
        "seed",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "thinkingConfig",
    }
)
_MAJOR = re.compile(r"gemini-(\d+)")


# ---------------------------------------------------------------- decode: a Gemini client's body -> canonical


def _config(raw: dict[str, Any]) -> dict[str, Any]:
    return wire.optional(raw, "generationConfig", dict, "generationConfig") or {}


def _response_format(config: dict[str, Any]) -> dict[str, Any] | None:
    at = "generationConfig"
    mime = wire.optional(config, "responseMimeType", str, f"{at}.responseMimeType")
    json_schema = wire.optional(config, "responseJsonSchema", dict, f"{at}.responseJsonSchema")
    if json_schema is None:
        given = wire.optional(config, "responseSchema", dict, f"{at}.responseSchema")
        json_schema = schema.to_json_schema(given) if given is not None else None
    if mime != "application/json":
        return None
    if json_schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "name": "response", "schema": json_schema, "strict": None}


def decode_params(raw: dict[str, Any]) -> Params:
    config, at = _config(raw), "generationConfig"
    wire.optional(config, "topK", (int, float), f"{at}.topK")  # validated; only a Gemini upstream can honour it
    params = Params(
        max_tokens=wire.optional(config, "maxOutputTokens", int, f"{at}.maxOutputTokens"),
        temperature=wire.optional(config, "temperature", float, f"{at}.temperature"),
        top_p=wire.optional(config, "topP", float, f"{at}.topP"),
        stop=fields.stop_list(wire.get(config, "stopSequences"), f"{at}.stopSequences"),
        n=wire.optional(config, "candidateCount", int, f"{at}.candidateCount"),
        seed=wire.optional(config, "seed", int, f"{at}.seed"),
        response_format=_response_format(config),
    )
    thinking = wire.optional(config, "thinkingConfig", dict, f"{at}.thinkingConfig") or {}
    level = wire.optional(thinking, "thinkingLevel", str, f"{at}.thinkingConfig.thinkingLevel")
    budget = wire.optional(thinking, "thinkingBudget", int, f"{at}.thinkingConfig.thinkingBudget")
    if level is not None and level.upper() != "THINKING_LEVEL_UNSPECIFIED":
        params.reasoning_effort = level.lower()
    elif budget is not None and budget > 0:
        params.reasoning_budget = budget
    return params


def include_thoughts(raw: dict[str, Any]) -> bool:
    """Whether a Gemini client asked to see thought text (``thinkingConfig.includeThoughts``)."""
    config = wire.get(raw, "generationConfig")
    thinking = wire.get(config, "thinkingConfig") if isinstance(config, dict) else None
    return isinstance(thinking, dict) and wire.get(thinking, "includeThoughts") is True


def unmodelled_config(raw: dict[str, Any]) -> tuple[str, ...]:
    """``generationConfig.<key>`` for each generation setting the canonical model does not hold (topK, ...)."""
    config = wire.get(raw, "generationConfig")
    if not isinstance(config, dict):
        return ()
    held = HELD_CONFIG | {wire.snake(k) for k in HELD_CONFIG}
    return tuple(f"generationConfig.{k}" for k, v in config.items() if k not in held and v is not None)


def _declaration(raw: Any, at: str) -> ToolSpec:
    declaration = fields.expect(raw, dict, at)
    parameters = wire.optional(declaration, "parametersJsonSchema", dict, f"{at}.parametersJsonSchema")
    if parameters is None:
        given = wire.optional(declaration, "parameters", dict, f"{at}.parameters")
        parameters = schema.to_json_schema(given) if given is not None else None
    return ToolSpec(
        name=wire.required(declaration, "name", str, f"{at}.name"),
        description=wire.optional(declaration, "description", str, f"{at}.description"),
        parameters=parameters,
    )


def decode_tools(items: Any, dropped: set[str]) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, raw in enumerate(fields.expect(items, list, "tools")):
        at = f"tools[{i}]"
        tool = fields.expect(raw, dict, at)
        for key in tool:
            if key not in ("functionDeclarations", "function_declarations") and tool[key] is not None:
                dropped.add(f"tools[{key}]" if re.fullmatch(r"[A-Za-z_]{1,64}", key) else "tools[?]")
        declarations = wire.optional(tool, "functionDeclarations", list, f"{at}.functionDeclarations") or ()
        specs += [_declaration(d, f"{at}.functionDeclarations[{j}]") for j, d in enumerate(declarations)]
    return specs


_MODES = {"AUTO": "auto", "MODE_UNSPECIFIED": "auto", "VALIDATED": "auto", "ANY": "required", "NONE": "none"}


def decode_tool_choice(raw: dict[str, Any]) -> ToolChoice | None:
    at = "toolConfig.functionCallingConfig"
    config = wire.optional(raw, "toolConfig", dict, "toolConfig") or {}
    calling = wire.optional(config, "functionCallingConfig", dict, at)
    if calling is None:
        return None
    mode = (wire.optional(calling, "mode", str, f"{at}.mode") or "AUTO").upper()
    if mode not in _MODES:
        raise InvalidRequest(f"'{at}.mode' must be AUTO, ANY, NONE or VALIDATED, not {mode!r}", param=f"{at}.mode")
    choice = ToolChoice(mode=_MODES[mode])  # type: ignore[arg-type]
    allowed = wire.optional(calling, "allowedFunctionNames", list, f"{at}.allowedFunctionNames") or []
    names = [fields.expect(name, str, f"{at}.allowedFunctionNames[{i}]") for i, name in enumerate(allowed)]
    if mode == "ANY" and len(names) == 1:
        choice.mode, choice.name = "tool", names[0]
    elif names:
        log.debug("toolConfig allowedFunctionNames narrows to %d tools for Gemini targets only", len(names))
    return choice


# ---------------------------------------------------------------- encode: canonical -> a Gemini upstream's body


def _major(model: str) -> int:
    match = _MAJOR.search(model.lower())
    return int(match.group(1)) if match else 0


def _budget_range(model: str) -> tuple[int, int]:
    name = model.lower()
    if "pro" in name:
        return 128, 32768
    return (512 if "lite" in name else 0), 24576


def thinking_config(p: Params, model: str) -> dict[str, Any] | None:
    effort = p.reasoning_effort
    low, high = _budget_range(model)
    if p.reasoning_budget is not None and p.reasoning_budget > 0:
        return {"thinkingBudget": min(max(p.reasoning_budget, low), high), "includeThoughts": True}
    if effort is None:
        return None
    if effort == "none":
        return {"thinkingLevel": "low"} if _major(model) >= 3 else {"thinkingBudget": low}
    if _major(model) >= 3:
        levels = FLASH_LEVELS if "flash" in model.lower() else EFFORT_LEVELS
        return {"thinkingLevel": levels.get(effort, "high"), "includeThoughts": True}
    budget = EFFORT_BUDGETS.get(effort, EFFORT_BUDGETS["medium"])
    return {"thinkingBudget": min(max(budget, low), high), "includeThoughts": True}


def _response_schema(value: dict[str, Any], config: dict[str, Any]) -> None:
    kind = value.get("type")
    if kind == "json_schema" and isinstance(value.get("schema"), dict):
        config["responseMimeType"] = "application/json"
        converted = schema.convert(value["schema"])
        if converted.get("type") != "OBJECT" or converted.get("properties"):
            config["responseSchema"] = schema.ordered(converted)
    elif kind in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"


def generation_config(request: Request, model: str) -> dict[str, Any]:
    p = request.params
    stop = [s for s in p.stop if s]
    if len(stop) > MAX_STOP_SEQUENCES:
        log.debug("keeping the first %d of %d stop sequences: Gemini takes no more", MAX_STOP_SEQUENCES, len(stop))
        stop = stop[:MAX_STOP_SEQUENCES]
    values = {
        "maxOutputTokens": p.max_tokens,
        "temperature": p.temperature,
        "topP": p.top_p,
        "stopSequences": stop or None,
        "candidateCount": p.n,
        "seed": p.seed,
    }
    config: dict[str, Any] = {key: value for key, value in values.items() if value is not None}
    if p.response_format:
        _response_schema(p.response_format, config)
    thinking = thinking_config(p, model)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config


def encode_tools(request: Request) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    for tool in request.tools:
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.kind == "custom":
            declaration["description"] = freeform.wrapped_description(tool)
            declaration["parameters"] = CUSTOM_TOOL_SCHEMA
        else:
            if tool.description:
                declaration["description"] = tool.description
            parameters = schema.parameters(tool.parameters)
            if parameters is not None:
                declaration["parameters"] = parameters
        declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else []


_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}


def encode_tool_config(choice: ToolChoice) -> dict[str, Any]:
    calling: dict[str, Any] = {"mode": _CHOICE_MODES[choice.mode]}
    if choice.mode == "tool" and choice.name:
        calling["allowedFunctionNames"] = [choice.name]
    if choice.parallel is False:
        log.debug("dropping parallel_tool_calls=false: Gemini has no such setting")
    return {"functionCallingConfig": calling}
