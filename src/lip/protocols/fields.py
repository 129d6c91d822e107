"""Typed reads of a decoded JSON body that fail with a 400 naming the field and what was expected."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from lip.canonical.request import Request
from lip.errors import InvalidRequest

MAX_USER = 64  # OpenAI's longest end-user id (Chat ``user``, Responses ``user`` / ``safety_identifier``)
MAX_SELECTOR = 4096  # characters of a request's model selector (docs/routing.md): it reaches headers, logs, metrics
MAX_NAMED = 32  # dropped fields named in one debug line; a body of thousands of unknown keys stays one short line

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
    """``value`` if it is of ``kind`` (bools are never numbers), else a 400 naming ``where``. A whole-number float
    where an integer is expected (``"max_tokens": 100.0``, a valid JSON Schema integer) is that integer."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if type(value) is float and int in kinds and float not in kinds and value.is_integer():
        return int(value)
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
    if len(model) > MAX_SELECTOR:
        raise InvalidRequest(f"'model' is longer than {MAX_SELECTOR} characters", param="model")
    return model.strip()


def stop_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    items = expect(value, list, where)
    return [expect(item, str, f"{where}[{i}]") for i, item in enumerate(items)]


def unmodelled(raw: dict[str, Any], held: frozenset[str], held_inside: Mapping[str, frozenset[str]]) -> tuple[str, ...]:
    """Names of the fields of ``raw`` that the canonical model does not hold: top-level keys not in ``held``, and
    ``parent.key`` for the keys of an object that is held only in part. Names only; null fields do not count."""
    names = [key for key, value in raw.items() if key not in held and value is not None]
    for parent, keys in held_inside.items():
        inner = raw.get(parent)
        if isinstance(inner, dict):
            names += [f"{parent}.{key}" for key, value in inner.items() if key not in keys and value is not None]
    return tuple(names)


def end_user(user: str) -> str:
    """``user`` when it fits OpenAI's 64 characters, else a stable stand-in: ``lip-`` and 60 hex digits of its
    SHA-256 (Claude Code's ``metadata.user_id`` runs to a few hundred characters; one user keeps one id)."""
    if len(user) <= MAX_USER:
        return user
    return "lip-" + hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[: MAX_USER - 4]


def log_dropped(logger: logging.Logger, request: Request, target: str, also: tuple[str, ...] = ()) -> None:
    """One debug line naming the client's fields that a request translated to ``target`` leaves behind (never their
    values: they may hold user data): the decoder's ``request.unmodelled`` and the modelled fields this target has
    no room for (``also``). A same-protocol translation carries them, so it logs nothing."""
    if request.protocol == target or not logger.isEnabledFor(logging.DEBUG):
        return
    dropped = request.unmodelled + also  # the decoder's scan runs here, only when the line is written
    if dropped:
        names = ", ".join(dropped[:MAX_NAMED])
        if len(dropped) > MAX_NAMED:
            names += f", … ({len(dropped)} in all)"
        logger.debug("dropping fields with no %s equivalent from the %s request: %s", target, request.protocol, names)


def no_turns(request: Request, target: str) -> InvalidRequest:
    """The 400 for a conversation that ``target`` cannot take (no user or assistant turn it accepts), naming the
    client's own field rather than letting the upstream refuse a field the client never sent."""
    where = request.conversation_field
    return InvalidRequest(
        f"'{where}' holds no user or assistant turn with content, and the {target} backend this model routes to "
        "needs one: add a user message with text",
        param=where,
    )
