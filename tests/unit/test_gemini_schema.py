"""JSON Schema from OpenAI and Anthropic clients, cleaned to the Schema subset a Gemini upstream accepts; each result
is checked against the google-genai SDK's own ``Schema`` type (which refuses unknown fields)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from lip.canonical.request import Request, ToolSpec
from lip.protocols.gemini import params, schema, wire
from tests.fakes.gemini import SCHEMA_FIELDS

ALLOWED = SCHEMA_FIELDS  # Google's rule, as the Gemini fake enforces it


def _check(node: Any) -> None:
    """Gemini's rules, everywhere in a converted schema."""
    assert isinstance(node, dict)
    assert set(node) <= ALLOWED, set(node) - ALLOWED
    if node.get("type") == "ARRAY":
        assert isinstance(node.get("items"), dict)
    if "properties" in node:
        assert node["properties"], "an empty properties object is refused"
        for child in node["properties"].values():
            _check(child)
    assert set(node.get("required", [])) <= set(node.get("properties", {}))
    if "items" in node:
        _check(node["items"])
    for child in node.get("anyOf", []):
        _check(child)
    if "enum" in node:
        assert node["type"] == "STRING" and all(isinstance(v, str) for v in node["enum"])


def _sdk(node: dict[str, Any]) -> None:
    types.Schema.model_validate_json(orjson.dumps(node))
    _check(node)


# Shapes from Claude Code's, Codex's and MCP servers' tool lists (pydantic models give $defs and $ref).
CLAUDE_CODE_EDIT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file_path": {"type": "string", "description": "The absolute path"},
        "edits": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "old_string": {"type": "string"},
                    "new_string": {"type": "string"},
                    "replace_all": {"type": "boolean", "default": False},
                },
                "required": ["old_string", "new_string"],
            },
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600000},
        "url": {"type": "string", "format": "uri"},
        "mode": {"type": "string", "enum": ["acceptEdits", "plan"]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
    },
    "required": ["file_path", "edits", "missing_property"],
}
MCP_WITH_DEFS = {
    "type": "object",
    "$defs": {
        "Point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
        "Tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}},
    },
    "properties": {
        "at": {"$ref": "#/$defs/Point", "description": "where"},
        "tree": {"$ref": "#/$defs/Tree"},
        "note": {"type": ["string", "null"]},
        "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "maybe": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "kind": {"const": "fixed"},
        "both": {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"type": "object"}]},
        "free": {"type": "object", "additionalProperties": {"type": "string"}},
        "list": {"type": "array"},
        "any": {},
        "multi": {"type": ["string", "number"]},
        "missing": {"$ref": "#/$defs/Nowhere"},
    },
}


def test_a_claude_code_tool_schema_is_cleaned_to_what_gemini_takes() -> None:
    converted = schema.convert(CLAUDE_CODE_EDIT)
    _sdk(converted)
    properties = converted["properties"]
    assert converted["required"] == ["file_path", "edits"]
    assert properties["edits"]["items"]["properties"]["replace_all"] == {"default": False, "type": "BOOLEAN"}
    assert properties["timeout"] == {"type": "NUMBER", "maximum": 600000}
    assert properties["url"] == {"type": "STRING"}  # Gemini has no uri format
    assert properties["mode"] == {"type": "STRING", "enum": ["acceptEdits", "plan"]}
    assert properties["level"] == {"type": "INTEGER"}  # Gemini enums are strings only


def test_refs_are_inlined_and_json_schema_forms_become_geminis() -> None:
    converted = schema.convert(MCP_WITH_DEFS)
    _sdk(converted)
    p = converted["properties"]
    assert p["at"] == {
        "description": "where",
        "type": "OBJECT",
        "properties": {"x": {"type": "NUMBER"}, "y": {"type": "NUMBER"}},
    }
    depth, node = 0, p["tree"]
    while "properties" in node:  # a recursive reference stops, as an object
        node, depth = node["properties"]["children"]["items"], depth + 1
    assert node == {"type": "OBJECT"} and 3 < depth <= schema.MAX_DEPTH
    assert p["note"] == {"type": "STRING", "nullable": True}
    assert p["either"] == {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}
    assert p["maybe"] == {"type": "STRING", "format": "date-time", "nullable": True}
    assert p["kind"] == {"type": "STRING", "enum": ["fixed"]}
    assert p["both"] == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]}
    assert p["free"] == {"type": "OBJECT"}
    assert p["list"] == {"type": "ARRAY", "items": {"type": "STRING"}}
    assert p["any"] == {"type": "STRING"}
    assert p["multi"] == {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}
    assert p["missing"] == {"type": "OBJECT"}


