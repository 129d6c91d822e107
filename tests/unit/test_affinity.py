"""lip.routing.affinity on the in-process store: a sticky conversation's binding is written when its leaf changes,
read before the next plan (bound leaf first, every other field of the attempts kept), refreshed while in use, and
followed along a Responses chain; a client is named by its key or address; the seeded draw repeats."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from lip.backends.base import Target
from lip.backends.local_stub import LocalStubBackend
from lip.config import load_text
from lip.errors import InvalidRequest
from lip.routing.affinity import HIT, MOVED, NEW, UNIDENTIFIED, Affinity, Sticky, digest, prefer
from lip.store import MemoryStore

CONFIG = """
plugins:
  backends:
    - {id: a, kind: local-stub, config: {backend_prefix: a}}
    - {id: b, kind: local-stub, config: {backend_prefix: b}}
"""
SESSION = CIMultiDict({"X-LIP-Session-Id": "conversation-1"})  # as aiohttp hands headers over


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def targets() -> list[Target]:
    settings = load_text(CONFIG, "t.yaml", {})
    a, b = (LocalStubBackend(spec) for spec in settings.backends)
    return [Target(a, "m", (("temperature", "0.1"),), max_context=900), Target(b, "m", min_context=10)]


async def test_a_binding_is_written_on_the_first_answer_and_read_before_the_next_plan() -> None:
    affinity = Affinity(MemoryStore(), 3600.0)
    a, b = targets()
    first = await affinity.identify("session", SESSION, {}, None)
    assert first is not None and first.key == digest("session", "conversation-1") and first.bound is None
    assert first.rng() is not None, "no binding yet: the draw is seeded"
    assert await affinity.settle(first, b) == NEW
    again = await affinity.identify("session", SESSION, {}, None)
    assert again is not None and again.bound == "b:m" and again.rng() is None
    assert await affinity.settle(again, b) == HIT
    assert await affinity.settle(again, a) == MOVED
    moved = await affinity.identify("session", SESSION, {}, None)
    assert moved is not None and moved.bound == "a:m"


def test_the_bound_leaf_goes_first_and_every_attempt_keeps_its_fields() -> None:
    a, b = targets()
    sticky = Sticky("session", "f" * 32, "e" * 32, bound="b:m")
    ordered = prefer([a, b], sticky)
    assert [t.leaf for t in ordered] == ["b:m", "a:m"]
    assert ordered[1].params == a.params and ordered[1].max_context == 900 and ordered[0].min_context == 10
    assert {t.session for t in ordered} == {"f" * 32}
    assert prefer([a, b], None) == [a, b]


def test_the_seeded_draw_repeats_for_a_conversation() -> None:
    one, two = (Sticky("session", digest("session", "x"), None) for _ in range(2))
    assert [one.rng().random() for _ in range(3)] == [two.rng().random() for _ in range(3)]  # type: ignore[union-attr]


async def test_a_binding_in_use_is_refreshed_before_it_expires() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    affinity = Affinity(store, 100.0, wall=clock)
    affinity.store = store  # the test's clock drives the LRU's expiry too
    a, _ = targets()
    sticky = await affinity.identify("session", SESSION, {}, None)
    assert sticky is not None
    await affinity.settle(sticky, a)
    for _ in range(5):  # 60 s apart: past a quarter of the TTL each time, rewritten each time
        clock.now += 60
        found = await affinity.identify("session", SESSION, {}, None)
        assert found is not None and found.bound == "a:m"
    clock.now += 101
    gone = await affinity.identify("session", SESSION, {}, None)
    assert gone is not None and gone.bound is None


async def test_a_responses_chain_carries_its_conversation() -> None:
    affinity = Affinity(MemoryStore(), 3600.0)
    _, b = targets()
    unnamed = await affinity.identify("session", {}, {}, None)
    assert unnamed is not None and unnamed.key is None
    await affinity.link("resp_1", unnamed, b)  # the chain's first answer starts a conversation, bound to b
    second = await affinity.identify("session", {}, {"previous_response_id": "resp_1"}, None)
    assert second is not None and second.bound == "b:m" and second.source == "previous_response_id"
    await affinity.link("resp_2", second, b)
    third = await affinity.identify("session", {}, {"previous_response_id": "resp_2"}, None)
    assert third is not None and third.key == second.key and third.bound == "b:m"


async def test_client_affinity_names_the_client_and_a_missing_identity_follows_the_policy() -> None:
    affinity = Affinity(MemoryStore(), 3600.0)
    by_key = await affinity.identify("client", {}, {}, "team-a")
    assert by_key is not None and by_key.key == digest("client", "team-a")
    nobody = await affinity.identify("session", {}, {}, "team-a")
    assert nobody is not None and nobody.key is None
    assert await affinity.settle(nobody, targets()[0]) == UNIDENTIFIED
    strict = Affinity(MemoryStore(), 3600.0, "fail_closed")
    with pytest.raises(InvalidRequest, match="X-LIP-Session-Id"):
        await strict.identify("session", {}, {}, "team-a")


async def test_without_affinity_only_a_cache_key_is_kept_and_only_when_a_backend_takes_one() -> None:
    body: dict[str, Any] = {"prompt_cache_key": "thread"}
    assert await Affinity(MemoryStore(), 3600.0).identify(None, {}, body, None) is None
    sticky = await Affinity(MemoryStore(), 3600.0, cache_keys=True).identify(None, {}, body, None)
    assert sticky is not None and sticky.key is None and sticky.cache_key == digest("session", "thread")
    assert sticky.key_seed == sticky.cache_key
    assert await Affinity(MemoryStore(), 3600.0, cache_keys=True).settle(sticky, targets()[0]) is None  # no metric


async def test_a_first_leaf_is_steered_until_it_opened_once_for_the_session() -> None:
    affinity = Affinity(MemoryStore(), 3600.0)
    assert await affinity.identify(None, SESSION, {}, None) is None  # no [first], no affinity: no session kept
    sticky = await affinity.identify(None, SESSION, {}, None, steers=True)
    assert sticky is not None and sticky.cache_key == digest("session", "conversation-1") and sticky.scope is None
    assert await affinity.opens(sticky)
    steered, other = targets()
    await affinity.settle(sticky, other)  # the [first] leaf failed: the session's first request is still to come
    assert await affinity.opens(sticky)
    assert await affinity.settle(sticky, Target(steered.backend, "m", opens_session=True)) is None
    assert not await affinity.opens(sticky)
    assert not await affinity.opens(await affinity.identify(None, {}, {}, None, steers=True))  # no session: never
    again = await affinity.identify(None, CIMultiDict({"X-LIP-Session-Id": "conversation-2"}), {}, None, steers=True)
    assert await affinity.opens(again)
