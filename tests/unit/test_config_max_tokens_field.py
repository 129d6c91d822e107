"""config.max_tokens_field: which field a Chat backend's translated requests carry max tokens in; the kind's own
choice by default, only Chat kinds may set it, and a wrong value is named with file, backend id and field."""

from __future__ import annotations

import pytest

from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


@pytest.mark.parametrize(
    ("kind", "setting", "field"),
    [
        ("custom-openai-legacy-compatible", None, "max_tokens"),
        ("custom-openai-legacy-compatible", "max_completion_tokens", "max_completion_tokens"),
        ("custom-openai-legacy-compatible", "max_tokens", "max_tokens"),
        ("openai", None, "max_completion_tokens"),
        ("openai", "max_tokens", "max_tokens"),
        ("vllm", "max_completion_tokens", "max_completion_tokens"),
    ],
)
def test_the_row_choice_else_the_kind_default(kind: str, setting: str | None, field: str) -> None:
    extra = {} if setting is None else {"max_tokens_field": setting}
    row = backend_row("p1", URL, kind=kind, prefix=kind if not kind.startswith("custom") else "p1", **extra)
    [backend] = load(config_of(row)).backends
    assert backend.max_tokens_field == field


def test_an_unknown_value_names_file_backend_and_field() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, max_tokens_field="max_output_tokens")))
    assert problem.startswith(f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.max_tokens_field:")
    assert "'max_tokens' or 'max_completion_tokens'" in problem and "Fix:" in problem


@pytest.mark.parametrize("kind", ["custom-openai-responses-compatible", "custom-anthropic-compatible"])
def test_only_chat_kinds_may_set_it(kind: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, kind=kind, max_tokens_field="max_completion_tokens")))
    assert f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.max_tokens_field" in problem
    assert "applies only to kinds that speak openai_chat" in problem and kind in problem and "Fix: remove it" in problem