def test_tools_without_parameters_and_response_schemas() -> None:
    request = Request(
        model="m",
        messages=[],
        tools=[
            ToolSpec(name="now", parameters={"type": "object", "properties": {}, "additionalProperties": False}),
            ToolSpec(name="apply_patch", description="Use `apply_patch`. This is a FREEFORM tool.", kind="custom"),
        ],
    )
    [tool] = params.encode_tools(request)
    types.Tool.model_validate_json(orjson.dumps(tool))
    now, patch = tool["functionDeclarations"]
    assert now == {"name": "now"}  # Gemini refuses an object without properties
    assert patch["parameters"]["properties"]["input"]["type"] == "STRING"
    assert "FREEFORM" not in patch["description"]
    ordered = schema.ordered(schema.convert({"type": "object", "properties": {"z": {"type": "string"}, "a": {}}}))
    assert ordered["propertyOrdering"] == ["z", "a"]
    _sdk(ordered)


def test_a_gemini_schema_from_a_client_is_json_schema_for_other_targets() -> None:
    given_schema = {
        "type": "OBJECT",
        "properties": {"q": {"type": "STRING", "nullable": True}, "n": {"type": "INTEGER"}},
        "propertyOrdering": ["q", "n"],
        "required": ["q"],
    }
    assert schema.to_json_schema(given_schema) == {
        "type": "object",
        "properties": {"q": {"type": ["string", "null"]}, "n": {"type": "integer"}},
        "required": ["q"],
    }


# ---- properties: any JSON-Schema-like input gives a schema the SDK and Gemini's rules accept

KEYWORDS = [
    "type",
    "properties",
    "items",
    "required",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "format",
    "additionalProperties",
    "$ref",
    "nullable",
    "minimum",
    "maxItems",
    "description",
    "default",
    "examples",
    "$schema",
]
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
_type = st.one_of(
    st.sampled_from(["string", "number", "integer", "boolean", "array", "object", "null", "bogus"]),
    st.lists(st.sampled_from(["string", "null", "integer", "object"]), max_size=3),
)


def _node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    values = {
        "type": _type,
        "properties": st.dictionaries(st.text(min_size=1, max_size=4), children, max_size=3),
        "items": st.one_of(children, st.lists(children, max_size=2)),
        "required": st.lists(st.text(max_size=4), max_size=3),
        "enum": st.lists(_scalar, max_size=3),
        "const": _scalar,
        "anyOf": st.lists(children, max_size=3),
        "oneOf": st.lists(children, max_size=2),
        "allOf": st.lists(children, max_size=2),
        "format": st.sampled_from(["uri", "date-time", "int64", "float", "enum", "email"]),
        "additionalProperties": st.one_of(st.booleans(), children),
        "$ref": st.sampled_from(["#/$defs/A", "#/definitions/B", "#/$defs/missing", "http://x"]),
        "nullable": st.booleans(),
        "minimum": st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
        "maxItems": st.integers(-1, 5),
        "description": st.text(max_size=5),
        "default": _scalar,
        "examples": st.lists(_scalar, max_size=2),
        "$schema": st.just("http://json-schema.org/draft-07/schema#"),
    }
    return st.lists(st.sampled_from(KEYWORDS), max_size=5, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: values[k] for k in keys})
    )


json_schemas: st.SearchStrategy[Any] = st.recursive(st.one_of(st.just({}), st.booleans()), _node, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_schemas, json_schemas)
def test_any_json_schema_converts_to_one_gemini_and_its_sdk_accept(tree: Any, definition: Any) -> None:
    root = tree if isinstance(tree, dict) else {}
    root = {**root, "$defs": {"A": definition}, "definitions": {"B": {"$ref": "#/$defs/A"}}}
    _sdk(schema.convert(root))
    parameters = schema.parameters(root)
    if parameters is not None:
        types.FunctionDeclaration.model_validate_json(orjson.dumps({"name": "f", "parameters": parameters}))


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(min_size=1))
def test_a_minted_call_id_carries_any_signature_back_and_fits_every_providers_id_rule(seed: str, sig: str) -> None:
    call_id = wire.mint_call_id(seed, sig)
    assert wire.minted(call_id) and wire.call_signature(call_id) == sig
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", call_id)  # Anthropic's tool_use id rule
    assert wire.call_signature(wire.mint_call_id(seed)) is None
    assert wire.call_signature("call_" + sig) is None
