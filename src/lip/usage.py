"""Usage per client key name, backend and model (requests, errors, tokens, cost), for /metrics, /admin/usage and
the status page; the cost of one request from the operator's prices (``prices:`` in the config).

Counted per process: ``lip serve --workers N`` sums the Prometheus counters across workers (lip.shared_metrics);
``/admin/usage`` shows the worker that answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lip.canonical.events import Usage
from lip.config.models import ModelPrice

MILLION = 1_000_000


@dataclass(slots=True)
class Tally:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0


def price_of(prices: Mapping[str, ModelPrice], prefix: str, model: str) -> ModelPrice | None:
    """The price of ``prefix:model``, else of the native ``model`` name."""
    return prices.get(f"{prefix}:{model}") or prices.get(model)


def cost(price: ModelPrice, usage: Usage) -> float:
    """US dollars: input (cached input at its own price when given), output (reasoning tokens are output)."""
    cached = min(usage.cached_tokens, usage.input_tokens) if price.cached_input_per_mtok is not None else 0
    spent = (usage.input_tokens - cached) * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
    spent += cached * (price.cached_input_per_mtok or 0.0)
    return spent / MILLION


class KeyUsage:
    """This process's usage by (key name, backend, model), since it started."""

    def __init__(self) -> None:
        self.tallies: dict[tuple[str, str, str], Tally] = {}

    def record(self, key: str, backend: str, model: str, error: bool, usage: Usage | None, spent: float) -> None:
        tally = self.tallies.get((key, backend, model))
        if tally is None:
            tally = self.tallies[(key, backend, model)] = Tally()
        tally.requests += 1
        tally.errors += error
        if usage is not None:
            tally.input_tokens += usage.input_tokens
            tally.output_tokens += usage.output_tokens
            tally.cached_tokens += usage.cached_tokens
            tally.reasoning_tokens += usage.reasoning_tokens
        tally.cost_usd += spent

    def by_key(self) -> dict[str, dict[str, Any]]:
        """Per key: its totals and its rows by backend and model."""
        out: dict[str, dict[str, Any]] = {}
        for (key, backend, model), tally in sorted(self.tallies.items()):
            entry = out.setdefault(key, {"total": Tally(), "models": []})
            total: Tally = entry["total"]
            for name, value in asdict(tally).items():
                setattr(total, name, getattr(total, name) + value)
            entry["models"].append({"backend": backend, "model": model, **asdict(tally)})
        return {key: {**entry, "total": asdict(entry["total"])} for key, entry in out.items()}
