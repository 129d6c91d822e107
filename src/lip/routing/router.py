"""One request's way to an upstream: plan -> order by health -> per leaf, overrides and fit -> failover -> health.

The endpoint calls ``plan`` (the attempts, before any is tried: what keep-alive needs) and then ``open`` (the
attempt loop) once; ``count_tokens`` runs the same plan and failover for the backends' token counts. The client's
side is asked two things, through ``Client``: whether a same-protocol backend may get its body as is, and the
whole canonical request (decoded once, the first time a leaf needs a translation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from lip.backends.base import EventStream, Opened, Target
from lip.canonical.request import Request
from lip.capabilities import fit
from lip.errors import LipError
from lip.exchange import Exchange
from lip.inventory import Inventory
from lip.routing.affinity import Affinity, Sticky, prefer
from lip.routing.context import estimated, suited, too_large
from lip.routing.failover import go_on, is_context_overflow, reason
from lip.routing.health import Health
from lip.routing.overrides import apply_overrides
from lip.routing.plan import Plan, Planner

C = TypeVar("C", contravariant=True)


class Client(Protocol[C]):
    """What the router asks of the endpoint a request came in on; ``ctx`` is that endpoint's per-request context."""

    def passthrough_allowed(self, request: Request, ctx: C) -> bool:
        """Whether a same-protocol backend may get the body as is (False when lip must add to it)."""
        ...

    def decode_full(self, head: Request, ctx: C) -> Request:
        """The whole canonical request of a head (``decode_head``'s), for a leaf that needs a translation."""
        ...


@dataclass(slots=True)
class Routed:
    """The attempt that opened: its target, the upstream's answer, and the request that answer answers (the
    translated request; the client's own when relayed)."""

    target: Target
    opened: Opened
    request: Request


class Router:
    def __init__(
        self, planner: Planner, health: Health, inventory: Inventory, affinity: Affinity | None = None
    ) -> None:
        self.planner = planner
        self.health = health
        self.inventory = inventory
        self.affinity = affinity

    def plan(self, model: str, sticky: Sticky | None = None, *, first: bool = False) -> Plan:
        """The attempts for ``model`` in failover order, open circuits last-resort only (lip.routing.health); a
        sticky conversation's bound leaf first and its draws seeded (lip.routing.affinity); ``first``: the request
        opens its session (``[first]`` steering, lip.routing.plan)."""
        plan = self.planner.plan(model, sticky.rng() if sticky else None, first=first)
        plan.targets = self.health.order(prefer(plan.targets, sticky))
        return plan

    async def open(
        self,
        targets: Sequence[Target],
        request: Request,
        client: Client[C],
        ctx: C,
        exchange: Exchange,
        headers: Mapping[str, str],
    ) -> Routed:
        """The first target that opens, each abandoned attempt recorded in ``exchange.attempts`` and in its health;
        the last error when none opens, or the first error failover may not pass. ``headers``: the client's
        headers a same-protocol upstream should see."""
        health = self.health
        translated: Request | None = None
        relay: bool | None = None  # the client's passthrough_allowed, asked once, when a leaf speaks its protocol

        def whole() -> Request:
            nonlocal translated
            if translated is None:
                translated = client.decode_full(request, ctx)
            return translated

        targets = suited(targets, self.inventory, exchange.request_bytes, estimated(whole))  # lip.routing.context
        too_long = 0  # attempts the upstream refused for the prompt's length
        for position, target in enumerate(targets, start=1):
            backend = target.backend
            try:
                passthrough = backend.protocol == request.protocol
                if passthrough:
                    if relay is None:
                        relay = client.passthrough_allowed(request, ctx)
                    passthrough = relay
                if passthrough:
                    chosen = apply_overrides(request, target.params, True)
                else:
                    chosen = apply_overrides(whole(), target.params, False)
                    # fitted to what the model accepts; a relayed body is the client's own
                    capabilities = self.inventory.capabilities(backend.prefix, target.model)
                    chosen = fit(chosen, capabilities, target.model, backend.id)
                health.check(target)
                sent = headers if exchange.trace is None else {**headers, **exchange.trace.attempt(target)}
                opened = await backend.open(chosen, target, sent, passthrough=passthrough)
            except LipError as exc:
                if exchange.trace is not None:  # the attempt's span ends with its error
                    exchange.trace.failed(exc)
                exchange.attempts.append((target.leaf, reason(exc)))
                health.failure(target, exc)
                too_long += is_context_overflow(exc)
                if go_on(targets, position, exc):
                    continue
                if too_long == position:  # every leaf was too small for the prompt: the Go project's 413
                    raise too_large() from exc
                raise
            health.success(target)
            exchange.target = target
            if exchange.sticky is not None and self.affinity is not None:
                exchange.sticky_outcome = await self.affinity.settle(exchange.sticky, target)
            if translated is None and isinstance(opened, EventStream):
                translated = _whole(client, request, ctx)
            return Routed(target, opened, translated or request)
        raise AssertionError("a plan has at least one target")  # go_on is False at the last one

    async def count_tokens(
        self, targets: Sequence[Target], request: Request, headers: Mapping[str, str]
    ) -> tuple[Target, Any]:
        """The first target's token count that the backend answers, with the same failover as ``open``; the count
        is None where the backend cannot count (the caller estimates). Health is neither checked nor told: a
        provider without a count endpoint is not a provider that cannot answer."""
        for position, target in enumerate(targets, start=1):
            try:
                return target, await target.backend.count_tokens(request, target, headers)
            except LipError as exc:
                if not go_on(targets, position, exc):
                    raise
        raise AssertionError("a plan has at least one target")


def _whole(client: Client[C], head: Request, ctx: C) -> Request:
    """A relayed request answered with events (a stream asked, a whole body served as one): the encoder and the
    endpoint's ``completed`` want the whole request; the head when lip cannot decode it (the upstream took it as is)."""
    try:
        return client.decode_full(head, ctx)
    except LipError:
        return head
