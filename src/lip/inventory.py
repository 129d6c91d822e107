"""Each backend's models: static (inline or file) or discovered from the provider, with lookup for routing.

A discovered list is fetched at start and refreshed every ``model_inventory.refresh_interval`` (``Runtime``): a
refresh that fails keeps the last good list (state ``stale``, the error and the failure count shown by
diagnostics, ``lip inventory --url`` and ``lip_inventory_refreshes_total``); one that fails before any list was
had leaves the backend ``failed`` (it still serves ``prefix:model``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from lip.backends.base import Backend
from lip.capabilities import UNKNOWN, Capabilities
from lip.errors import LipError

log = logging.getLogger(__name__)
MAX_CACHED = 4096  # models whose capabilities a backend keeps resolved (clients may name any model)


@dataclass(frozen=True, slots=True)
class ModelEntry:
    native_id: str
    canonical_id: str | None = None
    display_name: str | None = None
    owned_by: str | None = None
    created: int | None = None
    capabilities: Capabilities = UNKNOWN  # what the item or the provider's model list says


@dataclass(slots=True)
class BackendModels:
    backend: Backend
    source: str  # inline | file | discovery | stub
    state: str = "pending"  # pending | ready | failed | stale (a refresh failed: the last good list is kept)
    models: list[ModelEntry] = field(default_factory=list)
    error: str | None = None
    refreshed_at: float | None = None  # when the list was last fetched (None: never)
    failures: int = 0  # fetches that failed, at start or on a refresh
    # model -> its capabilities, resolved once for the list ``models`` held then (a new list empties it)
    _capabilities: tuple[list[ModelEntry], dict[str, Capabilities]] | None = None

    def find(self, model: str) -> ModelEntry | None:
        for entry in self.models:
            if model in (entry.native_id, entry.canonical_id):
                return entry
        return None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _discovered(raw: dict[str, Any]) -> Capabilities:
    """Limits a provider's model list states: Anthropic's ``max_input_tokens``/``max_tokens``, OpenRouter's
    ``context_length`` and ``top_provider.max_completion_tokens``."""
    top = raw.get("top_provider")
    top = top if isinstance(top, dict) else {}
    context = _positive(raw.get("context_length")) or _positive(raw.get("context_window"))
    if context is None and _positive(raw.get("max_input_tokens")) is not None:
        context = _positive(raw.get("max_input_tokens"))
    output = _positive(raw.get("max_tokens")) or _positive(top.get("max_completion_tokens"))
    return Capabilities(max_output_tokens=output, context_window=context)


def _entry(raw: dict[str, Any]) -> ModelEntry:
    created = raw.get("created")
    return ModelEntry(
        native_id=str(raw["id"]),
        display_name=raw.get("display_name") if isinstance(raw.get("display_name"), str) else None,
        owned_by=raw.get("owned_by") if isinstance(raw.get("owned_by"), str) else None,
        created=created if isinstance(created, int) else None,
        capabilities=_discovered(raw),
    )


# told after each fetch of a backend's list: its prefix, its entry (after the fetch) and whether it succeeded
Listener = Callable[[str, BackendModels, bool], None]


class Inventory:
    def __init__(self, backends: Iterable[Backend]) -> None:
        self.by_prefix: dict[str, BackendModels] = {}
        self.listeners: list[Listener] = []
        self.generation = 0  # counts the model lists fetched: what was planned from older lists is planned again
        for backend in backends:
            spec = backend.spec
            entry = BackendModels(backend, spec.models_source)
            if spec.static_models is not None:
                entry.models = [
                    ModelEntry(m.native_id, m.canonical_id, m.display_name, m.owned_by, m.created)
                    for m in spec.static_models  # their capabilities: spec.capabilities_for
                ]
                entry.state = "ready"
            self.by_prefix[backend.prefix] = entry

    async def discover(self, prefix: str) -> None:
        """Fetch the backend's list; on failure keep the last good one (``stale``), else ``failed``."""
        entry = self.by_prefix[prefix]
        try:
            raw = await entry.backend.list_models()
        except LipError as exc:
            entry.failures += 1
            entry.state, entry.error = ("stale" if entry.refreshed_at is not None else "failed"), exc.message
            kept = f"; keeping the last list ({len(entry.models)} models)" if entry.state == "stale" else ""
            log.warning("model discovery for backend '%s' failed: %s%s", entry.backend.id, exc.message, kept)
            self._tell(prefix, entry, False)
            return
        entry.models = [_entry(m) for m in raw]
        self.generation += 1
        entry.state, entry.error, entry.refreshed_at = "ready", None, time.time()
        self._tell(prefix, entry, True)

    def _tell(self, prefix: str, entry: BackendModels, ok: bool) -> None:
        for listener in self.listeners:
            listener(prefix, entry, ok)

    async def discover_all(self) -> None:
        pending = [p for p, e in self.by_prefix.items() if e.state != "ready"]
        await asyncio.gather(*(self.discover(p) for p in pending))

    async def refresh(self) -> None:
        """Fetch again every list that is not the config's own (discovered ones)."""
        discovered = [p for p, e in self.by_prefix.items() if e.backend.spec.static_models is None]
        await asyncio.gather(*(self.discover(p) for p in discovered))

    def backends_with(self, model: str) -> list[BackendModels]:
        return [e for e in self.by_prefix.values() if e.find(model) is not None]

    def capabilities(self, prefix: str, model: str) -> Capabilities:
        """What ``model`` on the backend of ``prefix`` accepts: configured (item, tables), else discovered. Asked for
        every translated request: resolved once per model and model list (up to MAX_CACHED models a backend)."""
        entry = self.by_prefix.get(prefix)
        if entry is None:
            return UNKNOWN
        cached = entry._capabilities
        if cached is None or cached[0] is not entry.models:
            cached = entry._capabilities = (entry.models, {})
        known = cached[1].get(model)
        if known is not None:
            return known
        found = entry.find(model)
        caps = entry.backend.spec.capabilities_for(model, found.capabilities if found is not None else UNKNOWN)
        caps = UNKNOWN if caps == UNKNOWN else caps  # the one UNKNOWN, which ``fit`` tells at once
        if len(cached[1]) < MAX_CACHED:
            cached[1][model] = caps
        return caps

    def listing(self) -> list[tuple[str, ModelEntry]]:
        """Every model of every backend, each with its capabilities resolved."""
        return [
            (prefix, replace(m, capabilities=e.backend.spec.capabilities_for(m.native_id, m.capabilities)))
            for prefix, e in self.by_prefix.items()
            for m in e.models
        ]
