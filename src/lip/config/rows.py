"""One backend row of ``plugins.backends``, resolved into a ``BackendSpec``: its kind, settings, prefix, base URL,
key root and static models, each problem reported on the row's id and field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from lip.backends.presets import BY_KIND, KINDS, RESERVED_PREFIXES, KindSpec
from lip.capabilities import CapabilityRule
from lip.config.models import BackendRow, BackendSettings, ModelItem
from lip.config.report import Report, pydantic_problems
from lip.config.specs import BackendSpec, capabilities_of
from lip.config.urls import check_base_url, mask_url, preset_url, strip_trailing_slashes
from lip.config.variables import looks_like_system, own_variable
from lip.credentials import key_variable_names
from lip.protocols.registry import codec_of, codecs

SECRET_FIELDS = ("api_key", "api_keys", "credentials", "key", "token", "password", "secret")
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key"})


def _row_settings(report: Report, row: BackendRow, index: int) -> BackendSettings | None:
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
        pydantic_problems(report, exc, row, index, "config.")
        bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
    try:  # keep checking the fields that were fine, so every problem is listed at once
        return BackendSettings.model_validate({k: v for k, v in config.items() if k not in bad})
    except ValidationError:
        return None


def _prefix(report: Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings) -> str | None:
    where = report.where(row, index, "config.backend_prefix")
    raw = settings.backend_prefix
    if raw is None:
        if kind.custom:
            report.error(
                where, "is required for custom kinds", "add config.backend_prefix: <name used in model selectors>"
            )
            return None
        raw = row.id  # the Go project's rule: a built-in row routes by its instance id
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


def _base_url(
    report: Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings, env: Mapping[str, str]
) -> str | None:
    where = report.where(row, index, "config.base_url")
    from_env = None if settings.base_url else preset_url(kind, env)
    url = settings.base_url.strip() if settings.base_url else from_env or kind.base_url
    if url is None:
        if kind.url_env:
            report.error(where, f"is required for kind {kind.kind!r}", _url_fix(kind))
        elif not answers_locally(kind):
            report.error(where, "is required for custom kinds", "add config.base_url: https://api.example.com/v1")
        return None
    problem = check_base_url(url)
    if problem and from_env is not None:
        report.error(where, f"{mask_url(url)!r} (from {kind.url_env}) {problem}", _url_fix(kind))
        return None
    if problem:
        report.error(where, f"{mask_url(url)!r} {problem}", "give an absolute URL such as https://api.example.com/v1")
        return None
    return strip_trailing_slashes(url)


def _url_fix(kind: KindSpec) -> str:
    example = "https://<resource>.openai.azure.com" if kind.url_path else "https://api.example.com/v1"
    return f"set {kind.url_env}={example} in lip's environment, or add config.base_url"


def answers_locally(kind: KindSpec) -> bool:
    """A kind whose protocol has no codec (``local-stub``) has no upstream: no base URL, no discovery."""
    return codec_of(kind.protocol) is None


def protocol_fields() -> dict[str, tuple[str, ...]]:
    """Each backend field only some protocols read (their codec dialect's ``backend_fields``) -> those protocols."""
    readers: dict[str, tuple[str, ...]] = {}
    for codec in codecs():
        for name in codec.dialect.backend_fields:
            readers[name] = (*readers.get(name, ()), codec.name)
    return readers


def _check_protocol_fields(
    report: Report, row: BackendRow, index: int, kind: KindSpec, settings: BackendSettings
) -> None:
    for name, protocols in protocol_fields().items():
        if kind.protocol in protocols or getattr(settings, name) is None:
            continue
        report.error(
            report.where(row, index, f"config.{name}"),
            f"applies only to kinds that speak {' or '.join(protocols)}, and kind {kind.kind!r} speaks {kind.protocol}",
            "remove it, or use it on a row of such a kind (custom-openai-legacy-compatible or a Chat preset)",
        )


def _models_from_file(report: Report, where: str, path: Path) -> tuple[ModelItem, ...] | None:
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
    if isinstance(data, dict):  # the Go project's file: a mapping with items (or models)
        data = next((data[k] for k in ("items", "models") if isinstance(data.get(k), list)), data)
    if not isinstance(data, list):
        report.error(where, f"{str(path)!r} must hold a list of models", "write a list of {native_id: ...} entries")
        return None
    if not data:
        report.error(where, f"{str(path)!r} lists no model", "add at least one model to the file")
        return None
    items: list[ModelItem] = []
    for i, entry in enumerate(data):
        try:
            items.append(ModelItem.model_validate({"native_id": entry} if isinstance(entry, str) else entry))
        except ValidationError:
            report.error(where, f"entry {i} of {str(path)!r} is not a model", "give at least native_id for each entry")
    return tuple(items)


def _static_models(
    report: Report, row: BackendRow, index: int, settings: BackendSettings, base_dir: Path
) -> tuple[tuple[ModelItem, ...] | None, str]:
    """The row's static list and its source; None for discovery (no ``models``, or one with neither items nor
    path). As in the Go project: ``source`` may be left out, path and items together are refused, and a static
    list must not be empty."""
    models = settings.models
    if models is None or (models.source is None and models.items is None and not models.path):
        return None, "discovery"
    where = report.where(row, index, "config.models")
    if models.path and models.items is not None:
        report.error(where, "gives both path and items", "keep one: items (inline) or path (a file)")
        return (), models.effective_source
    if models.effective_source == "inline":
        if not models.items:
            report.error(
                where, "an inline list needs items (at least one)", "add config.models.items: [{native_id: ...}]"
            )
        return tuple(models.items or ()), "inline"
    if not models.path:
        report.error(where, "source 'file' needs path", "add config.models.path: models.yaml")
        return (), "file"
    return _models_from_file(report, where, base_dir / models.path) or (), "file"


def resolve_row(
    report: Report,
    row: BackendRow,
    index: int,
    env: Mapping[str, str],
    base_dir: Path,
    own: dict[str, str],
    fetch_timeout: float | None = None,
) -> BackendSpec | None:
    """The row's spec, or None when it has a problem (reported). ``fetch_timeout`` (model_inventory's) is the
    discovery timeout of a row that sets none."""
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
    if fetch_timeout is not None and "discovery_timeout_s" not in settings.model_fields_set:
        settings = settings.model_copy(update={"discovery_timeout_s": fetch_timeout})
    prefix = _prefix(report, row, index, kind, settings)
    base_url = _base_url(report, row, index, kind, settings, env)
    static, source = _static_models(report, row, index, settings, base_dir)
    _check_protocol_fields(report, row, index, kind, settings)
    if answers_locally(kind):
        source = "stub" if static is None else source
    key_root = settings.api_key_env_var_root.strip() if settings.api_key_env_var_root else kind.key_root
    if settings.api_key_env_var_root is not None and not key_root:
        report.error(
            report.where(row, index, "config.api_key_env_var_root"),
            "must not be empty",
            "name an environment variable such as PROVIDER123_API_KEY, or remove the field",
        )
    if prefix is None or (base_url is None and not answers_locally(kind)):
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


def _check_key_root(report: Report, row: BackendRow, index: int, root: str, own: dict[str, str]) -> None:
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
