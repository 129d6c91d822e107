"""Responses tool declarations: function and custom tools, ``namespace`` groups and ``additional_tools`` input items.

Codex (>= 0.147) declares its tools in an ``additional_tools`` input item (``{"type": "additional_tools", "role":
"developer", "tools": [...]}``, with top-level ``tools`` empty), and groups some of them (its sub-agent tools) in
``namespace`` entries (``{"type": "namespace", "name", "description", "tools": [function | custom]}``). A call to a
grouped tool names the group beside the tool: ``function_call`` / ``custom_tool_call`` with ``namespace``, in the
API's output and when Codex replays the call in ``input``.

No other protocol has either, so lip flattens them:

- Every function or custom tool declared at the top level or in an ``additional_tools`` item (in input order) is one
  canonical ``ToolSpec``; the first declaration of a name wins. Built-in tools stay in the raw body (only a Responses
  backend can run them).
- A tool inside a namespace gets the flat name ``<namespace>__<name>`` and keeps where it came from in
  ``ToolSpec.origin``. A flat name outside ``^[a-zA-Z0-9_-]{1,64}$`` (the rule OpenAI Chat and Anthropic share)
  becomes its cleaned first characters and a hash of the pair, so the mapping is the same on every request. The
  namespace's description goes before the tool's own, so the model still reads it.
- A call item with a ``namespace`` (from the client's history, or from a Responses upstream) gets the same flat name;
  a call the model makes to a flat name goes back to the client as the namespace and the name it declared.
- A Responses client's translated request to a Responses backend keeps its own shape: the raw ``additional_tools``
  items lead the input unchanged, and calls carry their ``namespace`` again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

from lip.canonical.request import ToolOrigin, ToolSpec
from lip.errors import InvalidRequest
from lip.protocols import fields

log = logging.getLogger("lip.protocols.openai_responses")

TOOL_KINDS = frozenset({"function", "custom"})
ADDITIONAL_TOOLS = "additional_tools"
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_SEPARATOR = "__"
_DIGEST = 10


def flat_name(namespace: str, name: str) -> str:
    """The one canonical name of tool ``name`` in ``namespace``: readable when it fits the tool-name rule."""
    flat = namespace + _SEPARATOR + name
    if TOOL_NAME.fullmatch(flat):
        return flat
    digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()[:_DIGEST]
    return _UNSAFE.sub("_", flat)[: 63 - _DIGEST] + "_" + digest


def call_name(item: dict[str, Any], at: str) -> str:
    """The canonical name of a ``function_call`` / ``custom_tool_call`` item, its ``namespace`` folded in."""
    name = fields.required(item, "name", str, f"{at}.name")
    namespace = fields.optional(item, "namespace", str, f"{at}.namespace")
    return flat_name(namespace, name) if namespace else name


def origin_fields(origin: ToolOrigin | None, name: str) -> dict[str, str]:
    """``name`` (and ``namespace``) of a call item, as the client declared the tool."""
    if origin is None:
        return {"name": name}
    return {"name": origin.name, "namespace": origin.namespace}


def additional_items(value: Any) -> list[dict[str, Any]]:
    """The ``additional_tools`` items of a Responses ``input``, as sent."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict) and item.get("type") == ADDITIONAL_TOOLS]


def _tool(tool: dict[str, Any], kind: str, at: str) -> ToolSpec:
    name = fields.required(tool, "name", str, f"{at}.name")
    description = fields.optional(tool, "description", str, f"{at}.description")
    if kind == "custom":
        fmt = fields.optional(tool, "format", dict, f"{at}.format")
        return ToolSpec(name, description, kind="custom", extra={"format": fmt} if fmt else None)
    parameters = fields.optional(tool, "parameters", dict, f"{at}.parameters")
    return ToolSpec(name, description, parameters, strict=fields.optional(tool, "strict", bool, f"{at}.strict"))


def _grouped(group: dict[str, Any], at: str) -> list[ToolSpec]:
    namespace = fields.required(group, "name", str, f"{at}.name")
    about = fields.optional(group, "description", str, f"{at}.description")
    specs: list[ToolSpec] = []
    for i, raw in enumerate(fields.required(group, "tools", list, f"{at}.tools")):
        where = f"{at}.tools[{i}]"
        tool = fields.expect(raw, dict, where)
        kind = fields.required(tool, "type", str, f"{where}.type")
        if kind not in TOOL_KINDS:
            raise InvalidRequest(f"'{where}.type' must be function or custom inside a namespace", param=where)
        spec = _tool(tool, kind, where)
        spec.origin = ToolOrigin(namespace, spec.name)
        spec.name = flat_name(namespace, spec.name)
        spec.description = "\n\n".join(d for d in (about, spec.description) if d) or None
        specs.append(spec)
    return specs


def decode_tools(value: Any, where: str = "tools") -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, raw in enumerate(fields.expect(value, list, where)):
        at = f"{where}[{i}]"
        tool = fields.expect(raw, dict, at)
        kind = fields.required(tool, "type", str, f"{at}.type")
        if kind == "namespace":
            specs += _grouped(tool, at)
        elif kind in TOOL_KINDS:
            specs.append(_tool(tool, kind, at))
        else:
            log.debug("built-in tool %r stays in the raw body: only a Responses backend can run it", kind)
    return specs


def declared_tools(raw: dict[str, Any]) -> list[ToolSpec]:
    """Every tool a Responses body declares: top-level ``tools``, then each ``additional_tools`` input item's."""
    specs = decode_tools(raw["tools"]) if raw.get("tools") else []
    entries = raw.get("input")
    for i, item in enumerate(entries if isinstance(entries, list) else ()):
        if isinstance(item, dict) and item.get("type") == ADDITIONAL_TOOLS:
            specs += decode_tools(fields.required(item, "tools", list, f"input[{i}].tools"), f"input[{i}].tools")
    unique: dict[str, ToolSpec] = {}
    for spec in specs:
        if spec.name in unique:
            log.debug("tool %r is declared more than once: the first declaration is used", spec.name)
            continue
        unique[spec.name] = spec
    return list(unique.values())
