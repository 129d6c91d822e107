"""config.prompt_cache_key: whether a conversation's name goes up as ``prompt_cache_key`` (the kind's choice by
default: on for OpenAI's own presets, off for every other kind); only OpenAI protocol kinds may set it."""

from __future__ import annotations

import pytest
import yaml

from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


@pytest.mark.parametrize(
    ("kind", "setting", "on"),
    [
        ("openai", None, True),
        ("openai-legacy", None, True),
        ("openai-responses", None, True),
        ("openai", False, False),
        ("custom-openai-legacy-compatible", None, False),
        ("custom-openai-legacy-compatible", True, True),
        ("custom-openai-responses-compatible", True, True),
        ("openrouter", None, False),
        ("mistral", None, False),
        ("anthropic", None, False),
    ],
)
def test_the_row_choice_else_the_kind_default(kind: str, setting: bool | None, on: bool) -> None:
    extra = {} if setting is None else {"prompt_cache_key": setting}
    row = backend_row("p1", URL, kind=kind, prefix=kind if not kind.startswith("custom") else "p1", **extra)
    [backend] = load(config_of(row)).backends
    assert backend.prompt_cache_key is on


def test_an_anthropic_kind_may_not_set_it() -> None:
    row = backend_row("p1", URL, kind="custom-anthropic-compatible", prompt_cache_key=True)
    [problem] = problems_of(config_of(row))
    assert f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.prompt_cache_key" in problem
    assert "applies only to kinds that speak openai_chat or openai_responses" in problem and "Fix: remove it" in problem


def test_the_go_projects_routing_affinity_loads_and_applies() -> None:
    row = backend_row("p1", URL)
    settings = load(
        yaml.safe_dump(
            {
                "routing": {"affinity": {"store": "memory", "missing_identity": "fail_closed"}},
                "plugins": {"backends": [row]},
            }
        )
    )
    assert not settings.warnings
    assert settings.config.routing.affinity.missing_identity == "fail_closed"
