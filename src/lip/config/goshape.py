"""The Go project's config shape, read as lip's: its spellings turned into lip's fields, and its settings lip does
not implement taken out with a warning that names each one (``--strict`` makes them errors).

lip follows the Go LLM Interactive Proxy's configuration, so that project's files load: ``server.address``,
``server.max_request_body_bytes``, ``server.shutdown_timeout``, ``logging.level: warn``, a top-level
``model_aliases`` list, a backend row without ``kind`` (its ``id`` names the kind) and Go duration strings
(``90s``, ``1h30m``) are read as lip's own. A key that is neither lip's nor the Go project's stays an error (a
typo is never a warning), and so does any unknown key inside a backend's ``config``.
"""

from __future__ import annotations

from typing import Any

from lip.backends.presets import BY_KIND
from lip.config.durations import seconds
from lip.config.report import Report

# The Go project's settings lip does not implement, by section ("" is the top level). Each is named in a warning
# and dropped; a section named here whole is dropped whole.
NOT_USED: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "access",
            "accounting",
            "auth",
            "continuity",
            "control_plane",
            "database",
            "diagnostics",
            "hooks",
            "http_client",
            "http_headers",
            "identity",
            "interleaved",
            "metering",
            "model_catalog",
            "observability",
            "prompt_cache",
            "secure_session",
            "stream_recovery",
        }
    ),
    "server": frozenset(
        {
            "auth_mode",
            "idle_timeout",
            "max_concurrent_decodes",
            "max_inflight_decode_bytes",
            "max_pending_wire_events",
            "pre_request_keepalive",
            "read_header_timeout",
            "read_timeout",
            "write_timeout",
        }
    ),
    "routing": frozenset({"execution_composition_policy", "health", "override_admin", "transport"}),
    "logging": frozenset({"access_log_include_raw_path", "access_log_skip_paths", "add_source"}),
    "plugins": frozenset({"backend_discovery", "features", "frontends"}),
    "model_inventory": frozenset({"cache_path", "diagnostics_path"}),
}
# Go spelling -> lip field, within a section (values converted by ``_CONVERT``)
RENAMED: dict[str, dict[str, str]] = {
    "server": {"max_request_body_bytes": "max_body_bytes", "shutdown_timeout": "drain_timeout_s"},
}
DROPPED = object()  # in plugins.backends: a row ``read`` set aside (its index still counts)


def read(data: dict[str, Any], report: Report) -> dict[str, Any]:
    """``data`` (parsed YAML, top level a mapping) in lip's shape; what lip does not use is warned about."""
    data = _drop(report, data, "")
    for section in ("server", "routing", "logging", "plugins", "model_inventory"):
        if isinstance(data.get(section), dict):
            data[section] = _drop(report, data[section], section)
    if isinstance(data.get("server"), dict):
        data["server"] = _server(report, data["server"])
    logging = data.get("logging")
    if isinstance(logging, dict) and isinstance(logging.get("level"), str):
        level = logging["level"].strip().lower()
        data["logging"] = {**logging, "level": "warning" if level == "warn" else level}
    if "model_aliases" in data:
        data = _aliases(report, data)
    plugins = data.get("plugins")
    if isinstance(plugins, dict) and isinstance(plugins.get("backends"), list):
        data["plugins"] = {**plugins, "backends": _rows(report, plugins["backends"])}
    return data


def _drop(report: Report, section: dict[str, Any], name: str) -> dict[str, Any]:
    unused = NOT_USED.get(name, frozenset())
    for key in sorted(k for k in section if k in unused):
        report.warnings.append(
            f"{report.where(None, None, f'{name}.{key}' if name else key)}: a setting of the Go project that lip "
            "does not use; it is ignored (remove it, or see docs/configuration.md#differences-from-the-go-project)"
        )
    return {k: v for k, v in section.items() if k not in unused}


def _server(report: Report, server: dict[str, Any]) -> dict[str, Any]:
    server = dict(server)
    for go, lip in RENAMED["server"].items():
        if go not in server:
            continue
        value = server.pop(go)
        if lip in server:
            report.error(report.where(None, None, f"server.{go}"), f"says what server.{lip} says", "keep one of them")
        elif not (go == "max_request_body_bytes" and value == 0):  # 0: the default
            server[lip] = seconds(value)
    if "address" in server:
        address = server.pop("address")
        where = report.where(None, None, "server.address")
        if "host" in server or "port" in server:
            report.error(where, "is given with server.host or server.port", "write either address or host and port")
        elif not isinstance(address, str) or (parsed := _address(address)) is None:
            report.error(where, f"{address!r} is not host:port", "write it as 127.0.0.1:8080 or [::1]:8080")
        else:
            server["host"], server["port"] = parsed
    return server


def _address(address: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port``; a bare ``:port`` is every interface, as in Go)."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port)


def _aliases(report: Report, data: dict[str, Any]) -> dict[str, Any]:
    """The Go project's top-level ``model_aliases`` list is lip's ``routing.model_aliases``."""
    data = dict(data)
    aliases = data.pop("model_aliases")
    given = data.get("routing")
    routing: dict[str, Any] = given if isinstance(given, dict) else {}
    if "model_aliases" in routing:
        report.error(
            report.where(None, None, "model_aliases"),
            "is given both at the top level and under routing",
            "keep one list (routing.model_aliases or the top-level model_aliases)",
        )
        return data
    data["routing"] = {**routing, "model_aliases": aliases if aliases is not None else []}
    return data


def _rows(report: Report, rows: list[Any]) -> list[Any]:
    """A row without ``kind`` is of the kind its ``id`` names (the Go project's built-in rows); a disabled row of a
    kind lip does not implement is warned about and dropped (an enabled one stays an error)."""
    kept: list[Any] = []
    for index, row in enumerate(rows):
        if isinstance(row, dict) and "kind" not in row and isinstance(row.get("id"), str):
            row = {**row, "kind": row["id"]}
        kind = row.get("kind") if isinstance(row, dict) else None
        if isinstance(kind, str) and kind not in BY_KIND and row.get("enabled") is False:
            report.warnings.append(
                f"{report.where(row.get('id'), index, 'kind')}: {kind!r} is not a kind lip implements; the disabled "
                "row is ignored"
            )
            kept.append(DROPPED)  # keeps the other rows' positions for messages
            continue
        kept.append(row)
    return kept
