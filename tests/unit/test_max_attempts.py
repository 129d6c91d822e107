"""routing.max_attempts trims a plan to its first N attempts; the legs of a race ('!') are one attempt."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lip.backends.registry import build_backend
from lip.config import load_text
from lip.inventory import Inventory
from lip.routing.health import Health
from lip.routing.plan import Planner
from lip.routing.router import Router

ROWS = [{"id": name, "kind": "local-stub"} for name in ("a", "b", "c", "d")]


def router(max_attempts: int | None) -> Router:
    routing: dict[str, Any] = {"max_attempts": max_attempts} if max_attempts else {}
    settings = load_text(yaml.safe_dump({"routing": routing, "plugins": {"backends": ROWS}}), "t.yaml", {})
    backends = {spec.prefix: build_backend(spec, None, {}) for spec in settings.backends}  # type: ignore[arg-type]
    inventory = Inventory(backends.values())
    return Router(Planner(settings, backends, inventory), Health(), inventory)


@pytest.mark.parametrize(
    ("selector", "limit", "leaves"),
    [
        ("a:m|b:m|c:m", None, ["a:m", "b:m", "c:m"]),
        ("a:m|b:m|c:m", 2, ["a:m", "b:m"]),
        ("a:m|b:m|c:m", 1, ["a:m"]),
        ("a:m!b:m|c:m|d:m", 2, ["a:m", "b:m", "c:m"]),
        ("a:m!b:m|c:m|d:m", 1, ["a:m", "b:m"]),
    ],
)
def test_a_plan_has_at_most_max_attempts_attempts(selector: str, limit: int | None, leaves: list[str]) -> None:
    assert [t.leaf for t in router(limit).plan(selector)] == leaves
