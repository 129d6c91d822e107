"""Circuit breakers per backend instance, and per (instance, model) where the provider says the model is the problem.

::

    closed ──N consecutive failures──> open ──cooldown over──> half-open ──probe succeeds──> closed
                                        ^                          │
                                        └────── probe fails ───────┘

A failure counts only when failing over would have been right (a client's 400 says nothing about a backend), and
not for lip's own limits (admission) or a missing translation. Open circuits are skipped while any alternative
leaf is usable; when every leaf is open they are all tried, since refusing would help nobody. After the cooldown
one request at a time goes through as the probe. A backend whose every API key is cooling down (429) or disabled
(401) counts as open until a key is back: key cooldowns and circuits are one picture.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lip.backends.base import Target
from lip.errors import AdmissionRejected, LipError, UnsupportedTranslation
from lip.routing.failover import is_model_not_found, reason, should_fail_over

log = logging.getLogger(__name__)
MAX_CIRCUITS = 4096  # client-chosen model names must not grow memory without bound


@dataclass(slots=True)
class Circuit:
    failures: int = 0  # consecutive
    open_until: float = 0.0  # 0: closed; in the future: open; in the past: half-open
    probe_since: float | None = None
    last_error: str | None = None
    times_opened: int = 0


class Health:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.circuits: dict[str, Circuit] = {}  # by backend id, or "backend id/model"

    @staticmethod
    def _names(target: Target) -> tuple[str, str]:
        return target.backend.id, f"{target.backend.id}/{target.model}"

    def blocked_for(self, target: Target) -> float | None:
        """Seconds until ``target`` may be tried again, or None when it may be tried now."""
        now = self.clock()
        waits: list[float] = []
        cooldown = target.backend.spec.settings.circuit_cooldown_s
        for name in self._names(target):
            circuit = self.circuits.get(name)
            if circuit is None or not circuit.open_until:
                continue
            if circuit.open_until > now:
                waits.append(circuit.open_until - now)
            elif circuit.probe_since is not None and now - circuit.probe_since < cooldown:
                waits.append(circuit.probe_since + cooldown - now)  # another request is the probe
        keys = target.backend.unavailable_for()
        if keys is not None:
            waits.append(keys)
        return max(waits) if waits else None

    def order(self, targets: Sequence[Target]) -> list[Target]:
        """The targets that may be tried now, in plan order; all of them when none may."""
        usable = [t for t in targets if self.blocked_for(t) is None]
        if not usable:
            return list(targets)
        if len(usable) < len(targets):
            skipped = ", ".join(t.leaf for t in targets if t not in usable)
            log.debug("skipping %s: circuit open or every key cooling down", skipped)
        return usable

    def check(self, target: Target) -> None:
        """Called just before an attempt: in a half-open circuit, this attempt becomes the probe."""
        now = self.clock()
        cooldown = target.backend.spec.settings.circuit_cooldown_s
        for name in self._names(target):
            circuit = self.circuits.get(name)
            if circuit is None or not 0 < circuit.open_until <= now:
                continue
            if circuit.probe_since is None or now - circuit.probe_since >= cooldown:  # none yet, or a stale one
                circuit.probe_since = now
                log.info("circuit %s is half-open: probing with one request", name)

    def failure(self, target: Target, error: LipError) -> None:
        if not should_fail_over(error) or isinstance(error, AdmissionRejected | UnsupportedTranslation):
            return  # the client's mistake or lip's own limit says nothing about the backend's health
        backend_name, model_name = self._names(target)
        name = model_name if is_model_not_found(error) else backend_name
        circuit = self.circuits.get(name)
        if circuit is None:
            circuit = self.circuits[name] = Circuit()
            self._evict()
        settings = target.backend.spec.settings
        circuit.failures += 1
        circuit.last_error = reason(error)
        if circuit.open_until or circuit.failures >= settings.circuit_failures:
            now = self.clock()
            already_open = circuit.open_until > now  # the only leaf left was tried anyway: extend, say nothing new
            circuit.open_until = now + settings.circuit_cooldown_s
            if already_open:
                circuit.probe_since = None
                return
            circuit.times_opened += 1
            log.warning(
                "circuit %s opened for %.0f s after %d consecutive failure(s), the last %s",
                name,
                settings.circuit_cooldown_s,
                circuit.failures,
                circuit.last_error,
            )
        circuit.probe_since = None

    def success(self, target: Target) -> None:
        for name in self._names(target):
            circuit = self.circuits.pop(name, None)
            if circuit is not None and circuit.open_until:
                log.info("circuit %s closed: a request succeeded", name)

    def _evict(self) -> None:
        if len(self.circuits) > MAX_CIRCUITS:
            del self.circuits[next(iter(self.circuits))]  # the oldest

    def state(self, name: str) -> str:
        circuit = self.circuits.get(name)
        if circuit is None or not circuit.open_until:
            return "closed"
        return "open" if circuit.open_until > self.clock() else "half-open"

    def describe(self) -> dict[str, dict[str, object]]:
        """Circuits that are not plainly closed: a backend id (or ``id/model``) -> its state."""
        now = self.clock()
        return {
            name: {
                "state": self.state(name),
                "consecutive_failures": c.failures,
                "open_for_s": round(max(c.open_until - now, 0.0), 1),
                "probing": c.probe_since is not None,
                "times_opened": c.times_opened,
                "last_error": c.last_error,
            }
            for name, c in self.circuits.items()
        }
