"""Per-leaf parameter overrides (``a:m?temperature=0.2&max_tokens=100``) applied to a request."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lip.canonical.request import Params, Request
from lip.errors import InvalidRequest
from lip.protocols.registry import codec_of

INT64 = range(-(2**63), 2**63)  # what every provider (and orjson) takes as a JSON integer


def _integer(text: str) -> int:
    value = int(text)
    if value not in INT64:
        raise ValueError(text)
    return value


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "temperature": _number,
    "top_p": _number,
    "max_tokens": _integer,
    "reasoning_effort": str,
    "reasoning_budget": _integer,
    "seed": _integer,
}


def parse_overrides(params: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in params:
        convert = CONVERTERS.get(key)
        if convert is None:
            known = ", ".join(sorted(CONVERTERS))
            raise InvalidRequest(f"selector parameter '{key}' is not supported; use one of: {known}", param="model")
        try:
            values[key] = convert(raw)
        except ValueError:
            raise InvalidRequest(
                f"selector parameter {key}={raw!r} has the wrong type or is out of range", param="model"
            ) from None
    return values


def _raw_with(body: dict[str, Any], protocol: str, values: dict[str, Any]) -> dict[str, Any]:
    """``body`` with ``values`` set as ``protocol`` spells them (its codec's ``raw_params``)."""
    body = copy.copy(body)
    codec = codec_of(protocol)
    names = codec.raw_params if codec is not None else {}
    for key, value in values.items():
        spellings = names.get(key, ((key,),))
        path = next((s for s in spellings if s[0] in body), spellings[-1])
        _set(body, path, value)
    return body


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """``value`` at ``path`` in ``body``, each object on the way copied (the client's own is left as it was)."""
    for key in path[:-1]:
        inner = body.get(key)
        body[key] = body = dict(inner) if isinstance(inner, dict) else {}
    body[path[-1]] = value


def apply_overrides(request: Request, params: tuple[tuple[str, str], ...], passthrough: bool) -> Request:
    """A copy of ``request`` with the leaf's parameters in force; the request itself is left as it was."""
    if not params:
        return request
    values = parse_overrides(params)
    if passthrough:
        return replace(request, raw=_raw_with(request.raw, request.protocol, values))
    fields = {k: v for k, v in values.items() if hasattr(Params, k)}
    return replace(request, params=replace(request.params, **fields))
