"""backend_prefix: required, trimmed, non-empty, no '/' or ':', unique among enabled rows, not reserved."""

from __future__ import annotations

import pytest

from lip.backends.presets import RESERVED_PREFIXES
from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"
ISSUE_RESERVED = [
    *("openai", "openai-legacy", "openai-responses", "anthropic", "gemini", "bedrock", "acp", "openrouter"),
    *("nvidia", "ollama", "ollama-cloud", "llamacpp", "lmstudio", "vllm", "local-stub"),
]


def test_a_custom_row_without_a_prefix_is_rejected() -> None:
    row = backend_row("p1", URL)
    del row["config"]["backend_prefix"]
    [problem] = problems_of(config_of(row))
    assert f"{SOURCE}: backend 'p1'" in problem
    assert "config.backend_prefix" in problem
    assert "required" in problem and "Fix:" in problem


def test_the_prefix_is_trimmed() -> None:
    settings = load(config_of(backend_row("p1", URL, prefix="  provider123 \t")))
    assert [b.prefix for b in settings.backends] == ["provider123"]


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_an_empty_prefix_is_rejected(blank: str) -> None:
    row = backend_row("p1", URL)
    row["config"]["backend_prefix"] = blank
    [problem] = problems_of(config_of(row))
    assert "backend 'p1'" in problem and "config.backend_prefix" in problem and "empty" in problem


@pytest.mark.parametrize("bad", ["a/b", "a:b", "/lead", "trail:", "x/y:z"])
def test_a_prefix_with_a_slash_or_colon_is_rejected(bad: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, prefix=bad)))
    assert "config.backend_prefix" in problem
    assert "must not contain '/' or ':'" in problem


def test_every_reserved_prefix_of_the_issue_is_reserved() -> None:
    assert set(ISSUE_RESERVED) <= RESERVED_PREFIXES


@pytest.mark.parametrize("reserved", ISSUE_RESERVED)
def test_a_custom_row_may_not_take_a_reserved_prefix(reserved: str) -> None:
    [problem] = problems_of(config_of(backend_row("mine", URL, prefix=reserved)))
    assert "backend 'mine'" in problem and "config.backend_prefix" in problem
    assert f"{reserved!r} is reserved" in problem and "choose another prefix" in problem


def test_a_reserved_prefix_with_spaces_is_still_reserved() -> None:
    [problem] = problems_of(config_of(backend_row("mine", URL, prefix=" openai ")))
    assert "'openai' is reserved" in problem


def test_prefixes_are_unique_among_enabled_rows() -> None:
    text = config_of(backend_row("first", URL, prefix="shared"), backend_row("second", URL, prefix="shared"))
    [problem] = problems_of(text)
    assert "backend 'second'" in problem and "config.backend_prefix" in problem
    assert "'shared' is already used" in problem


def test_prefixes_compare_after_trimming() -> None:
    text = config_of(backend_row("first", URL, prefix="shared"), backend_row("second", URL, prefix=" shared "))
    [problem] = problems_of(text)
    assert "already used" in problem


def test_a_disabled_row_may_repeat_a_prefix() -> None:
    disabled = {**backend_row("spare", URL, prefix="shared"), "enabled": False}
    settings = load(config_of(backend_row("main", URL, prefix="shared"), disabled))
    assert [(b.id, b.prefix) for b in settings.backends] == [("main", "shared")]


def test_two_disabled_rows_may_share_a_prefix_with_an_enabled_one() -> None:
    rows = [{**backend_row(f"spare{i}", URL, prefix="shared"), "enabled": False} for i in range(2)]
    settings = load(config_of(*rows, backend_row("main", URL, prefix="shared")))
    assert [b.id for b in settings.backends] == ["main"]


def test_a_preset_row_routes_by_its_id_by_default() -> None:
    """The Go project's rule: a built-in row's instance id is its prefix (two instances of one kind can coexist)."""
    settings = load(config_of({"id": "local", "kind": "local-stub"}, {"id": "local-2", "kind": "local-stub"}))
    assert [b.prefix for b in settings.backends] == ["local", "local-2"]
