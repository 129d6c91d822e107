"""One request's way to an upstream: plan -> order by health -> per leaf, overrides and fit -> failover -> health.

The endpoint calls ``plan`` (the attempts, before any is tried: what keep-alive needs) and then ``open`` (the
attempt loop) once; ``count_tokens`` runs the same plan and failover for the backends' token counts. The client's
side is asked two things, through ``Client``: whether a same-protocol backend may get its body as is, and the
whole canonical request (decoded once, the first time a leaf needs a translation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from lip.backends.base import Target
from lip.canonical.request import Request
from lip.errors import LipError
from lip.exchange import Exchange
from lip.inventory import Inventory
from lip.routing.affinity import Affinity, Sticky, prefer
from lip.routing.attempt import Attempts, Budget, Client, Routed
from lip.routing.context import estimated, suited, too_large
from lip.routing.failover import go_on, is_context_overflow
from lip.routing.health import Health
from lip.routing.plan import Plan, Planner, legs
from lip.routing.race import close, run_race

C = TypeVar("C", contravariant=True)
__all__ = ["Client", "Routed", "Router"]


class Router:
    def __init__(
        self, planner: Planner, health: Health, inventory: Inventory, affinity: Affinity | None = None
    ) -> None:
        self.planner = planner
        self.health = health
        self.inventory = inventory
        self.affinity = affinity

    def plan(self, model: str, sticky: Sticky | None = None, *, first: bool = False) -> Plan:
        """The attempts for ``model`` in failover order, open circuits last-resort only (lip.routing.health), at most
        ``routing.max_attempts`` of them; a sticky conversation's bound leaf first and its draws seeded
        (lip.routing.affinity); ``first``: the request opens its session (``[first]`` steering, lip.routing.plan)."""
        plan = self.planner.plan(model, sticky.rng() if sticky else None, first=first)
        ordered = self.health.order(prefer(plan.targets, sticky))
        plan.targets = _at_most(ordered, self.planner.settings.config.routing.max_attempts)
        return plan

    async def open(
        self,
        targets: Sequence[Target],
        request: Request,
        client: Client[C],
        ctx: C,
        exchange: Exchange,
        headers: Mapping[str, str],
        ttft_s: float | None = None,
    ) -> Routed:
        """The first target that opens (of a race's legs, the first with output), each abandoned attempt recorded
        in ``exchange.attempts`` and in its health; the last error when none opens, or the first error failover may
        not pass. ``headers``: the client's headers a same-protocol upstream should see; ``ttft_s``: the selector's
        budget for the first output across every attempt (lip.routing.attempt)."""
        attempts = Attempts(self.inventory, self.health, request, client, ctx, exchange, headers, Budget(ttft_s))
        targets = suited(
            targets, self.inventory, exchange.request_bytes, estimated(attempts.whole)
        )  # lip.routing.context
        too_long = 0  # attempts the upstreams refused for the prompt's length
        position = 0
        while position < len(targets):
            count = legs(targets, position)
            try:
                if count == 1:
                    routed, _ = await attempts.open(targets[position])
                else:
                    routed = await run_race(targets[position : position + count], attempts.race_leg, _close)
            except LipError as exc:
                position += count
                too_long += count if is_context_overflow(exc) else 0
                if not attempts.budget.spent and go_on(targets, position, exc):
                    continue
                if too_long == position:  # every leaf was too small for the prompt: the Go project's 413
                    raise too_large() from exc
                raise
            exchange.target = routed.target
            if exchange.sticky is not None and self.affinity is not None:
                exchange.sticky_outcome = await self.affinity.settle(exchange.sticky, routed.target)
            return routed
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


async def _close(routed: Routed) -> None:
    await close(routed.opened)


def _at_most(targets: list[Target], attempts: int | None) -> list[Target]:
    """The first ``attempts`` attempts of ``targets`` (all when None); a race's legs are one attempt."""
    if attempts is None:
        return targets
    kept: list[Target] = []
    for position, target in enumerate(targets):
        joins = position > 0 and target.race != 0 and target.race == targets[position - 1].race
        if not joins:
            attempts -= 1
            if attempts < 0:
                break
        kept.append(target)
    return kept
