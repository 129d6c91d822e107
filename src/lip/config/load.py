"""Load and validate configuration: YAML -> typed models -> resolved settings, with every problem listed.

Each message names the config file, the backend ``id`` and the field, says what is wrong and how to fix it, and
never contains a secret. The same code serves ``lip check-config`` and ``lip serve``; nothing here touches the
network.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import yaml
from pydantic import ValidationError

from lip.backends.presets import BY_KIND, KINDS, RESERVED_PREFIXES, KindSpec
from lip.capabilities import UNKNOWN, Capabilities, CapabilityRule, resolve
from lip.clientkeys import ClientKey, read_keys
from lip.config.models import BackendRow, BackendSettings, Config, ModelCapabilities, ModelItem, Plugins
from lip.config.variables import lip_variables, looks_like_system, own_variable
from lip.credentials import key_variable_names
from lip.errors import InvalidRequest
from lip.routing.overrides import parse_overrides
from lip.routing.selector import SelectorError, parse_selector, refusal
from lip.telemetry import trace_settings

SECRET_FIELDS = ("api_key", "api_keys", "credentials", "key", "token", "password", "secret")
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})
DEFAULT_SOURCE = "<embedded default>"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every message."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.warnings = warnings or []


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """One enabled backend instance, resolved: what the registry needs to build it."""

    id: str
    kind: KindSpec
    prefix: str
    base_url: str | None
    key_root: str | None
    settings: BackendSettings
    static_models: tuple[ModelItem, ...] | None  # None: discover from the provider
    models_source: str  # inline | file | discovery | stub
    capability_rules: tuple[CapabilityRule, ...] = ()  # the row's table, then the kind's

    def capabilities_for(self, model: str, known: Capabilities = UNKNOWN) -> Capabilities:
        """What ``model`` accepts: its static item, the capability tables, then ``known`` (from discovery)."""
        item = next((m for m in self.static_models or () if model in (m.native_id, m.canonical_id)), None)
        own = capabilities_of(item) if item is not None else UNKNOWN
        return resolve(item.native_id if item is not None else model, own, self.capability_rules).or_else(known)

    @property
    def protocol(self) -> str:
        return self.kind.protocol

    @property
    def tokenizer(self) -> str | None:
        """The row's ``tokenizer`` (a ``lip.tokenizer.SUPPORTED`` name), or None for lip.tokenizer's default."""
        return self.settings.tokenizer

    @property
    def max_tokens_field(self) -> str:
        """Chat: where a translated request's max tokens go; the row's choice, else the kind's."""
        return self.settings.max_tokens_field or self.kind.max_tokens_field

    @property
    def reasoning_field(self) -> str:
        """Chat: the assistant-message field a translated request's reasoning goes back in ("none": dropped)."""
        return self.settings.reasoning_field or self.kind.reasoning_field

    @property
    def prompt_cache_key(self) -> bool:
        """OpenAI protocols: whether a conversation's name goes up as ``prompt_cache_key`` (lip.routing.affinity)."""
        if self.kind.protocol not in ("openai_chat", "openai_responses"):
            return False
        return self.kind.prompt_cache_key if self.settings.prompt_cache_key is None else self.settings.prompt_cache_key

    @property
    def think_tags(self) -> bool:
        """Whether ``<think>...</think>`` at the start of the answer's text is taken as reasoning."""
        return self.kind.think_tags if self.settings.think_tags is None else self.settings.think_tags


def capabilities_of(item: ModelCapabilities) -> Capabilities:
    return Capabilities(item.reasoning, item.max_output_tokens, item.context_window, item.vision)


@dataclass(frozen=True, slots=True)
class AliasSpec:
    pattern: re.Pattern[str]
    replacement: str


