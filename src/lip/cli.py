"""The lip command: serve, check-config, routes, inventory, inspect. Flags become settings, handed to the server.

``--config`` may come before the subcommand or after it, as in the Go project (``lip --config FILE routes``); given
twice, the last one wins."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import click
import orjson

from lip import __version__
from lip import cli_views as views
from lip.cli_keys import given_config, keys, read_live
from lip.config.load import (
    DEFAULT_SOURCE,
    BackendSpec,
    ConfigError,
    Settings,
    load_default,
    load_file,
    mask_url,
)
from lip.credentials import key_variable_names

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

CONFIG_HELP = "YAML config file; without it, the embedded default (local-stub on 127.0.0.1:8000)."
EXISTING_FILE = click.Path(dir_okay=False, exists=True)  # a missing --config file is a usage error (exit 2)


def _console(**options: Any) -> Console:
    from rich.console import Console  # rich is imported when a command prints, not when lip serves

    return Console(**options)


def _table(**options: Any) -> Table:
    from rich.table import Table

    return Table(**options)


class _LazyConsole:
    """A rich Console made on the first print: `lip serve` prints only when it refuses to start."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.console: Console | None = None

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if self.console is None:
            self.console = _console(**self.options)
        self.console.print(*objects, **kwargs)


def _load(config: str | None, env: Mapping[str, str]) -> Settings:
    return load_file(config, env) if config else load_default(env)


