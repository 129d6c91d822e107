"""What the status page (GET /ui) shows: recent generation requests and per-minute rates, kept only when the page is
on (``ui.enabled``), and the live state of the runtime: backends with health, circuit, key counts (never keys),
models and load; requests in flight; usage per client key. Client-sent text (a selector) is data here; the page
renders it as text, never as markup."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lip.runtime import Runtime

if TYPE_CHECKING:
    from lip.exchange import Exchange

MINUTES = 15  # the rates' window
MAX_MODELS_SHOWN = 20


class StatusBoard:
    """The last ``keep`` generation requests and request / error counts per wall-clock minute, in this process."""

    def __init__(self, keep: int, clock: Callable[[], float] = time.time) -> None:
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self.minutes: dict[int, list[int]] = {}  # minute -> [requests, errors]
        self.clock = clock

    def record(self, exchange: Exchange, key: str | None, finished: float) -> None:
        """One generation request has ended (``finished``: its perf_counter time)."""
        now = self.clock()
        usage, failed = exchange.usage, exchange.error is not None or (exchange.status or 500) >= 400
        self.recent.appendleft(
            {
                "time": now,
                "key": key,
                "selector": exchange.model[:200],
                "backend": exchange.target.leaf if exchange.target else None,
                "status": exchange.status or 500,
                "error": exchange.error.code if exchange.error else None,
                "tokens_in": usage.input_tokens if usage else None,
                "tokens_out": usage.output_tokens if usage else None,
                "latency_ms": round((finished - exchange.started) * 1000, 1),
                "ttft_ms": round((exchange.first_byte - exchange.started) * 1000, 1) if exchange.first_byte else None,
                "streamed": exchange.streamed,
            }
        )
        minute = int(now // 60)
        counts = self.minutes.get(minute)
        if counts is None:
            counts = self.minutes[minute] = [0, 0]
            for old in [m for m in self.minutes if m <= minute - MINUTES]:
                del self.minutes[old]
        counts[0] += 1
        counts[1] += failed

    def rates(self) -> list[dict[str, int]]:
        """Requests and errors in each of the last ``MINUTES`` minutes, oldest first (the last one is running)."""
        minute = int(self.clock() // 60)
        out = []
        for m in range(minute - MINUTES + 1, minute + 1):
            requests, errors = self.minutes.get(m, (0, 0))
            out.append({"minute": m * 60, "requests": requests, "errors": errors})
        return out


def backend_states(runtime: Runtime) -> list[dict[str, Any]]:
    """Each backend: health, circuit, key counts (never a key or its fingerprint), models, load."""
    out = []
    for prefix, backend in runtime.backends.items():
        entry = runtime.inventory.by_prefix[prefix]
        diagnostics = backend.diagnostics()
        keys = diagnostics.get("keys") or []
        disabled = sum(1 for k in keys if k.get("disabled"))
        cooling = sum(1 for k in keys if not k.get("disabled") and k.get("cooling_s"))
        admission = diagnostics.get("admission") or {}
        circuit = runtime.health.state(backend.id)
        unavailable = backend.unavailable_for()
        out.append(
            {
                "id": backend.id,
                "prefix": prefix,
                "kind": backend.spec.kind.kind,
                "protocol": backend.protocol,
                "health": "down" if circuit == "open" or unavailable is not None else "up",
                "circuit": circuit,
                "keys": {
                    "total": len(keys),
                    "usable": len(keys) - disabled - cooling,
                    "cooling": cooling,
                    "disabled": disabled,
                },
                "models": {
                    "state": entry.state,
                    "count": len(entry.models),
                    "names": sorted(m.native_id for m in entry.models)[:MAX_MODELS_SHOWN],
                },
                "in_flight": admission.get("in_flight", 0),
                "waiting": admission.get("waiting", 0),
            }
        )
    return out