@dataclass(frozen=True, slots=True)
class Settings:
    source: str
    config: Config
    backends: tuple[BackendSpec, ...]
    aliases: tuple[AliasSpec, ...]
    warnings: tuple[str, ...] = ()
    from_env: tuple[str, ...] = ()  # the embedded default: each preset its key enabled, as "kind (VARIABLE, ...)"
    client_keys: tuple[ClientKey, ...] = ()  # from server.client_keys_file (lip.clientkeys)
    keys_file: Path | None = None

    def backend_for_prefix(self, prefix: str) -> BackendSpec | None:
        return next((b for b in self.backends if b.prefix == prefix), None)


@dataclass(slots=True)
class _Report:
    source: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def where(self, row: BackendRow | str | None, index: int | None, name: str) -> str:
        """``row`` is the row (or the raw id of a row that did not validate); ``index`` its position."""
        if index is not None:
            ident = row.id if isinstance(row, BackendRow) else row
            label = f"backend {ident!r}" if ident else "backend without an id"
            return f"{self.source}: {label} (plugins.backends[{index}]) field {name}"
        return f"{self.source}: field {name}"

    def error(self, where: str, what: str, fix: str) -> None:
        self.problems.append(f"{where}: {what}. Fix: {fix}")


def mask_url(url: str) -> str:
    """The URL with any userinfo, every query value and the fragment replaced by ``***``, for messages and
    diagnostics.

    Query names are kept (``?api-version=***``): an operator may have put a token in any value. A URL without a
    host (``https:/user:key@host``) has its path masked up to its last ``@``: that may be userinfo too.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***:***@" + parts.netloc.rpartition("@")[2])
    if not parts.netloc and "@" in parts.path:
        parts = parts._replace(path="***@" + parts.path.rpartition("@")[2])
    masked = parts._replace(query=_masked_query(parts.query), fragment="***" if parts.fragment else "").geturl()
    return masked + "#" if url.endswith("#") and not masked.endswith("#") else masked


def _masked_query(query: str) -> str:
    """Each value masked, names kept; a bare item (``?abc``) may itself be a token, so it is masked whole."""
    return "&".join(name + "=***" if sep else "***" for name, sep, _ in _query_items(query))


def _query_items(query: str) -> list[tuple[str, str, str]]:
    """``a=1&b`` as [("a", "=", "1"), ("b", "", "")], each part as written (no re-encoding)."""
    return [part.partition("=") for part in query.split("&") if part]


def check_base_url(url: str) -> str | None:
    """What is wrong with ``url`` as a base URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user or password (credentials come from api_key_env_var_root)"
    if parts.fragment or url.endswith("#"):
        return "must not contain a fragment ('#...')"
    if port == 0:
        return "has an invalid port"
    return None


def join_url(base: str, path: str) -> str:
    """Join a base URL and an API path (which may carry its own query) into one URL.

    The base's path prefix and the API path meet at exactly one slash; the base's query string (e.g. an Azure-style
    ``?api-version=...``) is kept and placed after the joined path, followed by the API path's own parameters
    except those the base already names (the operator's value wins).
    """
    parts = urlsplit(base)
    api_path, _, api_query = path.partition("?")
    joined = parts.path.rstrip("/") + "/" + api_path.lstrip("/")
    return parts._replace(path=joined, query=_merged_query(parts.query, api_query)).geturl()


def _merged_query(base: str, extra: str) -> str:
    items = _query_items(base)
    taken = {unquote_plus(name) for name, _, _ in items}
    items += [item for item in _query_items(extra) if unquote_plus(item[0]) not in taken]
    return "&".join("".join(item) for item in items)


def _strip_trailing_slashes(url: str) -> str:
    """``url`` with trailing slashes removed from its path only (a query value may end in one)."""
    parts = urlsplit(url)
    return parts._replace(path=parts.path.rstrip("/")).geturl()


def _pydantic_problems(
    report: _Report, exc: ValidationError, row: BackendRow | str | None, index: int | None, prefix: str = ""
) -> None:
    for err in exc.errors(include_url=False, include_input=False):
        loc = prefix + ".".join(str(part) for part in err["loc"])
        if err["type"] == "extra_forbidden":
            what, fix = "is not a known field", "remove it or correct its spelling (see docs/configuration.md)"
        else:
            what, fix = err["msg"], "correct the value (see docs/configuration.md)"
        report.error(report.where(row, index, loc or "<top level>"), what, fix)


