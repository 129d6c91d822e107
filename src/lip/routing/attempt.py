"""One attempt of a plan: the request as its leaf gets it, opened within the time-to-first-output limits, and its
outcome told to the exchange and to the health.

The request a leaf gets is the client's own body (a same-protocol relay) or the canonical request, decoded once for
every leaf that translates, each with its leaf's parameter overrides and fitted to its model. The limits are the
leaf's ``[ttft_timeout]`` and what is left of the selector's ``{ttft_timeout}`` budget, which spans every attempt of
the request: a leaf's limit running out fails over, the budget running out ends the request (504).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from lip.backends.base import EventStream, Opened, Target
from lip.canonical.request import Request
from lip.capabilities import fit
from lip.errors import LipError, UpstreamTimeout
from lip.exchange import Exchange
from lip.routing.failover import reason
from lip.routing.overrides import apply_overrides
from lip.routing.race import until_output

if TYPE_CHECKING:
    from lip.inventory import Inventory
    from lip.routing.health import Health

C = TypeVar("C", contravariant=True)
TTFT = "ttft_timeout"  # the code of a time-to-first-output timeout (its reason in logs and metrics)


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


class Budget:
    """The selector's ``{ttft_timeout}``: one deadline for the first output, across every attempt."""

    __slots__ = ("deadline", "seconds", "spent")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds if seconds is not None else None
        self.spent = False

    def limit(self, target: Target) -> tuple[float | None, bool]:
        """The seconds ``target`` may take to its first output (None: no limit), and whether that is the budget's."""
        if self.deadline is None:
            return target.ttft_s, False
        left = self.deadline - time.monotonic()
        if target.ttft_s is not None and target.ttft_s < left:
            return target.ttft_s, False
        return max(0.0, left), True

    def exhausted(self) -> UpstreamTimeout:
        self.spent = True
        return UpstreamTimeout(
            f"no output within the selector's ttft_timeout of {self.seconds:g} s (its {{...}} block), across "
            "every attempt",
            code=TTFT,
        )


class Attempts(Generic[C]):
    """One request's attempts (lip.routing.router runs them in plan order, or as a race)."""

    def __init__(
        self,
        inventory: Inventory,
        health: Health,
        request: Request,
        client: Client[C],
        ctx: C,
        exchange: Exchange,
        headers: Mapping[str, str],
        budget: Budget,
    ) -> None:
        self.inventory, self.health = inventory, health
        self.request, self.client, self.ctx = request, client, ctx
        self.exchange, self.headers, self.budget = exchange, headers, budget
        self.translated: Request | None = None
        self.relay: bool | None = None  # the client's passthrough_allowed, asked once, when a leaf speaks its protocol

    def whole(self) -> Request:
        """The client's whole canonical request, decoded once (for a leaf that translates, or an estimate)."""
        if self.translated is None:
            self.translated = self.client.decode_full(self.request, self.ctx)
        return self.translated

    def prepared(self, target: Target) -> tuple[Request, bool]:
        """The request ``target`` gets, and whether it is the client's own body (relayed)."""
        backend, request = target.backend, self.request
        passthrough = backend.protocol == request.protocol
        if passthrough:
            if self.relay is None:
                self.relay = self.client.passthrough_allowed(request, self.ctx)
            passthrough = self.relay
        if passthrough:
            return apply_overrides(request, target.params, True), True
        chosen = apply_overrides(self.whole(), target.params, False)
        # fitted to what the model accepts; a relayed body is the client's own
        capabilities = self.inventory.capabilities(backend.prefix, target.model)
        return fit(chosen, capabilities, target.model, backend.id), False

    async def open(self, target: Target, *, output: bool = False) -> tuple[Routed, bool]:
        """``target`` opened, and whether it has output. With ``output`` (a race leg) or a time-to-first-output
        limit, the answer is read up to its first output before it counts as open. A failure is recorded in
        ``exchange.attempts`` and in the health, then raised."""
        exchange = self.exchange
        budgeted = False
        try:
            chosen, passthrough = self.prepared(target)
            limit, budgeted = self.budget.limit(target)
            if budgeted and limit == 0:
                raise self.budget.exhausted()
            self.health.check(target)
            sent = self.headers if exchange.trace is None else {**self.headers, **exchange.trace.attempt(target)}
            has_output = True
            if limit is None and not output:  # the commonest: nothing to time here (the backend has its timeouts)
                opened = await target.backend.open(chosen, target, sent, passthrough=passthrough)
            else:
                async with asyncio.timeout(limit):
                    opened = await target.backend.open(chosen, target, sent, passthrough=passthrough)
                    opened, has_output = await until_output(opened, chosen)
        except LipError as exc:  # an UpstreamTimeout too: the backend's own timeouts
            self._failed(target, exc)
            raise
        except TimeoutError:  # the clock above: a LipError is never this one
            error = self.budget.exhausted() if budgeted else _leaf_timeout(target)
            self._failed(target, error)
            raise error from None
        except asyncio.CancelledError:  # a race's losing leg, or the client left
            if exchange.trace is not None:
                exchange.trace.cancelled(target)
            raise
        self.health.success(target)
        return Routed(target, opened, self._answered(opened)), has_output

    async def race_leg(self, target: Target) -> tuple[Routed, bool]:
        """``target`` as a leg of a race: opened and read up to its first output."""
        return await self.open(target, output=True)

    def _answered(self, opened: Opened) -> Request:
        """The request the answer answers: the translated one; the whole client request for a relay answered with
        events (a stream asked, a whole body served as one: the encoder and the endpoint's ``completed`` want it);
        else the client's own."""
        if self.translated is None and isinstance(opened, EventStream):
            try:
                self.translated = self.client.decode_full(self.request, self.ctx)
            except LipError:
                return self.request  # lip cannot decode it: the upstream took it as is
        return self.translated or self.request

    def _failed(self, target: Target, error: LipError) -> None:
        if self.exchange.trace is not None:  # the attempt's span ends with its error
            self.exchange.trace.failed(target, error)
        self.exchange.attempts.append((target.leaf, reason(error)))
        self.health.failure(target, error)


def _leaf_timeout(target: Target) -> UpstreamTimeout:
    return UpstreamTimeout(
        f"backend '{target.backend.id}': no output within {target.ttft_s:g} s ([ttft_timeout] of {target.leaf})",
        code=TTFT,
    )
