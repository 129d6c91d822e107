"""Typed reads of a decoded JSON body that fail with a 400 naming the field and what was expected."""

from __future__ import annotations

from typing import Any

from lip.errors import InvalidRequest

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in (
        (bool, "a boolean"),
        (str, "a string"),
        (int, "an integer"),
        (float, "a number"),
        (list, "an array"),
        (dict, "an object"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    """``value`` if it is of ``kind`` (bools are never numbers), else a 400 naming ``where``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds) or (float in kinds and isinstance(value, int) and not isinstance(value, bool))
    if not ok:
        wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise InvalidRequest(f"'{where}' must be {wanted}, not {_describe(value)}", param=where)
    return value


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(f"the request body must be a JSON object, not {_describe(body)}")
    return body


def required(body: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str | None = None) -> Any:
    name = where or key
    if key not in body or body[key] is None:
        raise InvalidRequest(f"'{name}' is required", param=name)
    return expect(body[key], kind, name)


def optional(body: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str | None = None) -> Any:
    value = body.get(key)
    if value is None:
        return None
    return expect(value, kind, where or key)


def model_field(body: dict[str, Any]) -> str:
    model: str = required(body, "model", str)
    if not model.strip():
        raise InvalidRequest("'model' must not be empty", param="model")
    return model.strip()


def stop_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    items = expect(value, list, where)
    return [expect(item, str, f"{where}[{i}]") for i, item in enumerate(items)]
