"""Key cool-downs, disabled keys and backend circuits pass between lip processes through the store (one
MemoryStore object stands in for Redis here); only changes are written, and per-model circuits stay local."""

from __future__ import annotations

import pytest
import yaml

from lip.backends.base import Target
from lip.backends.local_stub import LocalStubBackend
from lip.config import load_text
from lip.credentials import KeyRing, Secret
from lip.errors import UpstreamStatusError, UpstreamUnreachable
from lip.routing.health import Health
from lip.routing.shared import SharedRouting, fingerprint
from lip.store import MemoryStore
from tests.harness import CANARY


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Process:
    """One lip process: its backends with key rings, its health, its view of the shared store."""

    def __init__(self, store: MemoryStore, clock: Clock, *, reloaded: bool = False) -> None:
        rows = [{"id": "a", "kind": "local-stub", "config": {"circuit_failures": 2, "circuit_cooldown_s": 30}}]
        settings = load_text(yaml.safe_dump({"plugins": {"backends": rows}}), "shared-test.yaml", {})
        self.backend = LocalStubBackend(settings.backends[0])
        self.ring = KeyRing.of([Secret(CANARY), Secret("key-2")], clock)
        self.backend.keys = self.ring  # type: ignore[attr-defined]
        self.health = Health(clock)
        self.shared = SharedRouting(store, self.health, [self.backend], 1.0, reloaded=reloaded, wall=clock)
        self.target = Target(self.backend, "m")

    async def settle(self) -> None:
        await self.shared._writes.join()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def started(store: MemoryStore, clock: Clock, **kwargs: bool) -> Process:
    process = Process(store, clock, **kwargs)
    process.shared.start()
    return process


async def test_a_cool_down_and_a_disabled_key_reach_the_other_process(clock: Clock) -> None:
    store = MemoryStore()
    one, other = await started(store, clock), await started(store, clock)
    one.ring.cool(one.ring.keys[0], 60)
    one.ring.disable(one.ring.keys[1])
    await one.settle()
    await other.shared.sync()
    assert [(k["disabled"], k["cooling_s"]) for k in other.ring.describe()] == [(False, 60.0), (True, 0.0)]
    assert all(CANARY not in key for key in store._items), "the store names a key by a hash, never by its value"
    assert f"key:a:{fingerprint('a', one.ring.keys[0])}:cool" in store._items
    await one.shared.aclose()
    await other.shared.aclose()


async def test_the_later_cool_down_wins(clock: Clock) -> None:
    store = MemoryStore()
    one, other = await started(store, clock), await started(store, clock)
    one.ring.cool(one.ring.keys[0], 60)
    other.ring.cool(other.ring.keys[0], 10)
    await one.settle()
    await other.settle()
    await other.shared.sync()
    assert other.ring.describe()[0]["cooling_s"] == 60.0
    await one.shared.aclose()
    await other.shared.aclose()


async def test_a_reload_clears_the_disabled_marks_of_its_keys(clock: Clock) -> None:
    store = MemoryStore()
    one = await started(store, clock)
    one.ring.disable(one.ring.keys[0])
    await one.settle()
    await one.shared.aclose()
    restarted = await started(store, clock)  # a new process (or a worker replaced): the mark still holds
    await restarted.shared.sync()
    assert restarted.ring.describe()[0]["disabled"]
    reloaded = await started(store, clock, reloaded=True)
    await reloaded.shared.synced.wait()  # its first sync comes after the clearing
    assert not reloaded.ring.describe()[0]["disabled"]
    await restarted.shared.aclose()
    await reloaded.shared.aclose()


async def test_a_circuit_opens_and_closes_in_every_process(clock: Clock) -> None:
    store = MemoryStore()
    one, other = await started(store, clock), await started(store, clock)
    down = UpstreamUnreachable("backend 'a': cannot connect")
    one.health.failure(one.target, down)
    one.health.failure(one.target, down)
    await one.settle()
    await other.shared.sync()
    assert other.health.state("a") == "open" and other.health.blocked_for(other.target) == 30
    assert other.health.describe()["a"]["last_error"] == "upstream_unreachable"

    clock.now += 5
    one.health.success(one.target)
    await one.settle()
    await other.shared.sync()
    assert other.health.state("a") == "closed"
    await one.shared.aclose()
    await other.shared.aclose()


async def test_nothing_is_written_while_nothing_changes_and_model_circuits_stay_local(clock: Clock) -> None:
    store = MemoryStore()
    one, other = await started(store, clock), await started(store, clock)
    one.health.success(one.target)
    missing = UpstreamStatusError("no such model", upstream_status=404, error_type="model_not_found")
    one.health.failure(one.target, missing)
    one.health.failure(one.target, missing)
    await one.settle()
    assert one.health.state("a/m") == "open"
    assert len(store) == 0
    await other.shared.sync()
    assert other.health.describe() == {}
    await one.shared.aclose()
    await other.shared.aclose()
