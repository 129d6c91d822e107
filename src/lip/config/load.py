"""Load and validate configuration: YAML -> typed models -> resolved settings, with every problem listed.

Each message names the config file, the backend ``id`` and the field, says what is wrong and how to fix it, and
never contains a secret. The same code serves ``lip check-config`` and ``lip serve``; nothing here touches the
network. The parts: ``goshape`` (the Go project's spellings), ``rows`` (one backend row), ``urls``, ``report``,
``specs`` (what a valid config resolves to).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lip.backends.presets import KINDS
from lip.clientkeys import ClientKey, read_keys
from lip.config import goshape
from lip.config.models import MIN_REFRESH_S, BackendRow, Config, Plugins
from lip.config.report import ConfigError, Report, pydantic_problems
from lip.config.rows import resolve_row
from lip.config.specs import DEFAULT_SOURCE, AliasSpec, BackendSpec, Settings
from lip.config.urls import join_url, mask_url, preset_url
from lip.config.variables import lip_variables
from lip.credentials import key_variable_names
from lip.errors import InvalidRequest
from lip.routing.overrides import parse_overrides
from lip.routing.selector import SelectorError, parse_selector, refusal
from lip.telemetry import trace_settings

__all__ = [
    "DEFAULT_SOURCE",
    "AliasSpec",
    "BackendSpec",
    "ConfigError",
    "Settings",
    "default_text",
    "join_url",
    "load_default",
    "load_file",
    "load_text",
    "mask_url",
    "validate",
]


def _check_selector(report: Report, name: str, text: str, prefixes: set[str], alias: bool) -> None:
    """A default route must name prefixes; an alias replacement may also use bare names and regex groups."""
    where = report.where(None, None, name)
    try:
        selector = parse_selector(text)
    except SelectorError as exc:
        if alias and "\\" in text:
            return
        report.error(where, str(exc), "write prefix:model, optionally joined with '|', '^' or '!' (docs/routing.md)")
        return
    refused = refusal(selector)
    if refused is not None:
        report.error(where, f"{text!r}: {refused}", "see docs/routing.md")
    for leaf in selector.leaves():
        if leaf.prefix is None and not alias:
            report.error(where, f"{text!r} names no backend prefix", "write it as prefix:model")
        elif leaf.prefix is not None and leaf.prefix not in prefixes and "\\" not in leaf.prefix:
            report.error(
                where,
                f"prefix {leaf.prefix!r} in {text!r} is not a configured backend",
                "use one of: " + (", ".join(sorted(prefixes)) or "(no backends are enabled)"),
            )
        try:
            parse_overrides(leaf.params)
        except InvalidRequest as exc:
            report.error(where, exc.message, "see the per-leaf parameters in docs/routing.md")


def _aliases(report: Report, config: Config, prefixes: set[str]) -> tuple[AliasSpec, ...]:
    raw = config.routing.model_aliases
    rules = (
        [(re.escape(k), v) for k, v in raw.items()]
        if isinstance(raw, dict)
        else [(r.pattern, r.replacement) for r in raw]
    )
    aliases: list[AliasSpec] = []
    for i, (pattern, replacement) in enumerate(rules):
        name = f"routing.model_aliases[{i}]"
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            report.error(
                report.where(None, None, f"{name}.pattern"),
                f"{pattern!r} is not a valid regex ({exc})",
                "fix the regular expression (it must match the whole model name)",
            )
            continue
        _check_selector(report, f"{name}.replacement", replacement, prefixes, alias=True)
        aliases.append(AliasSpec(compiled, replacement))
    return tuple(aliases)


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _check_store(report: Report, config: Config, env: Mapping[str, str]) -> None:
    """``store``: a Redis store needs its URL in the environment and redis-py installed; the URL is never shown."""
    store = config.store
    if not store.prefix.strip() or any(c.isspace() for c in store.prefix):
        report.error(report.where(None, None, "store.prefix"), "must be non-empty without spaces", "use e.g. 'lip:'")
    if store.kind != "redis":
        return
    where = report.where(None, None, "store.url_env")
    name = store.url_env.strip()
    url = env.get(name, "").strip() if name else ""
    if not name:
        report.error(where, "must name an environment variable", "set store.url_env: LIP_REDIS_URL")
    elif not url:
        report.error(
            where,
            f"store.kind is redis but the environment variable {name} is not set",
            f"set {name}=redis://[:password@]host:6379/0 in lip's environment, or use store.kind: memory",
        )
    elif url.partition(":")[0].lower() not in REDIS_SCHEMES:
        report.error(
            where,
            f"the URL in {name} is not a Redis URL",
            "write it as redis://, rediss:// or unix:// (value not shown)",
        )
    if importlib.util.find_spec("redis") is None:
        report.error(
            report.where(None, None, "store.kind"),
            "redis needs the redis-py package, which is not installed",
            "pip install 'lip[redis]', or use store.kind: memory",
        )


def validate(data: Any, source: str, env: Mapping[str, str], base_dir: Path) -> Settings:
    """Validate parsed YAML; raise ConfigError listing every problem."""
    report = Report(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping (server:, routing:, plugins:)"])
    config, rows = _parse(report, goshape.read(data, report))
    own = lip_variables(config)
    backends: list[BackendSpec] = []
    disabled: list[BackendSpec] = []
    seen_ids: set[str] = set()
    fetch_timeout = config.model_inventory.fetch_timeout if config is not None else None
    for index, row in rows:
        if row.id in seen_ids:
            report.error(report.where(row, index, "id"), f"duplicate id {row.id!r}", "give every backend a unique id")
        seen_ids.add(row.id)
        spec = resolve_row(report, row, index, env, base_dir, own, fetch_timeout)
        if spec is not None and not row.enabled:
            disabled.append(spec)
        if spec is None or not row.enabled:
            continue
        if any(b.prefix == spec.prefix for b in backends):
            report.error(
                report.where(row, index, "config.backend_prefix"),
                f"{spec.prefix!r} is already used by an enabled backend",
                "give each enabled backend its own prefix (disable one of them, or rename)",
            )
            continue
        backends.append(spec)
    if config is None:
        raise ConfigError(report.problems, report.warnings)
    prefixes = {b.prefix for b in backends}
    if config.routing.default_route is not None:
        _check_selector(report, "routing.default_route", config.routing.default_route, prefixes, alias=False)
    _check_inventory(report, config)
    aliases = _aliases(report, config, prefixes)
    _check_store(report, config, env)
    if not backends and not report.problems and not config.server.allow_no_backends:
        report.error(
            report.where(None, None, "plugins.backends"),
            "no backend is enabled, so lip would answer every request with 404 (is the file empty or cut short?)",
            "add an enabled row under plugins.backends, or set server.allow_no_backends: true to serve nothing",
        )
    _check_telemetry(report, config, env)
    keys_file, client_keys = _client_keys(report, config, base_dir)
    if report.problems:
        raise ConfigError(report.problems, report.warnings)
    return Settings(
        source,
        config,
        tuple(backends),
        aliases,
        tuple(report.warnings),
        client_keys=client_keys,
        keys_file=keys_file,
        disabled=tuple(disabled),
    )


def _check_inventory(report: Report, config: Config) -> None:
    """``model_inventory.refresh_interval`` below the Go project's 1h minimum is raised to it (said, not silent)."""
    inventory = config.model_inventory
    if inventory.refresh_interval < MIN_REFRESH_S:
        report.warnings.append(
            f"{report.where(None, None, 'model_inventory.refresh_interval')}: {inventory.refresh_interval:g} s is "
            f"below the minimum of 1h; lip refreshes discovered model lists every {MIN_REFRESH_S:g} s"
        )


