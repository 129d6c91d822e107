"""JSON Schema (an OpenAI or Anthropic client's tool parameters, a response format) -> Gemini's ``Schema``, the
OpenAPI subset that ``functionDeclarations[].parameters`` and ``responseSchema`` accept everywhere.

Gemini refuses what it does not know, so a Claude Code or Codex tool list needs cleaning:

- ``$ref`` into ``$defs``/``definitions`` is inlined (a recursive one stops at ``MAX_DEPTH`` as an object);
  ``allOf`` is merged; ``oneOf`` is ``anyOf``; ``const`` is a one-value ``enum``;
- ``type: [T, "null"]`` is T with ``nullable``; several types are an ``anyOf``; a missing type is taken from
  ``properties``/``items``/``enum``, else string; an array without ``items`` gets string items;
- ``format`` stays only where Gemini has it (``enum``/``date-time`` strings, ``float``/``double``,
  ``int32``/``int64``); ``enum`` values become strings on a string; ``required`` keeps only declared properties;
  an object without properties loses ``properties: {}``;
- everything else (``$schema``, ``additionalProperties``, ``patternProperties``, ``examples``, ``not``,
  ``if``/``then``/``else``, ``exclusiveMinimum``, ``multipleOf``, ``uniqueItems``, ...) is dropped.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 24
TYPES = {"string": "STRING", "number": "NUMBER", "integer": "INTEGER", "boolean": "BOOLEAN", "array": "ARRAY"}
TYPES |= {"object": "OBJECT", "null": "NULL"}
FORMATS = {
    "STRING": frozenset({"enum", "date-time"}),
    "NUMBER": frozenset({"float", "double"}),
    "INTEGER": frozenset({"int32", "int64"}),
}
_KEPT = ("title", "description", "default", "example", "pattern")
_COUNTS = ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties")
_BOUNDS = ("minimum", "maximum")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    name = ref.rsplit("/", 1)[-1]
    target = defs.get(name)
    if not isinstance(target, dict):
        return None
    rest = {k: v for k, v in node.items() if k != "$ref"}
    return {**target, **rest}


def _merge_all_of(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for raw in node["allOf"] if isinstance(node.get("allOf"), list) else ():
        sub = _resolve(raw, defs) if isinstance(raw, dict) else None
        if sub is None:
            continue
        for key, value in sub.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**value, **(merged.get("properties") or {})}
            elif key == "required" and isinstance(value, list):
                merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    return [TYPES[k] for k in kinds if isinstance(k, str) and k in TYPES]


def _guess(node: dict[str, Any]) -> str:
    if isinstance(node.get("properties"), dict):
        return "OBJECT"
    if "items" in node:
        return "ARRAY"
    enum = node.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, bool) for v in enum):
        return "BOOLEAN"
    if isinstance(enum, list) and enum and all(isinstance(v, int | float) and not isinstance(v, bool) for v in enum):
        return "NUMBER"
    return "STRING"


def convert(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> dict[str, Any]:
    """``schema`` as a Gemini Schema; ``defs`` are the definitions its ``$ref``s point into."""
    if not isinstance(schema, dict):
        return {"type": "STRING"} if schema is True or schema is None else {}
    if defs is None:
        defs = {}
        for key in ("definitions", "$defs"):
            if isinstance(schema.get(key), dict):
                defs.update(schema[key])
    if depth > MAX_DEPTH:
        return {"type": "OBJECT"}
    node = _resolve(schema, defs)
    if node is None:
        return {"type": "OBJECT"}
    if "$ref" in node and depth < MAX_DEPTH:  # a definition that is itself a reference
        return convert(node, defs, depth + 1)
    if "allOf" in node:
        node = _merge_all_of(node, defs)
    return _convert_node(node, defs, depth)


def _variants(node: dict[str, Any], defs: dict[str, Any], depth: int) -> list[dict[str, Any]] | None:
    options = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
    if not isinstance(options, list):
        return None
    return [convert(option, defs, depth + 1) for option in options if isinstance(option, dict)]


def _convert_node(node: dict[str, Any], defs: dict[str, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: node[key]
        for key in _KEPT
        if node.get(key) is not None and (isinstance(node[key], str) or key in ("default", "example"))
    }
    variants = _variants(node, defs, depth)
    if variants is not None:
        nulls = [v for v in variants if v.get("type") == "NULL"]
        variants = [v for v in variants if v.get("type") != "NULL"]
        if nulls or node.get("nullable") is True:
            out["nullable"] = True
        if len(variants) == 1:
            return {**variants[0], **out}
        if variants:
            out["anyOf"] = variants
            return out
    types = _types(node)
    if "NULL" in types and len(types) > 1:
        out["nullable"] = True
        types = [t for t in types if t != "NULL"]
    if len(types) > 1:
        out["anyOf"] = [_convert_node({**node, "type": t.lower()}, defs, depth + 1) for t in types]
        return out
    kind = types[0] if types else _guess(node)
    out["type"] = kind
    if node.get("nullable") is True:
        out["nullable"] = True
    _constraints(node, kind, out)
    if kind == "OBJECT":
        _object(node, defs, depth, out)
    elif kind == "ARRAY":
        items = node.get("items")
        if isinstance(items, list):  # the old tuple form: any of the listed item schemas
            items = {"anyOf": items} if items else None
        out["items"] = convert(items, defs, depth + 1) if isinstance(items, dict) else {"type": "STRING"}
    return out


def _constraints(node: dict[str, Any], kind: str, out: dict[str, Any]) -> None:
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in FORMATS.get(kind, ()):
        out["format"] = fmt
    values = node.get("enum")
    if "const" in node and node["const"] is not None:
        values = [node["const"]]
    if isinstance(values, list) and values and kind == "STRING":
        out["enum"] = [v if isinstance(v, str) else str(v) for v in values if v is not None]
    for key in _COUNTS:
        value = node.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[key] = value
    for key in _BOUNDS:
        value = node.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and kind in ("NUMBER", "INTEGER"):
            out[key] = value


def _object(node: dict[str, Any], defs: dict[str, Any], depth: int, out: dict[str, Any]) -> None:
    properties = node.get("properties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {str(k): convert(v, defs, depth + 1) for k, v in properties.items()}
        required = node.get("required")
        if isinstance(required, list):
            kept = [name for name in required if isinstance(name, str) and name in properties]
            if kept:
                out["required"] = list(dict.fromkeys(kept))


def parameters(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """A tool's parameters as Gemini takes them; None for a tool that takes none (Gemini refuses an object
    parameter schema with no properties)."""
    if not schema:
        return None
    converted = convert(schema)
    if converted.get("type") == "OBJECT" and not converted.get("properties"):
        return None
    return converted


def ordered(schema: dict[str, Any]) -> dict[str, Any]:
    """A response schema whose objects keep the client's key order (Gemini otherwise orders them by name)."""
    out = dict(schema)
    properties = out.get("properties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {k: ordered(v) if isinstance(v, dict) else v for k, v in properties.items()}
        out["propertyOrdering"] = list(properties)
    if isinstance(out.get("items"), dict):
        out["items"] = ordered(out["items"])
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [ordered(v) if isinstance(v, dict) else v for v in out["anyOf"]]
    return out


def to_json_schema(schema: Any) -> Any:
    """A Gemini Schema (a Gemini client's ``parameters`` or ``responseSchema``) as JSON Schema: types in lower case,
    ``nullable`` as a null type, ``propertyOrdering`` dropped."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("propertyOrdering", "property_ordering", "nullable"):
            continue
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "anyOf", "any_of"):
            out["anyOf" if key == "any_of" else key] = to_json_schema(value)
        else:
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out
