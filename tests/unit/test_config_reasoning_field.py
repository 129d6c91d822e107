"""config.reasoning_field and config.think_tags: where a Chat backend takes an assistant turn's reasoning back (the
kind's own choice by default: OpenAI none, OpenRouter and Ollama ``reasoning``, the rest ``reasoning_content``), and
whether leaked ``<think>`` text is reasoning; only Chat kinds may set the field."""

from __future__ import annotations

import pytest

from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


@pytest.mark.parametrize(
    ("kind", "setting", "field"),
    [
        ("custom-openai-legacy-compatible", None, "reasoning_content"),
        ("custom-openai-legacy-compatible", "reasoning", "reasoning"),
        ("custom-openai-legacy-compatible", "none", "none"),
        ("openai", None, "none"),
        ("openai", "reasoning_content", "reasoning_content"),
        ("openai-legacy", None, "none"),
        ("openrouter", None, "reasoning"),
        ("ollama", None, "reasoning"),
        ("ollama-cloud", None, "reasoning"),
        ("nvidia", None, "reasoning_content"),
        ("vllm", None, "reasoning_content"),
        ("llamacpp", None, "reasoning_content"),
    ],
)
def test_the_row_choice_else_the_kind_default(kind: str, setting: str | None, field: str) -> None:
    extra = {} if setting is None else {"reasoning_field": setting}
    row = backend_row("p1", URL, kind=kind, prefix=kind if not kind.startswith("custom") else "p1", **extra)
    [backend] = load(config_of(row)).backends
    assert backend.reasoning_field == field


def test_an_unknown_value_names_file_backend_and_field() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, reasoning_field="thoughts")))
    assert problem.startswith(f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.reasoning_field:")
    assert "'reasoning_content', 'reasoning' or 'none'" in problem and "Fix:" in problem


@pytest.mark.parametrize("kind", ["custom-openai-responses-compatible", "custom-anthropic-compatible"])
def test_only_chat_kinds_may_set_it(kind: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, kind=kind, reasoning_field="reasoning")))
    assert f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.reasoning_field" in problem
    assert "applies only to kinds that speak openai_chat" in problem and kind in problem and "Fix: remove it" in problem


@pytest.mark.parametrize(
    ("kind", "setting", "on"),
    [
        ("custom-openai-legacy-compatible", None, False),
        ("custom-anthropic-compatible", True, True),
        ("openai", None, False),
        ("vllm", None, True),
        ("ollama", None, True),
        ("llamacpp", False, False),
    ],
)
def test_think_tags_the_row_choice_else_the_kind_default(kind: str, setting: bool | None, on: bool) -> None:
    extra = {} if setting is None else {"think_tags": setting}
    row = backend_row("p1", URL, kind=kind, prefix=kind if not kind.startswith("custom") else "p1", **extra)
    [backend] = load(config_of(row)).backends
    assert backend.think_tags is on