def _row_settings(report: _Report, row: BackendRow, index: int) -> BackendSettings | None:
    config = dict(row.config)
    literal = [f"config.{name}" for name in SECRET_FIELDS if name in config]
    for name in SECRET_FIELDS:
        config.pop(name, None)
    headers = config.get("headers")
    if isinstance(headers, dict):
        auth = [h for h in headers if isinstance(h, str) and h.lower() in AUTH_HEADERS]
        literal += [f"config.headers.{h}" for h in auth]
        config["headers"] = {h: v for h, v in headers.items() if h not in auth}
    for name in literal:
        report.error(
            report.where(row, index, name),
            "secrets must not be written in the config file",
            "move the key into an environment variable (e.g. MYPROVIDER_API_KEY, then MYPROVIDER_API_KEY_2, ...) "
            "and set config.api_key_env_var_root: MYPROVIDER_API_KEY",
        )
    try:
        return BackendSettings.model_validate(config)
    except ValidationError as exc:
        _pydantic_problems(report, exc, row, index, "config.")
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    try:  # keep checking the fields that were fine, so every problem is listed at once
        return BackendSettings.model_validate({k: v for k, v in config.items() if k not in bad})
    except ValidationError:
        return None


def _prefix(report: _Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings) -> str | None:
    where = report.where(row, index, "config.backend_prefix")
    raw = settings.backend_prefix
    if raw is None:
        if kind.custom:
            report.error(
                where, "is required for custom kinds", "add config.backend_prefix: <name used in model selectors>"
            )
            return None
        return kind.kind
    prefix = raw.strip()
    if not prefix:
        report.error(where, "must not be empty", "set a short name such as 'provider123'")
        return None
    if "/" in prefix or ":" in prefix:
        report.error(where, f"{prefix!r} must not contain '/' or ':'", "use letters, digits, '-' or '_'")
        return None
    if prefix in RESERVED_PREFIXES and prefix != kind.kind:
        report.error(
            where,
            f"{prefix!r} is reserved for the built-in '{prefix}' backend",
            "choose another prefix (reserved: " + ", ".join(sorted(RESERVED_PREFIXES)) + ")",
        )
        return None
    return prefix


def preset_url(kind: KindSpec, env: Mapping[str, str]) -> str | None:
    """The base URL a preset takes from the environment (``url_env``, then ``version_env``), or None."""
    value = env.get(kind.url_env, "").strip() if kind.url_env else ""
    if not value:
        return None
    url = _strip_trailing_slashes(value)
    if kind.url_path and not urlsplit(url).path.endswith(kind.url_path):
        url = join_url(url, kind.url_path)
    version = env.get(kind.version_env, "").strip() if kind.version_env else ""
    if version:  # after any api-version the endpoint variable already has (that one wins)
        parts = urlsplit(url)
        url = parts._replace(query=_merged_query(parts.query, "api-version=" + quote(version, safe=""))).geturl()
    return url


def _base_url(
    report: _Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings, env: Mapping[str, str]
) -> str | None:
    where = report.where(row, index, "config.base_url")
    from_env = None if settings.base_url else preset_url(kind, env)
    url = settings.base_url.strip() if settings.base_url else from_env or kind.base_url
    if url is None:
        if kind.url_env:
            report.error(where, f"is required for kind {kind.kind!r}", _url_fix(kind))
        elif kind.protocol != "local":
            report.error(where, "is required for custom kinds", "add config.base_url: https://api.example.com/v1")
        return None
    problem = check_base_url(url)
    if problem and from_env is not None:
        report.error(where, f"{mask_url(url)!r} (from {kind.url_env}) {problem}", _url_fix(kind))
        return None
    if problem:
        report.error(where, f"{mask_url(url)!r} {problem}", "give an absolute URL such as https://api.example.com/v1")
        return None
    return _strip_trailing_slashes(url)


