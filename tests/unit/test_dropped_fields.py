"""What a target cannot take is dropped with one debug line per translated request naming the fields and the target
protocol, never their values (they may hold user data); a same-protocol translation carries them and says nothing."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest

from lip.protocols.anthropic_messages import AnthropicMessagesCodec
from lip.protocols.codec import Codec
from lip.protocols.openai_chat import OpenAIChatCodec
from lip.protocols.openai_responses import OpenAIResponsesCodec

SECRET = "s3cret-user-data"
CODECS: dict[str, Codec] = {
    "anthropic_messages": AnthropicMessagesCodec(),
    "openai_chat": OpenAIChatCodec(),
    "openai_responses": OpenAIResponsesCodec(),
}
BODIES: dict[str, tuple[dict[str, Any], list[str]]] = {  # a body with unmodelled fields, and their names
    "anthropic_messages": (
        {
            "model": "m",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
            "context_management": {"edits": [{"type": SECRET}]},
            "top_k": 5,
            "output_config": {"effort": "low", "task_budget": SECRET},
            "service_tier": None,  # null: nothing is dropped
        },
        ["context_management", "top_k", "output_config.task_budget"],
    ),
    "openai_chat": (
        {
            "model": "m",
            "messages": [{"role": "user", "content": "hi"}],
            "frequency_penalty": 0.5,
            "prompt_cache_key": SECRET,
            "stream_options": {"include_usage": True},
        },
        ["frequency_penalty", "prompt_cache_key"],
    ),
    "openai_responses": (
        {
            "model": "m",
            "input": "hi",
            "prompt_cache_key": SECRET,
            "text": {"verbosity": SECRET, "format": {"type": "text"}},
            "reasoning": {"effort": "low", "summary": "auto"},
            "store": False,
        },
        ["prompt_cache_key", "text.verbosity", "reasoning.summary", "store"],
    ),
}
PAIRS = [(source, target) for source in CODECS for target in CODECS if source != target]


def _dropped_lines(caplog: pytest.LogCaptureFixture, target: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == f"lip.protocols.{target}" and r.getMessage().startswith("dropping")]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}-to-{t}" for s, t in PAIRS])
def test_a_translation_names_the_dropped_fields_at_debug_and_never_their_values(
    caplog: pytest.LogCaptureFixture, source: str, target: str
) -> None:
    body, names = BODIES[source]
    request = CODECS[source].decode_request(body, {})
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        CODECS[target].encode_request(request, "native")
    lines = [r.getMessage() for r in _dropped_lines(caplog, target) if source in r.getMessage()]
    assert len(lines) == 1, lines
    assert all(name in lines[0] for name in names) and target in lines[0]
    assert SECRET not in caplog.text
    assert "service_tier" not in lines[0] and "include_usage" not in lines[0]


@pytest.mark.parametrize("protocol", ["anthropic_messages", "openai_responses"])
def test_a_same_protocol_translation_carries_them_and_logs_nothing(
    caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    body, names = BODIES[protocol]
    codec = CODECS[protocol]
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        sent = codec.encode_request(codec.decode_request(body, {}), "native")
    assert not [r for r in _dropped_lines(caplog, protocol) if "equivalent" in r.getMessage()]
    assert all(name.split(".")[0] in sent for name in names)


def test_passthrough_leaves_the_body_untouched(caplog: pytest.LogCaptureFixture) -> None:
    body, _ = BODIES["openai_responses"]
    codec = CODECS["openai_responses"]
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        sent = codec.with_model(codec.decode_head(body, {}).raw, "native")
    assert sent == {**body, "model": "native"}
    assert not caplog.records


def test_a_request_without_unmodelled_fields_logs_no_drop(caplog: pytest.LogCaptureFixture) -> None:
    request = CODECS["openai_chat"].decode_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, {})
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        CODECS["anthropic_messages"].encode_request(request, "native")
    assert not [r for r in _dropped_lines(caplog, "anthropic_messages") if "equivalent" in r.getMessage()]


def test_a_body_of_many_unknown_fields_stays_one_short_line(caplog: pytest.LogCaptureFixture) -> None:
    body = {"model": "m", "input": "hi", **{f"x{i}": i for i in range(1000)}}
    request = CODECS["openai_responses"].decode_request(body, {})
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        CODECS["openai_chat"].encode_request(request, "native")
    (line,) = [r.getMessage() for r in _dropped_lines(caplog, "openai_chat") if "equivalent" in r.getMessage()]
    assert "x31," in line and "x32," not in line and "(1000 in all)" in line


# Parts of held fields that a target has no room for, per (source, target): each named in the same one line.
INNER: dict[str, dict[str, Any]] = {
    "openai_chat": {
        "model": "m",
        "messages": [{"role": "user", "content": "hi", "name": SECRET}],
        "seed": 7,
        "metadata": {"k": SECRET},
    },
    "openai_responses": {
        "model": "m",
        "input": "hi",
        "tools": [
            {"type": "web_search"},
            {"type": "function", "name": "f", "parameters": {}},
            {"type": "namespace", "name": "ns", "description": "d", "tools": [{"type": "function", "name": "g"}]},
        ],
        "metadata": {"k": SECRET},
        "store": True,
    },
    "anthropic_messages": {
        "model": "m",
        "max_tokens": 100,
        "system": [{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}
        ],
        "tools": [
            {"name": "f", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "thinking": {"type": "adaptive"},
    },
}
INNER_NAMES: dict[tuple[str, str], list[str]] = {
    ("openai_chat", "anthropic_messages"): ["messages[].name", "seed", "metadata"],
    ("openai_chat", "openai_responses"): ["messages[].name"],  # seed: its own line; metadata: carried
    ("openai_responses", "openai_chat"): ["tools[web_search]", "store", "metadata"],
    ("openai_responses", "anthropic_messages"): ["tools[web_search]", "store", "metadata"],
    ("anthropic_messages", "openai_chat"): [
        "thinking.type=adaptive",
        "system[].cache_control",
        "messages[].content[].cache_control",
        "tools[].cache_control",
        "tools[web_search_20250305]",
    ],
}
INNER_NAMES[("anthropic_messages", "openai_responses")] = INNER_NAMES[("anthropic_messages", "openai_chat")]


@pytest.mark.parametrize(("source", "target"), list(INNER_NAMES), ids=[f"{s}-to-{t}" for s, t in INNER_NAMES])
def test_parts_of_held_fields_that_the_target_cannot_take_are_named_too(
    caplog: pytest.LogCaptureFixture, source: str, target: str
) -> None:
    request = CODECS[source].decode_request(INNER[source], {})
    with caplog.at_level(logging.DEBUG, logger="lip.protocols"):
        sent = CODECS[target].encode_request(request, "native")
    (line,) = [r.getMessage() for r in _dropped_lines(caplog, target) if "equivalent" in r.getMessage()]
    named = line.split(": ", 1)[1].split(", ")
    assert sorted(named) == sorted(INNER_NAMES[(source, target)])
    assert SECRET not in caplog.text
    assert "seed" not in sent and "cache_control" not in orjson.dumps(sent).decode()


def test_thinking_disabled_is_named_and_enabled_is_not(caplog: pytest.LogCaptureFixture) -> None:
    body = {**INNER["anthropic_messages"], "system": "s", "tools": [], "messages": [{"role": "user", "content": "hi"}]}
    disabled = CODECS["anthropic_messages"].decode_request({**body, "thinking": {"type": "disabled"}}, {})
    enabled = {**body, "thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4096}
    assert disabled.unmodelled == ("thinking.type=disabled",)
    assert CODECS["anthropic_messages"].decode_request(enabled, {}).unmodelled == ()
