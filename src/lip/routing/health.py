"""Per-backend circuit breakers: consecutive failures open a circuit for a cooldown; a half-open probe closes it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lip.backends.base import Target
from lip.errors import LipError
from lip.routing.failover import should_fail_over


@dataclass(slots=True)
class Circuit:
    failures: int = 0
    open_until: float = 0.0
    last_error: str | None = None
    probing: bool = False


class Health:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.circuits: dict[str, Circuit] = {}

    def _circuit(self, target: Target) -> Circuit:
        return self.circuits.setdefault(target.backend.id, Circuit())

    def is_open(self, target: Target) -> bool:
        circuit = self.circuits.get(target.backend.id)
        return circuit is not None and circuit.open_until > self.clock()

    def order(self, targets: Sequence[Target]) -> list[Target]:
        """Open circuits go last, so they are tried only when every alternative has failed."""
        return sorted(targets, key=self.is_open)

    def check(self, target: Target) -> None:
        circuit = self.circuits.get(target.backend.id)
        if circuit is not None and circuit.failures and circuit.open_until <= self.clock():
            circuit.probing = True  # half-open: this request is the probe

    def failure(self, target: Target, error: LipError) -> None:
        if not should_fail_over(error):
            return  # the client's mistake says nothing about the backend's health
        settings = target.backend.spec.settings
        circuit = self._circuit(target)
        circuit.failures += 1
        circuit.last_error = error.code
        if circuit.probing or circuit.failures >= settings.circuit_failures:
            circuit.open_until = self.clock() + settings.circuit_cooldown_s
        circuit.probing = False

    def success(self, target: Target) -> None:
        circuit = self.circuits.get(target.backend.id)
        if circuit is not None:
            circuit.failures, circuit.open_until, circuit.probing, circuit.last_error = 0, 0.0, False, None

    def describe(self) -> dict[str, dict[str, object]]:
        now = self.clock()
        return {
            backend_id: {
                "state": "open" if c.open_until > now else ("half-open" if c.failures and c.probing else "closed"),
                "consecutive_failures": c.failures,
                "open_for_s": round(max(c.open_until - now, 0.0), 1),
                "last_error": c.last_error,
            }
            for backend_id, c in self.circuits.items()
        }
