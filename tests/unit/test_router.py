"""The router's attempt loop: the first leaf that opens serves, every abandoned attempt is recorded and told to the
health, the client's own mistake stops the loop, per-leaf overrides reach their leaf only, the client's side is asked
once whether it may be relayed and decoded once for every leaf that translates; token counts fail over alike."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from lip.backends.base import EventStream, Opened, Target
from lip.backends.local_stub import LocalStubBackend
from lip.canonical.events import TextDelta
from lip.canonical.request import Message, Request, Text
from lip.config import load_text
from lip.config.load import BackendSpec
from lip.errors import InvalidRequest, LipError, UpstreamStatusError, UpstreamUnreachable
from lip.exchange import Exchange
from lip.inventory import Inventory
from lip.routing.health import Health
from lip.routing.plan import Planner
from lip.routing.router import Router


class Leaf(LocalStubBackend):
    """The local stub, answering as a backend of ``protocol``; it fails with the errors queued in ``failures``
    first, and records what each attempt was given."""

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec)
        self.speaks = "local"
        self.failures: list[LipError] = []
        self.got: list[tuple[Request, bool, Mapping[str, str]]] = []
        self.counts: Any = None

    @property
    def protocol(self) -> str:
        return self.speaks

    async def open(self, request: Request, target: Target, headers: Mapping[str, str], *, passthrough: bool) -> Opened:
        self.got.append((request, passthrough, headers))
        if self.failures:
            raise self.failures.pop(0)
        return await super().open(request, target, headers, passthrough=passthrough)

    async def count_tokens(self, request: Request, target: Target, headers: Mapping[str, str]) -> Any:
        self.got.append((request, True, headers))
        if self.failures:
            raise self.failures.pop(0)
        return self.counts


class Side:
    """The client's side of one request, as an endpoint answers the router."""

    def __init__(self, relay: bool = True) -> None:
        self.relay = relay
        self.asked = 0
        self.decoded = 0

    def passthrough_allowed(self, request: Request, ctx: str) -> bool:
        assert ctx == "ctx"
        self.asked += 1
        return self.relay

    def decode_full(self, head: Request, ctx: str) -> Request:
        assert ctx == "ctx"
        self.decoded += 1
        return Request(head.model, [Message("user", [Text("hi")])], protocol=head.protocol, raw=head.raw)


def router(rows: int = 3) -> tuple[Router, dict[str, Leaf]]:
    backends = []
    for prefix in "abc"[:rows]:
        config = {"backend_prefix": prefix, "models": {"source": "inline", "items": [{"native_id": "m"}]}}
        backends.append({"id": f"id-{prefix}", "kind": "local-stub", "config": config})
    settings = load_text(yaml.safe_dump({"plugins": {"backends": backends}}), "router-test.yaml", {})
    leaves = {spec.prefix: Leaf(spec) for spec in settings.backends}
    inventory = Inventory(leaves.values())
    return Router(Planner(settings, leaves, inventory, random.Random(1)), Health(), inventory), leaves


def head(protocol: str = "client_protocol") -> Request:
    return Request("a:m|b:m|c:m", [], protocol=protocol, raw={"model": "a:m|b:m|c:m"})


async def test_the_first_leaf_that_opens_serves_and_each_abandoned_one_is_recorded() -> None:
    r, leaves = router()
    leaves["a"].failures = [UpstreamUnreachable("a is down")]
    leaves["b"].failures = [UpstreamStatusError("b is busy", upstream_status=503)]
    exchange = Exchange("test")
    routed = await r.open(r.plan("a:m|b:m|c:m"), head(), Side(), "ctx", exchange, {"anthropic-beta": "x"})
    assert routed.target.leaf == "c:m" and exchange.target is routed.target
    assert exchange.attempts == [("a:m", "upstream_unreachable"), ("b:m", "http_503")]
    assert isinstance(routed.opened, EventStream) and routed.opened.first[-1] == TextDelta("Hello from lip's ")
    assert [len(leaf.got) for leaf in leaves.values()] == [1, 1, 1]
    assert all(got[2] == {"anthropic-beta": "x"} for leaf in leaves.values() for got in leaf.got)
    circuits = r.health.circuits
    assert circuits["id-a"].failures == 1 and circuits["id-b"].failures == 1 and "id-c" not in circuits


async def test_a_success_closes_the_leaf_s_circuit() -> None:
    r, leaves = router(1)
    target = r.plan("a:m")[0]
    for _ in range(leaves["a"].spec.settings.circuit_failures):
        r.health.failure(target, UpstreamUnreachable("down"))
    assert r.health.state("id-a") == "open"
    await r.open(r.plan("a:m"), head(), Side(), "ctx", Exchange("test"), {})  # every leaf open: all are tried
    assert r.health.state("id-a") == "closed"