def _check_telemetry(report: Report, config: Config, env: Mapping[str, str]) -> None:
    """Tracing on (``telemetry:`` or the OTEL_* environment) needs the OpenTelemetry SDK and exporter installed."""
    if trace_settings(config.telemetry, env) is None:
        return
    if any(importlib.util.find_spec(name) is None for name in ("opentelemetry.sdk", "opentelemetry.exporter")):
        report.error(
            report.where(None, None, "telemetry"),
            "tracing is on (telemetry: or OTEL_EXPORTER_OTLP_*) but the OpenTelemetry SDK is not installed",
            "pip install 'lip[otel]', or turn tracing off (unset OTEL_EXPORTER_OTLP_ENDPOINT)",
        )


def _client_keys(report: Report, config: Config, base_dir: Path) -> tuple[Path | None, tuple[ClientKey, ...]]:
    """``server.client_keys_file``, read and checked (a reload reads it again); relative to the config's folder."""
    name = config.server.client_keys_file
    if name is None:
        return None, ()
    path = base_dir / name
    try:
        return path, read_keys(path)
    except ValueError as exc:
        report.error(
            report.where(None, None, "server.client_keys_file"),
            f"{path}: {exc}",
            "fix the file, or make keys with `lip keys add NAME --file PATH`",
        )
        return path, ()