def _fail(error: ConfigError, console: Console) -> None:
    console.print(f"[bold red]configuration invalid[/] ({len(error.problems)} problem(s)):", highlight=False)
    for problem in error.problems:
        console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
    for warning in error.warnings:
        console.print(f"  warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(1)


def _settings_or_exit(config: str | None, console: Console) -> Settings:
    try:
        return _load(config, os.environ)
    except ConfigError as error:
        _fail(error, console)
        raise AssertionError("unreachable") from error


def _auth_summary(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    summary: dict[str, str] = {}
    for spec in settings.backends:
        if not spec.key_root:
            summary[spec.id] = "no"
            continue
        count = len(key_variable_names(env, spec.key_root, from_one=spec.kind.key_from_one))
        summary[spec.id] = (
            f"yes ({count} key{'s' if count != 1 else ''} from {spec.key_root})"
            if count
            else (f"no ({spec.key_root} not set)")
        )
    return summary


@click.group()
@click.version_option(__version__, prog_name="lip")
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP + " Also after the command.")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """lip: one endpoint for OpenAI Chat, OpenAI Responses and Anthropic Messages clients, routed to any backend."""
    ctx.obj = config


@main.command("check-config")
@click.option("--config", "config", type=EXISTING_FILE, help=CONFIG_HELP)
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. the Go project's settings lip ignores) as errors.")
def check_config(config: str | None, strict: bool) -> None:
    """Validate a config without touching the network; exit 0 when valid, 1 with every problem listed."""
    console = _console(highlight=False)
    settings = _settings_or_exit(given_config(config), console)
    if strict and settings.warnings:
        _fail(ConfigError([f"{w} (an error under --strict)" for w in settings.warnings]), console)
    _client_keys_or_exit(settings, console)
    auth = _auth_summary(settings, os.environ)
    table = _table(title=f"{settings.source}: valid")
    for column in ("id", "prefix", "kind", "protocol", "auth configured", "inventory"):
        table.add_column(column)
    for spec in settings.backends:
        table.add_row(spec.id, spec.prefix, spec.kind.kind, spec.protocol, auth[spec.id], spec.models_source)
    console.print(table)
    _print_from_env(settings, console)
    server = settings.config.server
    console.print(f"serves on {server.host}:{server.port}; {len(settings.backends)} enabled backend(s)", markup=False)
    clients = key_variable_names(os.environ, server.client_api_key_env_var_root)
    if settings.client_keys:
        clients.append(f"{len(settings.client_keys)} named in {settings.keys_file}")
    access = f"client keys required ({', '.join(clients)})" if clients else "no client keys (loopback only)"
    console.print(f"client access: {access}", markup=False)
    store = settings.config.store
    shared = f"redis (URL from {store.url_env}, prefix {store.prefix!r})" if store.kind == "redis" else "memory"
    console.print(f"store: {shared}", markup=False)
    for warning in settings.warnings:
        console.print(f"warning: {warning}", markup=False, soft_wrap=True)


def _print_from_env(settings: Settings, console: Console) -> None:
    """The presets the embedded default enabled because their key variable is set (names only, never values)."""
    if settings.source != DEFAULT_SOURCE:
        return
    enabled = ", ".join(settings.from_env) or "none (no provider key variable is set; docs/routing.md)"
    console.print(f"presets enabled by the environment: {enabled}", markup=False, soft_wrap=True)


def _alias_name(pattern: str) -> str:
    """An exact-name alias as its name (``gpt-4o``), a regex alias as its pattern."""
    plain = re.sub(r"\\(.)", r"\1", pattern)
    return plain if re.escape(plain) == pattern else pattern


def _resilience(spec: BackendSpec) -> tuple[str, str, str, str]:
    settings, t = spec.settings, spec.settings.timeouts
    limit = settings.max_concurrent_requests
    return (
        " / ".join(f"{v:g}" if v else "off" for v in (t.connect_s, t.first_byte_s, t.idle_s, t.total_s)),
        f"max {limit}, wait {settings.admission_wait_s:g} s" if limit else "unlimited",
        f"open {settings.circuit_cooldown_s:g} s after {settings.circuit_failures} failures",
        f"every {settings.keepalive_s:g} s" if settings.keepalive_s else "off",
    )


@main.command()
@click.option("--config", "config", type=EXISTING_FILE, help=CONFIG_HELP)
@click.option("--url", default=None, help="A running lip (http://host:port): show its live circuits, keys and load.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the Go project's routes shape).")
def routes(config: str | None, url: str | None, as_json: bool) -> None:
    """Show how prefixes, aliases and the default route resolve, and each backend's timeouts and limits."""
    console = _console(highlight=False)
    settings = _settings_or_exit(given_config(config), console)
    if as_json:
        _echo_json(views.routes(settings))
        return
    auth = _auth_summary(settings, os.environ)
    table = _table(title="prefixes")
    for column in ("selector", "backend id", "kind", "upstream", "auth configured"):
        table.add_column(column)
    for spec in settings.backends:
        upstream = mask_url(spec.base_url) if spec.base_url else "(no network)"
        table.add_row(f"{spec.prefix}:<model>", spec.id, spec.kind.kind, upstream, auth[spec.id])
    console.print(table)
    _print_from_env(settings, console)
    resilience = _table(title="resilience (docs/routing.md)")
    for column in ("backend id", "timeouts s: connect/first byte/idle/total", "concurrency", "circuit", "keep-alive"):
        resilience.add_column(column)
    for spec in settings.backends:
        resilience.add_row(spec.id, *_resilience(spec))
    console.print(resilience)
    if settings.aliases:
        aliases = _table(title="aliases (first full match wins)")
        aliases.add_column("model")
        aliases.add_column("selector")
        for alias in settings.aliases:
            aliases.add_row(_alias_name(alias.pattern.pattern), alias.replacement)
        console.print(aliases)
    default = settings.config.routing.default_route
    console.print(f"default route (bare model names no backend lists): {default or '(none: such requests get 404)'}")
    if url:
        _live_state(url.rstrip("/"), settings, console)


def _live_state(url: str, settings: Settings, console: Console) -> None:
    """A running lip's GET /v1/diagnostics as a table, with the first client key (if any) from the environment."""
    state = read_live(url, "/v1/diagnostics", settings.config.server.client_api_key_env_var_root)
    table = _table(title=f"live state of {url}")
    for column in ("backend id", "circuit", "keys usable", "in flight / waiting / refused", "models"):
        table.add_column(column)
    for backend in state.get("backends", []):
        keys_state = backend.get("keys", [])
        usable = sum(1 for k in keys_state if not k["disabled"] and not k["cooling_s"])
        admission = backend.get("admission", {})
        load = " / ".join(str(admission.get(k, "-")) for k in ("in_flight", "waiting", "rejected"))
        inventory = backend.get("inventory", {})
        table.add_row(
            backend["id"],
            backend.get("circuit", "closed"),
            f"{usable} of {len(keys_state)}" if keys_state else "(no keys)",
            load,
            f"{inventory.get('models', 0)} ({inventory.get('state', '?')})",
        )
    console.print(table)
    for name, circuit in state.get("circuits", {}).items():
        console.print(f"circuit {name}: {circuit['state']}, last error {circuit['last_error']}", markup=False)


async def _discover(settings: Settings) -> list[dict[str, Any]]:
    from lip.backends.registry import build_backend
    from lip.inventory import Inventory
    from lip.server import new_session

    async with new_session() as session:
        backends = [build_backend(spec, session, os.environ) for spec in settings.backends]
        inventory = Inventory(backends)
        await inventory.discover_all()
    return [
        {
            "id": entry.backend.id,
            "source": entry.source,
            "state": entry.state,
            "error": entry.error,
            "models": [f"{prefix}:{m.native_id}" for m in entry.models],
        }
        for prefix, entry in inventory.by_prefix.items()
    ]


@main.command()
@click.option("--config", "config", type=EXISTING_FILE, help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--url", default=None, help="A running lip (http://host:port): its lists' state (refreshes, failures).")
def inventory(config: str | None, as_json: bool, url: str | None) -> None:
    """List every backend's models (discovering them from providers that have no static list)."""
    console = _console(highlight=False)
    settings = _settings_or_exit(given_config(config), console)
    if url:
        _live_inventory(url.rstrip("/"), settings, as_json, console)
        return
    snapshot = views.inventory(settings, asyncio.run(_discover(settings)))
    if as_json:
        _echo_json(snapshot)
        return
    for row in snapshot["backends"]:
        state = row["state"] + (f": {row['error']}" if row["error"] else "")
        console.print(f"[bold]{row['id']}[/] (prefix {row['prefix']}, source {row['source']}, {state})")
        for model in row["models"]:
            console.print(f"  {model}", markup=False)


def _live_inventory(url: str, settings: Settings, as_json: bool, console: Console) -> None:
    """A running lip's model lists as its GET /v1/diagnostics shows them (a failed refresh: ``stale``)."""
    state = read_live(url, "/v1/diagnostics", settings.config.server.client_api_key_env_var_root)
    rows = [{"id": b["id"], "prefix": b["prefix"], **b.get("inventory", {})} for b in state.get("backends", [])]
    if as_json:
        _echo_json({"backends": rows})
        return
    for row in rows:
        error = f": {row['error']}" if row.get("error") else ""
        console.print(
            f"{row['id']} (prefix {row['prefix']}, source {row.get('source')}): {row.get('models')} models, "
            f"{row.get('state')}{error}; {row.get('failures', 0)} failed fetch(es)",
            markup=False,
        )


@main.command()
@click.option("--config", "config", type=EXISTING_FILE, help=CONFIG_HELP)
def inspect(config: str | None) -> None:
    """Print the backend kinds lip has built in and each configured row, as JSON (no network)."""
    _echo_json(views.inspect(_settings_or_exit(given_config(config), _console(highlight=False))))


def _echo_json(data: object) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def _client_keys_or_exit(settings: Settings, console: Console) -> None:
    """Client keys (LIP_API_KEY, _2, ...) shorter than 16 characters are a configuration error."""
    from lip.middlewares import client_key_problems

    problems = client_key_problems(settings, os.environ)
    if problems:
        _fail(ConfigError(problems), console)


def _exposed(settings: Settings, host: str) -> bool:
    """Whether ``host`` is reachable from other machines while no client key is set."""
    from lip.credentials import read_numbered
    from lip.middlewares import is_loopback

    root = settings.config.server.client_api_key_env_var_root
    return not is_loopback(host) and not read_numbered(os.environ, root) and not settings.client_keys


def _refuse_exposure(settings: Settings, host: str, console: Console) -> None:
    root = settings.config.server.client_api_key_env_var_root
    console.print(
        f"refusing to serve on {host} without client API keys: anyone who could reach it could use your backends "
        f"and their keys.\n"
        f"  Set {root} (and {root}_2, {root}_3, ... for more clients) to a random string of at least 16 characters,\n"
        f"  e.g.  export {root}=$(openssl rand -hex 32)\n"
        f"  and have clients send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>' (docs/security.md).\n"
        f"  Or serve on 127.0.0.1, or pass --insecure-no-auth to accept the risk.",
        markup=False,
    )
    sys.exit(2)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: taskset, a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Workers(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2 (pyproject: >=8.1)
    """``--workers``: a count from 1 to 512, or ``auto`` for one per usable core."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return min(512, usable_cores())
        return int(click.IntRange(1, 512).convert(value, param, ctx))  # type: ignore[arg-type]


WORKERS = Workers()


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--host", default=None, help="Override server.host.")
@click.option("--port", default=None, type=int, help="Override server.port.")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]))
@click.option(
    "--workers",
    default="1",
    show_default=True,
    type=WORKERS,
    help="Processes serving the same port (SO_REUSEPORT), for multi-core machines; auto: one per usable core.",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Serve a non-loopback address without client keys (anyone who reaches it can use your backends).",
)
def serve(
    config: str | None,
    host: str | None,
    port: int | None,
    log_level: str | None,
    workers: int,
    insecure_no_auth: bool,
) -> None:
    """Validate the config, then serve. SIGHUP reloads the config; SIGTERM drains and stops."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # before prometheus_client is imported: lip sets it for workers
    from lip.observability import configure_logging
    from lip.process import Supervisor, WorkerArgs, run
    from lip.process import serve as serve_forever

    console = cast("Console", _LazyConsole(stderr=True, highlight=False))
    config = given_config(config, exists=False)
    settings = _settings_or_exit(config, console)
    _client_keys_or_exit(settings, console)
    server, logs = settings.config.server, settings.config.logging
    host = host or server.host
    port = port if port is not None else server.port
    level = log_level or logs.level
    exposed = _exposed(settings, host)
    if exposed and not insecure_no_auth:
        _refuse_exposure(settings, host, console)
    configure_logging(level, logs.format)
    for warning in settings.warnings:
        logging.getLogger("lip").warning("%s", warning)
    if exposed:
        logging.getLogger("lip").warning(
            "INSECURE: serving %s with no client authentication (--insecure-no-auth): anyone who can reach this "
            "address can use every configured backend and its API keys; set %s to require a key",
            host,
            server.client_api_key_env_var_root,
        )
    config_path = os.path.abspath(config) if config else None
    if workers > 1:
        if port == 0:
            console.print("--workers needs a fixed port: set server.port or --port", markup=False)
            sys.exit(2)
        if settings.config.store.kind == "memory":
            logging.getLogger("lip").warning(
                "%d workers with the in-memory store: each worker keeps its own previous_response_id conversations "
                "(a follow-up that reaches another worker fails), key cool-downs, disabled keys and circuits; "
                "to share them set store.kind: redis and LIP_REDIS_URL (see docs/operations.md)",
                workers,
            )
        sys.exit(Supervisor(workers, WorkerArgs(config_path, host, port, level, logs.format)).run())
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run(serve_forever(settings, os.environ, host=host, port=port, config_path=config_path))
    except OSError as exc:
        console.print(f"cannot serve on {host}:{port}: {exc.strerror or exc}", markup=False)
        sys.exit(1)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editors: `lip schema > lip.schema.json`)."""
    from lip.config.schema import config_schema

    click.echo(orjson.dumps(config_schema(), option=orjson.OPT_INDENT_2).decode())


main.add_command(keys)