async def test_the_client_s_own_mistake_is_not_failed_over() -> None:
    r, leaves = router()
    leaves["a"].failures = [UpstreamStatusError("bad request", upstream_status=400)]
    exchange = Exchange("test")
    with pytest.raises(UpstreamStatusError) as caught:
        await r.open(r.plan("a:m|b:m|c:m"), head(), Side(), "ctx", exchange, {})
    assert caught.value.upstream_status == 400
    assert exchange.attempts == [("a:m", "http_400")] and exchange.target is None
    assert leaves["b"].got == [] and r.health.circuits == {}  # a client's 400 says nothing about the backend


async def test_every_leaf_failing_raises_the_last_error() -> None:
    r, leaves = router()
    for prefix, leaf in leaves.items():
        leaf.failures = [UpstreamUnreachable(f"{prefix} is down")]
    with pytest.raises(UpstreamUnreachable, match="c is down"):
        await r.open(r.plan("a:m|b:m|c:m"), head(), Side(), "ctx", Exchange("test"), {})


async def test_the_client_is_asked_once_and_decoded_once() -> None:
    r, leaves = router()
    leaves["a"].speaks = leaves["b"].speaks = "client_protocol"
    leaves["a"].failures = [UpstreamUnreachable("a is down")]
    leaves["b"].failures = [UpstreamUnreachable("b is down")]
    side = Side(relay=True)
    routed = await r.open(r.plan("a:m|b:m|c:m"), head(), side, "ctx", Exchange("test"), {})
    assert [got[1] for leaf in leaves.values() for got in leaf.got] == [True, True, False]  # relayed, then translated
    assert side.asked == 1 and side.decoded == 1
    assert routed.request.messages == [Message("user", [Text("hi")])]  # what the answer answers: the translation


async def test_a_refused_relay_is_translated_even_to_the_client_s_protocol() -> None:
    r, leaves = router()
    for leaf in leaves.values():
        leaf.speaks = "client_protocol"
    leaves["a"].failures = [UpstreamUnreachable("a is down")]
    side = Side(relay=False)
    await r.open(r.plan("a:m|b:m|c:m"), head(), side, "ctx", Exchange("test"), {})
    assert [got[1] for leaf in leaves.values() for got in leaf.got] == [False, False]
    assert side.asked == 1 and side.decoded == 1


async def test_a_relayed_request_answered_with_events_is_decoded_for_the_encoder() -> None:
    r, leaves = router(1)
    leaves["a"].speaks = "client_protocol"
    side = Side()
    routed = await r.open(r.plan("a:m"), head(), side, "ctx", Exchange("test"), {})
    assert leaves["a"].got[0][1] is True and side.decoded == 1
    assert routed.request.messages == [Message("user", [Text("hi")])]


async def test_per_leaf_overrides_reach_their_leaf_only() -> None:
    r, leaves = router()
    leaves["a"].failures = [UpstreamUnreachable("a is down")]
    leaves["b"].failures = [UpstreamUnreachable("b is down")]
    plan = r.plan("a:m?temperature=0.5|b:m?max_tokens=7|c:m")
    await r.open(plan, head(), Side(), "ctx", Exchange("test"), {})
    params = [got[0].params for leaf in leaves.values() for got in leaf.got]
    assert (params[0].temperature, params[0].max_tokens) == (0.5, None)
    assert (params[1].temperature, params[1].max_tokens) == (None, 7)
    assert (params[2].temperature, params[2].max_tokens) == (None, None)


async def test_an_override_of_a_relayed_body_is_written_into_it() -> None:
    r, leaves = router(1)
    leaves["a"].speaks = "client_protocol"
    await r.open(r.plan("a:m?temperature=0.5"), head(), Side(), "ctx", Exchange("test"), {})
    relayed = leaves["a"].got[0][0]
    assert relayed.raw == {"model": "a:m|b:m|c:m", "temperature": 0.5}


async def test_a_count_fails_over_like_an_attempt_and_leaves_the_health_alone() -> None:
    r, leaves = router()
    leaves["a"].failures = [UpstreamStatusError("overloaded", upstream_status=529)]
    leaves["b"].counts = {"input_tokens": 12}
    target, counted = await r.count_tokens(r.plan("a:m|b:m|c:m"), head(), {"anthropic-version": "v"})
    assert (target.leaf, counted) == ("b:m", {"input_tokens": 12})
    assert leaves["b"].got[0][2] == {"anthropic-version": "v"} and leaves["c"].got == []
    assert r.health.circuits == {}


async def test_a_count_stops_at_the_client_s_own_mistake() -> None:
    r, leaves = router()
    leaves["a"].failures = [InvalidRequest("no such field")]
    with pytest.raises(InvalidRequest):
        await r.count_tokens(r.plan("a:m|b:m"), head(), {})
    assert leaves["b"].got == []


async def test_a_backend_that_cannot_count_answers_none() -> None:
    r, leaves = router(1)
    target, counted = await r.count_tokens(r.plan("a:m"), head(), {})
    assert (target.leaf, counted) == ("a:m", None)
    assert await LocalStubBackend(leaves["a"].spec).count_tokens(head(), target, {}) is None
