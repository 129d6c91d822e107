"""Freeform (``custom``) tools towards a backend that takes JSON tools only (Chat functions, Anthropic tools).

Such a backend gets a tool of one string argument, ``input``, and a description rewritten to match: a custom tool's
description tells the model to send raw text ("This is a FREEFORM tool, so do not wrap the patch in JSON", as
Codex's ``apply_patch`` says), which is now wrong, so sentences that speak of freeform input or of not wrapping in
JSON are taken out and one sentence about the ``input`` string is added. The tool's grammar (a Lark grammar or a
regex, which no JSON backend enforces) follows, so the model still knows the shape of the text.
"""

from __future__ import annotations

import re
from typing import Any

from lip.canonical.request import ToolSpec

_RAW_TEXT_SENTENCE = re.compile(r"[^.!?\n]*\b(?:free-?form|wrap\b[^.!?\n]*\bjson)\b[^.!?\n]*[.!?]?[ \t]*", re.I)
WRAPPED_NOTE = (
    "Call this tool with one JSON argument, `input`: a string that holds the tool's raw input text, exactly as it "
    "would be written without JSON."
)


def wrapped_description(spec: ToolSpec) -> str:
    """The description of a freeform tool that goes as a function of one string ``input``."""
    kept = _RAW_TEXT_SENTENCE.sub("", spec.description or "").strip()
    parts = [kept, WRAPPED_NOTE] if kept else [WRAPPED_NOTE]
    fmt = (spec.extra or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "grammar":
        nested = fmt.get("grammar")
        grammar: dict[str, Any] = nested if isinstance(nested, dict) else fmt  # Chat nests it, Responses does not
        definition, syntax = grammar.get("definition"), grammar.get("syntax")
        if isinstance(definition, str) and definition:
            syntax = syntax if isinstance(syntax, str) else "lark"
            parts.append(f"The text must match this {syntax} grammar:\n{definition}")
    return "\n\n".join(parts)
