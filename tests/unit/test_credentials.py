"""API keys: ROOT, ROOT_2 ... ROOT_32 from an injected env mapping, redacted secrets, round-robin and cooldowns."""

from __future__ import annotations

import pytest

from lip.credentials import MAX_KEYS, KeyRing, Secret, key_variable_names, read_numbered
from tests.harness import CANARY


def values(env: dict[str, str], root: str = "ROOT", **kwargs: bool) -> list[str]:
    return [s.reveal() for s in read_numbered(env, root, **kwargs)]


def test_root_then_numbered_keys_from_two() -> None:
    assert values({"ROOT": "a", "ROOT_2": "b", "ROOT_3": "c"}) == ["a", "b", "c"]


def test_values_are_trimmed() -> None:
    assert values({"ROOT": "  a\n", "ROOT_2": "\tb "}) == ["a", "b"]


def test_an_empty_root_is_skipped_but_numbered_keys_still_count() -> None:
    assert values({"ROOT": "  ", "ROOT_2": "b", "ROOT_3": "c"}) == ["b", "c"]
    assert values({"ROOT_2": "b"}) == ["b"]


def test_reading_stops_at_the_first_missing_numbered_key() -> None:
    assert values({"ROOT": "a", "ROOT_2": "b", "ROOT_4": "d"}) == ["a", "b"]


def test_reading_stops_at_the_first_empty_numbered_key() -> None:
    assert values({"ROOT": "a", "ROOT_2": " ", "ROOT_3": "c"}) == ["a"]


def test_root_1_is_not_part_of_the_convention() -> None:
    assert values({"ROOT_1": "one"}) == []
    assert values({"ROOT": "a", "ROOT_1": "one", "ROOT_2": "b"}) == ["a", "b"]


def test_up_to_root_32() -> None:
    env = {"ROOT": "k1", **{f"ROOT_{n}": f"k{n}" for n in range(2, 40)}}
    keys = values(env)
    assert MAX_KEYS == 32
    assert keys == [f"k{n}" for n in range(1, 33)]
    assert "k33" not in keys


def test_no_variables_no_keys() -> None:
    assert values({}) == []
    assert values({"ROOTX": "x", "OTHER_2": "y"}) == []


def test_providers_numbered_from_one() -> None:
    assert values({"ROOT": "a", "ROOT_1": "one", "ROOT_2": "two"}, from_one=True) == ["a", "one", "two"]


def test_variable_names_mirror_the_values_without_showing_them() -> None:
    env = {"ROOT": CANARY, "ROOT_2": CANARY, "ROOT_4": CANARY}
    names = key_variable_names(env, "ROOT")
    assert names == ["ROOT", "ROOT_2"]
    assert CANARY not in repr(names)


def test_a_secret_never_shows_itself() -> None:
    secret = Secret(CANARY)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]), repr({"k": secret})):
        assert CANARY not in text
    assert secret.reveal() == CANARY
    assert secret.matches(CANARY) and not secret.matches(CANARY + "x")
    assert secret == Secret(CANARY) and secret != Secret("other")


def test_a_key_ring_never_shows_its_keys() -> None:
    ring = KeyRing.of(read_numbered({"R": CANARY, "R_2": CANARY + "2"}, "R"))
    assert CANARY not in repr(ring) and CANARY not in repr(ring.describe())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ring_of(*keys: str) -> tuple[KeyRing, Clock]:
    clock = Clock()
    return KeyRing.of([Secret(k) for k in keys], clock), clock


def order(ring: KeyRing) -> list[str]:
    return [state.secret.reveal() for state in ring.candidates()]


def test_round_robin_starts_each_request_at_the_next_key() -> None:
    ring, _ = ring_of("a", "b", "c")
    assert [order(ring)[0] for _ in range(5)] == ["a", "b", "c", "a", "b"]


def test_candidates_cover_every_usable_key_once() -> None:
    ring, _ = ring_of("a", "b", "c")
    order(ring)
    assert order(ring) == ["b", "c", "a"]


def test_a_disabled_key_stays_out() -> None:
    ring, clock = ring_of("a", "b")
    ring.disable(ring.keys[0])
    clock.now += 10**6
    assert [order(ring) for _ in range(2)] == [["b"], ["b"]]
    assert ring.usable() == 1


@pytest.mark.parametrize("seconds", [0.5, 60.0])
def test_a_cooling_key_returns_after_its_cooldown(seconds: float) -> None:
    ring, clock = ring_of("a", "b")
    ring.cool(ring.keys[0], seconds)
    assert order(ring) == ["b"]
    assert ring.soonest_available() == pytest.approx(seconds)
    clock.now += seconds
    assert sorted(order(ring)) == ["a", "b"]
    assert ring.soonest_available() is None


def test_no_usable_key() -> None:
    ring, _ = ring_of("a")
    ring.disable(ring.keys[0])
    assert order(ring) == [] and ring.usable() == 0 and ring.soonest_available() is None


def test_an_empty_ring_is_unauthenticated() -> None:
    ring, _ = ring_of()
    assert not ring.authenticated and order(ring) == []


def test_describe_shows_state_by_position() -> None:
    ring, _ = ring_of("a", "b")
    ring.disable(ring.keys[0])
    ring.cool(ring.keys[1], 30)
    assert ring.describe() == [
        {"key": 1, "disabled": True, "cooling_s": 0.0},
        {"key": 2, "disabled": False, "cooling_s": 30.0},
    ]
