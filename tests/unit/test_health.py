"""Circuit breakers: consecutive failures open a circuit; open circuits are skipped while an alternative exists; a
half-open probe closes (or re-opens) them; per model where the provider says so; key cooldowns count as open."""

from __future__ import annotations

import logging

import pytest
import yaml

from lip.backends.base import Target
from lip.backends.local_stub import LocalStubBackend
from lip.config import load_text
from lip.errors import AdmissionRejected, UpstreamStatusError, UpstreamTimeout, UpstreamUnreachable
from lip.routing.health import Health


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Stub(LocalStubBackend):
    keys_back_in: float | None = None

    def unavailable_for(self) -> float | None:
        return self.keys_back_in


def backends() -> dict[str, Stub]:
    rows = [
        {
            "id": f"id-{p}",
            "kind": "local-stub",
            "config": {"backend_prefix": p, "circuit_failures": 2, "circuit_cooldown_s": 30},
        }
        for p in ("a", "b")
    ]
    settings = load_text(yaml.safe_dump({"plugins": {"backends": rows}}), "health-test.yaml", {})
    return {spec.prefix: Stub(spec) for spec in settings.backends}


def setup() -> tuple[Health, Clock, Target, Target]:
    clock = Clock()
    stubs = backends()
    return Health(clock), clock, Target(stubs["a"], "m"), Target(stubs["b"], "m")


DOWN = UpstreamUnreachable("backend 'a': cannot connect")


def test_consecutive_failures_open_the_circuit_and_it_is_skipped() -> None:
    health, _, a, b = setup()
    health.failure(a, DOWN)
    assert health.order([a, b]) == [a, b] and health.state("id-a") == "closed"
    health.failure(a, UpstreamTimeout("slow"))
    assert health.state("id-a") == "open"
    assert health.order([a, b]) == [b]
    assert health.describe()["id-a"]["last_error"] == "upstream_timeout"


def test_a_success_in_between_resets_the_count() -> None:
    health, _, a, _b = setup()
    health.failure(a, DOWN)
    health.success(a)
    health.failure(a, DOWN)
    assert health.state("id-a") == "closed"


def test_when_every_leaf_is_open_all_are_tried() -> None:
    health, _, a, b = setup()
    for target in (a, b, a, b):
        health.failure(target, DOWN)
    assert health.order([a, b]) == [a, b]


def test_the_client_s_mistakes_and_lip_s_own_limits_do_not_count() -> None:
    health, _, a, _ = setup()
    for _ in range(3):
        health.failure(a, UpstreamStatusError("bad", upstream_status=400))
        health.failure(a, AdmissionRejected("full"))
    assert health.state("id-a") == "closed" and health.describe() == {}


def test_after_the_cooldown_one_probe_goes_through_and_closes_the_circuit() -> None:
    health, clock, a, b = setup()
    health.failure(a, DOWN)
    health.failure(a, DOWN)
    clock.now += 31
    assert health.state("id-a") == "half-open"
    assert health.order([a, b]) == [a, b]
    health.check(a)  # this request is the probe
    assert health.order([a, b]) == [b]  # the others keep away while it runs
    health.success(a)
    assert health.state("id-a") == "closed" and health.order([a, b]) == [a, b]


def test_a_failed_probe_reopens_at_once() -> None:
    health, clock, a, _b = setup()
    health.failure(a, DOWN)
    health.failure(a, DOWN)
    clock.now += 31
    health.check(a)
    health.failure(a, DOWN)
    assert health.state("id-a") == "open" and health.describe()["id-a"]["times_opened"] == 2


def test_a_probe_that_never_reports_does_not_block_forever() -> None:
    health, clock, a, b = setup()
    health.failure(a, DOWN)
    health.failure(a, DOWN)
    clock.now += 31
    health.check(a)  # e.g. its client disconnected and nothing was reported
    clock.now += 31
    assert health.order([a, b]) == [a, b]
    health.check(a)  # the next request takes over as the probe
    assert health.order([a, b]) == [b]


def test_model_not_found_opens_a_circuit_for_that_model_only() -> None:
    health, _, a, _ = setup()
    other = Target(a.backend, "m2")
    missing = UpstreamStatusError("no such model", upstream_status=404)
    health.failure(a, missing)
    health.failure(a, missing)
    assert health.state("id-a/m") == "open" and health.state("id-a") == "closed"
    assert health.order([a, other]) == [other]


def test_a_backend_whose_keys_all_cool_down_is_skipped() -> None:
    health, _, a, b = setup()
    a.backend.keys_back_in = 12.0  # type: ignore[attr-defined]
    assert health.order([a, b]) == [b]
    assert health.blocked_for(a) == 12.0


def test_failures_while_open_extend_it_and_say_opened_once(caplog: pytest.LogCaptureFixture) -> None:
    """A backend that is the only leaf left keeps being tried: its circuit stays open without a warning per request."""
    health, clock, a, _ = setup()
    with caplog.at_level(logging.WARNING, logger="lip.routing.health"):
        for _ in range(10):
            health.failure(a, DOWN)
            clock.now += 1
    assert sum("opened" in r.getMessage() for r in caplog.records) == 1
    assert health.describe()["id-a"]["open_for_s"] == 29  # extended by the last failure, one second ago
