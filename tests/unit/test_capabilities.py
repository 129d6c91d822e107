"""Model capabilities resolved per backend and model: the inline item first, then the row's ``capabilities`` table,
then the preset's, then what discovery reported, field by field; a bad table row is named with file, id and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from lip.capabilities import Capabilities
from lip.config.load import BackendSpec
from lip.inventory import Inventory, _entry
from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


def openai_row(**config: object) -> dict[str, object]:
    return {"id": "o", "kind": "openai", "config": config}


def test_the_preset_table_knows_its_models() -> None:
    [spec] = load(config_of(openai_row())).backends
    assert spec.capabilities_for("gpt-4o-2024-11-20") == Capabilities(False, 16384, 128000, True)
    assert spec.capabilities_for("gpt-5-mini") == Capabilities(True, 128000, 400000, True)
    assert spec.capabilities_for("gpt-5-chat-latest").reasoning is False  # the specific pattern comes first
    assert spec.capabilities_for("o3-mini").vision is False
    assert spec.capabilities_for("some-new-model") == Capabilities()


def test_the_row_table_overrides_a_field_and_keeps_the_rest() -> None:
    row = openai_row(capabilities=[{"pattern": "gpt-4o*", "reasoning": True}, {"pattern": "*", "vision": False}])
    [spec] = load(config_of(row)).backends
    assert spec.capabilities_for("gpt-4o") == Capabilities(True, 16384, 128000, False)


def test_an_inline_item_comes_first_and_is_found_by_canonical_id_too() -> None:
    item = {"native_id": "gpt-4o", "canonical_id": "fast", "max_output_tokens": 4000, "context_window": 64000}
    row = openai_row(models={"source": "inline", "items": [item]}, capabilities=[{"pattern": "gpt-*", "vision": False}])
    [spec] = load(config_of(row)).backends
    assert spec.capabilities_for("fast") == Capabilities(False, 4000, 64000, False)


def test_discovery_fills_what_the_config_does_not_say() -> None:
    [spec] = load(config_of(backend_row("p1", URL, capabilities=[{"pattern": "*", "reasoning": True}]))).backends
    found = Capabilities(max_output_tokens=8000, context_window=100000, reasoning=False)
    assert spec.capabilities_for("any", found) == Capabilities(True, 8000, 100000, None)


@dataclass
class Listing:
    """A backend whose model list the test changes between discoveries."""

    spec: BackendSpec
    models: list[dict[str, Any]] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.spec.prefix

    @property
    def id(self) -> str:
        return self.spec.id

    async def list_models(self) -> list[dict[str, Any]]:
        return self.models


async def test_a_new_discovery_replaces_what_the_inventory_resolved_before() -> None:
    [spec] = load(config_of(backend_row("p1", URL, capabilities=[{"pattern": "*", "vision": False}]))).backends
    backend = Listing(spec, [{"id": "m", "max_tokens": 1000}])
    inventory = Inventory([backend])  # type: ignore[list-item]
    await inventory.discover("p1")
    assert inventory.capabilities("p1", "m") == Capabilities(None, 1000, None, False)
    assert inventory.capabilities("p1", "m") == Capabilities(None, 1000, None, False)  # asked again: the same
    assert inventory.capabilities("p1", "other") == Capabilities(vision=False)
    backend.models = [{"id": "m", "max_tokens": 2000}, {"id": "other", "max_tokens": 10}]
    await inventory.discover("p1")
    assert inventory.capabilities("p1", "m") == Capabilities(None, 2000, None, False)
    assert inventory.capabilities("p1", "other") == Capabilities(None, 10, None, False)
    assert inventory.capabilities("nobody", "m") == Capabilities()


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        ({"id": "claude-x", "max_input_tokens": 200000, "max_tokens": 64000}, Capabilities(None, 64000, 200000)),
        (
            {"id": "a/b", "context_length": 131072, "top_provider": {"max_completion_tokens": 32768}},
            Capabilities(None, 32768, 131072),
        ),
        ({"id": "m", "context_length": "big", "max_tokens": -1}, Capabilities()),
    ],
)
def test_a_model_list_entry_gives_its_limits(raw: dict[str, object], found: Capabilities) -> None:
    assert _entry(raw).capabilities == found


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"pattern": "x", "max_output_tokens": 0}, "config.capabilities.0.max_output_tokens"),
        ({"pattern": "x", "vision": "maybe"}, "config.capabilities.0.vision"),
        ({"pattern": "x", "reasonning": True}, "config.capabilities.0.reasonning"),
        ({"reasoning": True}, "config.capabilities.0.pattern"),
    ],
)
def test_a_bad_table_row_is_named(rule: dict[str, object], field: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, capabilities=[rule])))
    assert problem.startswith(f"{SOURCE}: backend 'p1' (plugins.backends[0]) field {field}:") and "Fix:" in problem


def test_a_bad_inline_item_capability_is_named() -> None:
    items = [{"native_id": "m", "context_window": -5}]
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"source": "inline", "items": items})))
    assert "field config.models.items.0.context_window" in problem