def _url_fix(kind: KindSpec) -> str:
    example = "https://<resource>.openai.azure.com" if kind.url_path else "https://api.example.com/v1"
    return f"set {kind.url_env}={example} in lip's environment, or add config.base_url"


CHAT_ONLY_FIELDS = ("max_tokens_field", "reasoning_field")


def _check_chat_only_fields(
    report: _Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings
) -> None:
    if settings.prompt_cache_key and kind.protocol not in ("openai_chat", "openai_responses"):
        report.error(
            report.where(row, index, "config.prompt_cache_key"),
            f"applies only to OpenAI protocol kinds (Chat Completions, Responses), and kind {kind.kind!r} speaks "
            f"{kind.protocol}",
            "remove it",
        )
    if kind.protocol == "openai_chat":
        return
    for name in CHAT_ONLY_FIELDS:
        if getattr(settings, name) is None:
            continue
        report.error(
            report.where(row, index, f"config.{name}"),
            f"applies only to Chat Completions kinds, and kind {kind.kind!r} speaks {kind.protocol}",
            "remove it, or use it on a custom-openai-legacy-compatible (or Chat preset) row",
        )


def _models_from_file(report: _Report, where: str, path: Path) -> tuple[ModelItem, ...] | None:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        report.error(
            where, f"cannot read {str(path)!r} ({exc.strerror})", "fix config.models.path (relative to the config file)"
        )
        return None
    except (ValueError, yaml.YAMLError):
        report.error(where, f"{str(path)!r} is not valid YAML or JSON", "fix the file's syntax")
        return None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        report.error(where, f"{str(path)!r} must hold a list of models", "write a list of {native_id: ...} entries")
        return None
    items: list[ModelItem] = []
    for i, entry in enumerate(data):
        try:
            items.append(ModelItem.model_validate({"native_id": entry} if isinstance(entry, str) else entry))
        except ValidationError:
            report.error(where, f"entry {i} of {str(path)!r} is not a model", "give at least native_id for each entry")
    return tuple(items)


def _static_models(
    report: _Report, row: BackendRow, index: int, settings: BackendSettings, base_dir: Path
) -> tuple[tuple[ModelItem, ...] | None, str]:
    models = settings.models
    if models is None:
        return None, "discovery"
    where = report.where(row, index, "config.models")
    if models.source == "inline":
        if models.items is None:
            report.error(where, "source 'inline' needs items", "add config.models.items: [{native_id: ...}]")
        return tuple(models.items or ()), "inline"
    if not models.path:
        report.error(where, "source 'file' needs path", "add config.models.path: models.yaml")
        return (), "file"
    return _models_from_file(report, where, base_dir / models.path) or (), "file"


def _resolve_row(
    report: _Report, row: BackendRow, index: int, env: Mapping[str, str], base_dir: Path, own: dict[str, str]
) -> BackendSpec | None:
    kind = BY_KIND.get(row.kind)
    if kind is None:
        report.error(
            report.where(row, index, "kind"),
            f"unknown kind {row.kind!r}",
            "use one of: " + ", ".join(k.kind for k in KINDS),
        )
        return None
    settings = _row_settings(report, row, index)
    if settings is None:
        return None
    prefix = _prefix(report, row, index, kind, settings)
    base_url = _base_url(report, row, index, kind, settings, env)
    static, source = _static_models(report, row, index, settings, base_dir)
    _check_chat_only_fields(report, row, index, kind, settings)
    if kind.protocol == "local":
        source = "stub" if static is None else source
    key_root = settings.api_key_env_var_root.strip() if settings.api_key_env_var_root else kind.key_root
    if settings.api_key_env_var_root is not None and not key_root:
        report.error(
            report.where(row, index, "config.api_key_env_var_root"),
            "must not be empty",
            "name an environment variable such as PROVIDER123_API_KEY, or remove the field",
        )
    if prefix is None or (base_url is None and kind.protocol != "local"):
        return None
    if settings.api_key_env_var_root is not None and key_root:
        _check_key_root(report, row, index, key_root, own)
    if row.enabled and key_root and not key_variable_names(env, key_root, from_one=kind.key_from_one):
        report.warnings.append(
            f"{report.source}: backend '{row.id}': no environment variable {key_root} (or {key_root}_2, ...) is set; "
            "it will send requests without an API key"
        )
    rules = tuple(CapabilityRule(r.pattern, capabilities_of(r)) for r in settings.capabilities) + kind.capabilities
    return BackendSpec(row.id, kind, prefix, base_url, key_root or None, settings, static, source, rules)


