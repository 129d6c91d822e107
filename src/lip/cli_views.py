"""What ``lip routes --json``, ``lip inventory --json`` and ``lip inspect`` print, in the Go project's documented
shapes (its ``RoutesSnapshot``, ``InventorySnapshot`` and inspect ``Report``), from settings alone: no network, and
never a secret (a base URL is masked, a key root is said to be set or not, never its value).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lip.backends.presets import KINDS
from lip.config.load import BackendSpec, Settings, mask_url
from lip.config.rows import answers_locally
from lip.protocols.registry import codecs

ORIGIN = "built_in_compatible"  # the Go project's origin of the custom kinds


def rows(settings: Settings) -> list[BackendSpec]:
    """Every backend row of the file that lip resolved, enabled and disabled, in the file's order."""
    order = {row.id: i for i, row in enumerate(settings.config.plugins.backends)}
    return sorted([*settings.backends, *settings.disabled], key=lambda spec: order.get(spec.id, len(order)))


def enabled(settings: Settings, spec: BackendSpec) -> bool:
    return spec in settings.backends


def inventory_state(spec: BackendSpec) -> str:
    """``static_inline`` / ``static_file`` (the row's own list), ``remote`` (discovered), ``local`` (the stub)."""
    return {"inline": "static_inline", "file": "static_file", "discovery": "remote"}.get(spec.models_source, "local")


def compatible_row(settings: Settings, spec: BackendSpec, model_count: int | None = None) -> dict[str, Any]:
    """One custom-kind row as the Go project's ``CompatibleBackendRow`` (with lip's ``model_count``)."""
    limit = spec.settings.max_concurrent_requests
    static = len(spec.static_models) if spec.static_models is not None else None
    return {
        "origin": ORIGIN,
        "instance_id": spec.id,
        "factory_kind": spec.kind.kind,
        "enabled": enabled(settings, spec),
        "prefix": spec.prefix,
        "endpoint_identity": mask_url(spec.base_url) if spec.base_url else None,
        "auth_configured": spec.key_root is not None,
        "tokenizer_id": spec.tokenizer,
        "concurrency_policy": f"limit:{limit}" if limit > 0 else "default",
        "inventory_state": inventory_state(spec),
        "model_count": model_count if model_count is not None else static,
        "config_error": None,  # a row with an error fails the whole check: lip never serves half a config
    }


def compatible_rows(settings: Settings, counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    return [compatible_row(settings, spec, (counts or {}).get(spec.id)) for spec in rows(settings) if spec.kind.custom]


def credential_posture(specs: Iterable[BackendSpec]) -> str:
    """The Go project's: ``no_enabled_backends``, ``all_local_stub`` or ``live_provider``."""
    kinds = [spec.kind for spec in specs]
    if not kinds:
        return "no_enabled_backends"
    return "all_local_stub" if all(answers_locally(kind) for kind in kinds) else "live_provider"


def routes(settings: Settings) -> dict[str, Any]:
    """The Go project's ``RoutesSnapshot``, plus each row's ``prefix`` and ``protocol``."""
    return {
        "effective_default_route": settings.config.routing.default_route,
        "backends": [
            {
                "id": spec.id,
                "kind": spec.kind.kind,
                "enabled": enabled(settings, spec),
                "prefix": spec.prefix,
                "protocol": spec.protocol,
            }
            for spec in rows(settings)
        ],
        "compatible_backends": compatible_rows(settings),
        "model_aliases": [
            {"pattern": alias.pattern.pattern, "replacement": alias.replacement} for alias in settings.aliases
        ],
        "max_attempts": settings.config.routing.max_attempts,
        "credential_posture": credential_posture(settings.backends),
    }


def frontends() -> list[dict[str, Any]]:
    """The client protocols lip serves (all of them, always: there is no frontends section to turn one off)."""
    return [{"id": codec.name, "factory_kind": codec.name, "enabled": True} for codec in codecs()]


def inventory(settings: Settings, listed: list[dict[str, Any]]) -> dict[str, Any]:
    """The Go project's ``InventorySnapshot`` (frontends, backends, compatible_backends, server_limits), each backend
    row with lip's discovery outcome: ``listed`` rows by id (``source``, ``state``, ``error``, ``models``)."""
    by_id = {row["id"]: row for row in listed}
    backends: list[dict[str, Any]] = []
    for spec in rows(settings):
        found = by_id.get(spec.id, {"source": spec.models_source, "state": "disabled", "error": None, "models": []})
        backends.append(
            {"id": spec.id, "factory_kind": spec.kind.kind, "enabled": enabled(settings, spec), "prefix": spec.prefix}
            | found
        )
    server = settings.config.server
    return {
        "frontends": frontends(),
        "backends": backends,
        "compatible_backends": compatible_rows(settings, {b["id"]: len(b["models"]) for b in backends}),
        "server_limits": {"max_request_body_bytes": server.max_body_bytes, "max_in_flight": server.max_in_flight},
    }


def inspect(settings: Settings) -> dict[str, Any]:
    """The Go project's inspect ``Report``: the kinds lip has built in (native presets and the compatible kinds),
    then each configured row, then the compatible rows."""
    entries: list[dict[str, Any]] = [
        {"source": ORIGIN if kind.custom else "builtin", "kind": kind.kind, "state": "builtin", "reason": "ok"}
        for kind in KINDS
    ]
    for spec in rows(settings):
        on = enabled(settings, spec)
        entries.append(
            {
                "source": ORIGIN if spec.kind.custom else "configured",
                "instance_id": spec.id,
                "kind": spec.kind.kind,
                "state": "configured" if on else "disabled",
                "reason": "ok",
                "activation_required": False,
            }
        )
    return {"entries": entries, "compatible_backends": compatible_rows(settings)}
