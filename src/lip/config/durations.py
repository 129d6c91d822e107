"""Durations as the Go project writes them (``90s``, ``1h30m``, ``250ms``), read as seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_WHOLE = re.compile(f"(?:{_PART})+")


def seconds(value: Any) -> Any:
    """A Go duration string as seconds; a number (or anything else) unchanged, for the model's own validation."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "0":
        return 0.0
    if _WHOLE.fullmatch(text) is None:
        return value
    return sum(float(number) * _UNITS[unit] for number, unit in re.findall(_PART, text))


# A config field in seconds that also takes a Go duration string (its JSON Schema says both)
Duration = Annotated[
    float,
    BeforeValidator(seconds),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": f"^(?:{_PART})+$"}]}
    ),
]