def _parse(report: Report, data: dict[str, Any]) -> tuple[Config | None, list[tuple[int, BackendRow]]]:
    """The top level and each backend row validated on their own, so one bad row hides no other problem."""
    plugins = data.get("plugins")
    raw_rows = plugins.get("backends") if isinstance(plugins, dict) else None
    if isinstance(plugins, dict) and isinstance(raw_rows, list):
        data = {**data, "plugins": {**plugins, "backends": []}}
    else:
        raw_rows = []
    rows: list[tuple[int, BackendRow]] = []
    for index, raw in enumerate(raw_rows):
        if raw is goshape.DROPPED:
            continue
        try:
            rows.append((index, BackendRow.model_validate(raw)))
        except ValidationError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            pydantic_problems(report, exc, raw_id if isinstance(raw_id, str) else None, index)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        pydantic_problems(report, exc, None, None)
        return None, rows
    return config.model_copy(update={"plugins": Plugins(backends=[row for _, row in rows])}), rows


def load_text(text: str, source: str, env: Mapping[str, str], base_dir: Path | None = None) -> Settings:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{source}: YAML syntax error{at}: {problem}. Fix: correct the YAML syntax"]) from None
    return validate(data, source, env, base_dir or Path.cwd())


def load_file(path: str | Path, env: Mapping[str, str]) -> Settings:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read the config file ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: the config file is not UTF-8 text"]) from None
    return load_text(text, str(file), env, file.resolve().parent)


def default_text() -> str:
    return resources.files("lip.config").joinpath("default.yaml").read_text(encoding="utf-8")


def load_default(env: Mapping[str, str]) -> Settings:
    """The embedded default: local-stub, plus each hosted preset whose standard key is set in ``env``."""
    data = yaml.safe_load(default_text())
    rows = data.setdefault("plugins", {}).setdefault("backends", [])
    present = {row.get("kind") for row in rows}
    enabled: list[str] = []
    skipped: list[str] = []
    for kind in KINDS:
        wanted = kind.hosted and kind.key_root and kind.kind not in present
        names = key_variable_names(env, kind.key_root or "", from_one=kind.key_from_one) if wanted else []
        if not names:
            continue
        if kind.base_url is None and preset_url(kind, env) is None:  # Azure: the key alone names no resource
            skipped.append(
                f"{DEFAULT_SOURCE}: {kind.key_root} is set but {kind.url_env} is not, so the {kind.kind!r} preset is "
                f"not enabled; set {kind.url_env}=https://<resource>.openai.azure.com"
            )
            continue
        rows.append({"id": kind.kind, "kind": kind.kind})
        enabled.append(f"{kind.kind} ({', '.join(names)})")
    settings = validate(data, DEFAULT_SOURCE, env, Path.cwd())
    return replace(settings, warnings=settings.warnings + tuple(skipped), from_env=tuple(enabled))
