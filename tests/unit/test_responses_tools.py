"""Responses tool declarations: namespace flattening (names every backend takes, the same on every request),
``additional_tools`` items, and the 400s for shapes the API refuses too."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lip.canonical import ToolOrigin
from lip.errors import InvalidRequest
from lip.protocols.openai_responses import OpenAIResponsesCodec
from lip.protocols.openai_responses.tools import flat_name

CHAT_AND_ANTHROPIC_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
CODEC = OpenAIResponsesCodec()


def decode(body: dict[str, Any]) -> Any:
    return CODEC.decode_request({"model": "m", **body}, {})


def function(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}}


def test_a_flat_name_that_fits_is_readable() -> None:
    assert flat_name("collaboration", "spawn_agent") == "collaboration__spawn_agent"


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("mcp.github", "create_issue"),  # a dot: outside the rule
        ("a" * 40, "b" * 40),  # too long together
        ("ns", "weird name/with:chars"),
    ],
)
def test_a_flat_name_that_does_not_fit_still_follows_the_rule_and_stays_unique(namespace: str, name: str) -> None:
    flat = flat_name(namespace, name)
    assert CHAT_AND_ANTHROPIC_NAME.fullmatch(flat)
    assert flat == flat_name(namespace, name)  # the same on every request: history maps to the same name
    assert flat != flat_name(namespace, name + "x") and flat != flat_name(namespace + "x", name)


def test_tools_from_additional_tools_items_and_namespaces_become_flat_specs() -> None:
    group = {"type": "namespace", "name": "mcp.github", "description": "GitHub.", "tools": [function("create_issue")]}
    request = decode(
        {
            "tools": [function("shell")],
            "input": [
                {"type": "additional_tools", "role": "developer", "tools": [group, function("shell")]},
                {"type": "message", "role": "user", "content": "hi"},
            ],
        }
    )
    shell, issue = request.tools  # the second "shell" declaration is a duplicate: the first wins
    assert shell.name == "shell" and shell.origin is None
    assert issue.name == flat_name("mcp.github", "create_issue") and issue.description == "GitHub."
    assert request.tool_origins() == {issue.name: ToolOrigin("mcp.github", "create_issue")}
    assert [m.role for m in request.messages] == ["user"]  # the declarations are no turn


def test_a_replayed_call_with_a_namespace_gets_the_flat_name() -> None:
    call = {"type": "custom_tool_call", "call_id": "c1", "namespace": "functions", "name": "exec", "input": "x"}
    request = decode({"input": [call, {"type": "custom_tool_call_output", "call_id": "c1", "output": "ok"}]})
    [part] = request.messages[0].content
    assert (part.name, part.kind, part.arguments) == ("functions__exec", "custom", "x")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "namespace", "name": "ns", "tools": [{"type": "web_search"}]}], "input[0].tools[0].tools[0]"),
        ([{"type": "namespace", "tools": []}], "input[0].tools[0].name"),
        ([{"type": "namespace", "name": "ns"}], "input[0].tools[0].tools"),
    ],
)
def test_a_namespace_the_api_refuses_is_a_400_naming_it(tools: list[Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode({"input": [{"type": "additional_tools", "role": "developer", "tools": tools}]})
    assert caught.value.param == param
