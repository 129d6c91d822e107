"""Everything one configuration needs while it serves: backends, inventory, planner, health, observers.

A reload builds a new Runtime and swaps it in; requests in flight keep the one they started with.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from lip.backends.base import Backend
from lip.backends.registry import build_backend
from lip.clientkeys import KeyIndex
from lip.config.load import Settings, mask_url
from lip.credentials import KeyRing, Secret, read_numbered
from lip.exchange import Exchange
from lip.inventory import Inventory
from lip.quotas import Quotas
from lip.response_store import ResponseStore
from lip.routing.affinity import Affinity
from lip.routing.health import Health
from lip.routing.plan import Planner
from lip.routing.router import Router
from lip.routing.shared import SharedRouting
from lip.store import Store

if TYPE_CHECKING:
    from lip.otel import Tracing

log = logging.getLogger(__name__)
Observer = Callable[[web.Request, Exchange], None]


class Runtime:
    """``store``: the app's, which outlives reloads; ``reloaded``: this runtime replaces another (routing.shared)."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        env: Mapping[str, str],
        store: Store,
        *,
        reloaded: bool = False,
    ) -> None:
        self.settings = settings
        self.env = env
        self.backends: dict[str, Backend] = {
            spec.prefix: build_backend(spec, session, env) for spec in settings.backends
        }
        self.inventory = Inventory(self.backends.values())
        self.planner = Planner(settings, self.backends, self.inventory)
        self.health = Health()
        self.store = store
        sticky = settings.config.routing.affinity
        cache_keys = any(spec.prompt_cache_key for spec in settings.backends)
        self.affinity = Affinity(store, sticky.ttl_s, sticky.missing_identity, cache_keys)
        self.router = Router(self.planner, self.health, self.inventory, self.affinity)
        config = settings.config.store
        self.responses = ResponseStore(store, config.response_ttl_s)
        self.shared: SharedRouting | None = None  # per-process state needs no sharing
        if store.shared:
            self.shared = SharedRouting(
                store, self.health, self.backends.values(), config.sync_interval_s, reloaded=reloaded
            )
        self.observers: list[Observer] = []
        self.client_keys: list[Secret] = read_numbered(env, settings.config.server.client_api_key_env_var_root)
        self.key_index = KeyIndex(settings.client_keys)  # the keys file's named keys, by hash
        self.keyed = bool(self.client_keys or self.key_index)  # requests carry a client key (``middlewares.KEY``)
        self.quotas = Quotas(store)
        self.tracing: Tracing | None = None  # the app's, when tracing is on (lip.telemetry); kept across reloads
        self._discovery: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None

    def start_discovery(self) -> None:
        """Discover models in the background: serving does not wait for slow providers; refresh the discovered
        lists every ``model_inventory.refresh_interval``; share routing state."""
        loop = asyncio.get_running_loop()
        self._discovery = loop.create_task(self.inventory.discover_all())
        inventory = self.settings.config.model_inventory
        if inventory.refresh_enabled and any(b.spec.static_models is None for b in self.backends.values()):
            self._refresh = loop.create_task(self._refresh_every(inventory.refresh_s))
        if self.shared is not None:
            self.shared.start()

    async def _refresh_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.inventory.refresh()

    async def wait_discovery(self) -> None:
        if self._discovery is not None:
            await asyncio.shield(self._discovery)

    def secrets(self) -> list[Secret]:
        """Every key this configuration holds: the client keys and each backend's keys."""
        found = list(self.client_keys) + self.store.secrets()
        for backend in self.backends.values():
            ring = getattr(backend, "keys", None)
            if isinstance(ring, KeyRing):
                found.extend(ring.secrets())
        return found

    def observe(self, http: web.Request, exchange: Exchange) -> None:
        for observer in self.observers:
            try:
                observer(http, exchange)
            except Exception:  # an observer's bug must not fail the request it observes
                log.exception("an observer failed")

    async def aclose(self) -> None:
        for task in (self._discovery, self._refresh):
            if task is not None and not task.done():
                task.cancel()
        if self.shared is not None:
            await self.shared.aclose()
        await self.quotas.aclose()
        for backend in self.backends.values():
            await backend.aclose()


class RuntimeHolder:
    """The app's current runtime; swapped atomically on reload."""

    def __init__(self, runtime: Runtime) -> None:
        self.current = runtime


RUNTIME: web.AppKey[RuntimeHolder] = web.AppKey("lip.runtime", RuntimeHolder)
SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("lip.session", aiohttp.ClientSession)  # upstream calls
STORE: web.AppKey[Store] = web.AppKey("lip.store", Store)


PINNED: web.RequestKey[Runtime] = web.RequestKey("lip.pinned_runtime", Runtime)


def runtime_of(http: web.Request) -> Runtime:
    """The runtime this request started on (pinned when it arrived, so a reload never changes it mid-request)."""
    try:
        return http[PINNED]  # not ``http.get``: Mapping's get would ask for it the same way, one call deeper
    except KeyError:  # a request refused before ``lifecycle.admit`` pinned one
        return http.app[RUNTIME].current


def describe(runtime: Runtime) -> dict[str, Any]:
    """The state shown by diagnostics: backends, models, keys, admission and circuits, never a secret.

    Key values, static header values and URL query values are left out: an operator may have put a token in any.
    """
    backends = []
    for prefix, backend in runtime.backends.items():
        entry = runtime.inventory.by_prefix[prefix]
        settings = backend.spec.settings
        base_url = backend.spec.base_url
        backends.append(
            {
                "id": backend.id,
                "prefix": prefix,
                "kind": backend.spec.kind.kind,
                "protocol": backend.protocol,
                "base_url": mask_url(base_url) if base_url else None,
                "circuit": runtime.health.state(backend.id),
                "keys_unavailable_for_s": _seconds(backend.unavailable_for()),
                "timeouts": settings.timeouts.model_dump(),
                "keepalive_s": settings.keepalive_s,
                "circuit_failures": settings.circuit_failures,
                "circuit_cooldown_s": settings.circuit_cooldown_s,
                "static_headers": sorted(settings.headers),
                "inventory": {
                    "source": entry.source,
                    "state": entry.state,
                    "models": len(entry.models),
                    "error": entry.error,
                    "refreshed_at": entry.refreshed_at,
                    "failures": entry.failures,
                },
                **backend.diagnostics(),
            }
        )
    routing = {
        "default_route": runtime.settings.config.routing.default_route,
        "aliases": [{"pattern": a.pattern.pattern, "selector": a.replacement} for a in runtime.settings.aliases],
    }
    return {
        "backends": backends,
        "circuits": runtime.health.describe(),
        "routing": routing,
        "store": runtime.store.describe(),
    }


def _seconds(value: float | None) -> float | str | None:
    if value is None:
        return None
    return "until reload" if value == float("inf") else round(value, 1)
