"""Each backend's models: static (inline or file) or discovered from the provider, with lookup for routing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lip.backends.base import Backend
from lip.errors import LipError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelEntry:
    native_id: str
    canonical_id: str | None = None
    display_name: str | None = None
    owned_by: str | None = None
    created: int | None = None


@dataclass(slots=True)
class BackendModels:
    backend: Backend
    source: str  # inline | file | discovery | stub
    state: str = "pending"  # pending | ready | failed
    models: list[ModelEntry] = field(default_factory=list)
    error: str | None = None
    refreshed_at: float | None = None

    def find(self, model: str) -> ModelEntry | None:
        for entry in self.models:
            if model in (entry.native_id, entry.canonical_id):
                return entry
        return None


def _entry(raw: dict[str, Any]) -> ModelEntry:
    created = raw.get("created")
    if created is None and isinstance(raw.get("created_at"), str):
        created = None
    return ModelEntry(
        native_id=str(raw["id"]),
        display_name=raw.get("display_name") if isinstance(raw.get("display_name"), str) else None,
        owned_by=raw.get("owned_by") if isinstance(raw.get("owned_by"), str) else None,
        created=created if isinstance(created, int) else None,
    )


class Inventory:
    def __init__(self, backends: Iterable[Backend]) -> None:
        self.by_prefix: dict[str, BackendModels] = {}
        for backend in backends:
            spec = backend.spec
            entry = BackendModels(backend, spec.models_source)
            if spec.static_models is not None:
                entry.models = [
                    ModelEntry(m.native_id, m.canonical_id, m.display_name, m.owned_by, m.created)
                    for m in spec.static_models
                ]
                entry.state = "ready"
            self.by_prefix[backend.prefix] = entry

    async def discover(self, prefix: str) -> None:
        entry = self.by_prefix[prefix]
        try:
            raw = await entry.backend.list_models()
        except LipError as exc:
            entry.state, entry.error = "failed", exc.message
            log.warning("model discovery for backend '%s' failed: %s", entry.backend.id, exc.message)
            return
        entry.models = [_entry(m) for m in raw]
        entry.state, entry.error, entry.refreshed_at = "ready", None, time.time()

    async def discover_all(self) -> None:
        pending = [p for p, e in self.by_prefix.items() if e.state != "ready"]
        await asyncio.gather(*(self.discover(p) for p in pending))

    def backends_with(self, model: str) -> list[BackendModels]:
        return [e for e in self.by_prefix.values() if e.find(model) is not None]

    def listing(self) -> list[tuple[str, ModelEntry]]:
        return [(prefix, m) for prefix, e in self.by_prefix.items() for m in e.models]
