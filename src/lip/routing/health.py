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

With a shared store (lip.routing.shared) a backend circuit that opens or closes here is told to ``listener``, and the
other processes' backend circuits arrive through ``adopt`` and ``release``. Circuits of one model (``id/model``,
opened when a provider says the model does not exist) stay per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lip.backends.base import Target
from lip.errors import AdmissionRejected, LipError, UnsupportedTranslation
from lip.routing.failover import is_context_overflow, is_model_not_found, reason, should_fail_over

log = logging.getLogger(__name__)
MAX_CIRCUITS = 4096  # client-chosen model names must not grow memory without bound
ADOPT_SLACK_S = 1.0  # a shared open-until this close to the local one is the same opening (clocks differ slightly)


@dataclass(slots=True)
class Circuit:
    failures: int = 0  # consecutive
    open_until: float = 0.0  # 0: closed; in the future: open; in the past: half-open
    probe_since: float | None = None
    last_error: str | None = None
    times_opened: int = 0
    shared_since: float | None = None  # when the shared store got (or gave) this opening; None: not shared


class CircuitListener(Protocol):
    def opened(self, name: str, circuit: Circuit, seconds: float) -> None: ...

    def closed(self, name: str) -> None: ...


class Health:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.circuits: dict[str, Circuit] = {}  # by backend id, or "backend id/model"
        self.listener: CircuitListener | None = None  # told about backend circuits (not per-model ones)

    @staticmethod
    def _names(target: Target) -> tuple[str, str]:
        return target.backend.id, f"{target.backend.id}/{target.model}"

    def blocked_for(self, target: Target) -> float | None:
        """Seconds until ``target`` may be tried again, or None when it may be tried now."""
        waits: list[float] = []
        if self.circuits:  # none: the commonest, every backend healthy
            now = self.clock()
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
        if not self.circuits:
            return
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
        if is_context_overflow(error):
            return  # neither does a prompt too long for the model
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
            circuit.probe_since = None
            if self.listener is not None and name == backend_name:
                self.listener.opened(name, circuit, settings.circuit_cooldown_s)
            if already_open:
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
        if not self.circuits:
            return
        for name in self._names(target):
            circuit = self.circuits.pop(name, None)
            if circuit is not None and circuit.open_until:
                log.info("circuit %s closed: a request succeeded", name)
                if self.listener is not None and name == target.backend.id:
                    self.listener.closed(name)

    def adopt(self, name: str, open_for: float, last_error: str | None) -> None:
        """Another lip process opened the circuit ``name`` for ``open_for`` more seconds."""
        now = self.clock()
        circuit = self.circuits.get(name)
        if circuit is None:
            circuit = self.circuits[name] = Circuit()
            self._evict()
        if now + open_for <= circuit.open_until + ADOPT_SLACK_S:
            circuit.shared_since = circuit.shared_since or now
            return
        if circuit.open_until <= now:
            circuit.times_opened += 1
            log.warning(
                "circuit %s opened for %.0f s by another lip process, the last error %s", name, open_for, last_error
            )
        circuit.open_until, circuit.probe_since = now + open_for, None
        circuit.last_error, circuit.shared_since = last_error, now

    def release(self, name: str, read_at: float) -> None:
        """The shared store, read at ``read_at``, no longer holds the circuit ``name``: another process closed it."""
        circuit = self.circuits.get(name)
        if circuit is None or not circuit.open_until or circuit.shared_since is None or circuit.shared_since > read_at:
            return
        del self.circuits[name]
        log.info("circuit %s closed: a request through another lip process succeeded", name)

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
