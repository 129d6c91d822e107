"""Names of the parts of a client's body that the canonical model leaves behind inside fields it does hold.

``fields.unmodelled`` names whole top-level fields a codec does not model; these scanners name what is lost inside
the ones it does (a message's ``name``, a block's ``cache_control``, a hosted tool in ``tools``, a thinking mode
with no equivalent), so that the one debug line a translated request logs (``fields.log_dropped``) is complete.
Names only, never values: they may hold user data. Each runs once per translated request, on the decode path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

_TYPE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a tool type as the APIs spell them; anything else is not named


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return (item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()


def _tool_types(tools: Any, kept: Collection[Any]) -> tuple[str, ...]:
    """``tools[<type>]`` for each distinct tool type that only its own provider runs."""
    kinds = dict.fromkeys(str(t.get("type")) for t in _dicts(tools) if t.get("type") not in kept)
    return tuple(f"tools[{kind if _TYPE_NAME.fullmatch(kind) else '?'}]" for kind in kinds)


def chat_inner(raw: dict[str, Any]) -> tuple[str, ...]:
    """A Chat body: ``messages[].name`` (a participant's name has no field elsewhere)."""
    if any(m.get("name") is not None for m in _dicts(raw.get("messages"))):
        return ("messages[].name",)
    return ()


def responses_inner(raw: dict[str, Any], tool_kinds: Collection[str]) -> tuple[str, ...]:
    """A Responses body: ``store`` (lip honours it itself; no other upstream gets it) and the built-in tools
    (``web_search``, ``file_search``, …) that only a Responses upstream runs."""
    names = ("store",) if raw.get("store") is not None else ()
    return names + _tool_types(raw.get("tools"), tool_kinds)


def anthropic_inner(raw: dict[str, Any]) -> tuple[str, ...]:
    """A Messages body: a thinking mode other than ``enabled`` (``adaptive``, ``disabled``: the target decides
    alone), ``cache_control`` on system, message and tool blocks, and the Anthropic-defined tools."""
    names: list[str] = []
    thinking = raw.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") not in (None, "enabled"):
        mode = thinking.get("type")
        names.append(f"thinking.type={mode}" if mode in ("adaptive", "disabled") else "thinking.type")
    if any("cache_control" in block for block in _dicts(raw.get("system"))):
        names.append("system[].cache_control")
    blocks = (block for m in _dicts(raw.get("messages")) for block in _dicts(m.get("content")))
    if any("cache_control" in block for block in blocks):
        names.append("messages[].content[].cache_control")
    if any("cache_control" in tool for tool in _dicts(raw.get("tools"))):
        names.append("tools[].cache_control")
    return (*names, *_tool_types(raw.get("tools"), (None, "custom")))