def _check_key_root(report: _Report, row: BackendRow, index: int, root: str, own: dict[str, str]) -> None:
    where = report.where(row, index, "config.api_key_env_var_root")
    taken = own_variable(root, own)
    if taken is not None:
        name, setting = taken
        report.error(
            where,
            f"{root!r} reads lip's own variable {name} ({setting}): its value would be sent upstream as this "
            "backend's API key",
            "name the provider's key variable instead, such as PROVIDER123_API_KEY",
        )
    elif looks_like_system(root):
        report.warnings.append(
            f"{where}: {root!r} looks like a system variable, not an API key; its value would be sent upstream as "
            "this backend's key. Fix: name the provider's key variable, such as PROVIDER123_API_KEY"
        )


def _check_selector(report: _Report, name: str, text: str, prefixes: set[str], alias: bool) -> None:
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


def _aliases(report: _Report, config: Config, prefixes: set[str]) -> tuple[AliasSpec, ...]:
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


def _check_store(report: _Report, config: Config, env: Mapping[str, str]) -> None:
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
    report = _Report(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping (server:, routing:, plugins:)"])
    config, rows = _parse(report, data)
    own = lip_variables(config)
    backends: list[BackendSpec] = []
    seen_ids: set[str] = set()
    for index, row in rows:
        if row.id in seen_ids:
            report.error(report.where(row, index, "id"), f"duplicate id {row.id!r}", "give every backend a unique id")
        seen_ids.add(row.id)
        spec = _resolve_row(report, row, index, env, base_dir, own)
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
        source, config, tuple(backends), aliases, tuple(report.warnings), client_keys=client_keys, keys_file=keys_file
    )


def _check_telemetry(report: _Report, config: Config, env: Mapping[str, str]) -> None:
    """Tracing on (``telemetry:`` or the OTEL_* environment) needs the OpenTelemetry SDK and exporter installed."""
    if trace_settings(config.telemetry, env) is None:
        return
    if any(importlib.util.find_spec(name) is None for name in ("opentelemetry.sdk", "opentelemetry.exporter")):
        report.error(
            report.where(None, None, "telemetry"),
            "tracing is on (telemetry: or OTEL_EXPORTER_OTLP_*) but the OpenTelemetry SDK is not installed",
            "pip install 'lip[otel]', or turn tracing off (unset OTEL_EXPORTER_OTLP_ENDPOINT)",
        )


def _client_keys(report: _Report, config: Config, base_dir: Path) -> tuple[Path | None, tuple[ClientKey, ...]]:
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


def _parse(report: _Report, data: dict[str, Any]) -> tuple[Config | None, list[tuple[int, BackendRow]]]:
    """The top level and each backend row validated on their own, so one bad row hides no other problem."""
    plugins = data.get("plugins")
    raw_rows = plugins.get("backends") if isinstance(plugins, dict) else None
    if isinstance(plugins, dict) and isinstance(raw_rows, list):
        data = {**data, "plugins": {**plugins, "backends": []}}
    else:
        raw_rows = []
    rows: list[tuple[int, BackendRow]] = []
    for index, raw in enumerate(raw_rows):
        try:
            rows.append((index, BackendRow.model_validate(raw)))
        except ValidationError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            _pydantic_problems(report, exc, raw_id if isinstance(raw_id, str) else None, index)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        _pydantic_problems(report, exc, None, None)
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
