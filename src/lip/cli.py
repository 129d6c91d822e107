"""The lip command: serve, check-config, routes, inventory. Flags become settings, handed to the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from lip import __version__
from lip.config.load import ConfigError, Settings, load_default, load_file
from lip.credentials import key_variable_names

CONFIG_HELP = "YAML config file; without it, the embedded default (local-stub on 127.0.0.1:8000)."


def _load(config: str | None, env: Mapping[str, str]) -> Settings:
    return load_file(config, env) if config else load_default(env)


def _fail(error: ConfigError, console: Console) -> None:
    console.print(f"[bold red]configuration invalid[/] ({len(error.problems)} problem(s)):", highlight=False)
    for problem in error.problems:
        console.print(f"  - {problem}", markup=False, highlight=False)
    for warning in error.warnings:
        console.print(f"  warning: {warning}", markup=False, highlight=False)
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
def main() -> None:
    """lip: one endpoint for OpenAI Chat, OpenAI Responses and Anthropic Messages clients, routed to any backend."""


@main.command("check-config")
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def check_config(config: str | None) -> None:
    """Validate a config without touching the network; exit 0 when valid, 1 with every problem listed."""
    console = Console(highlight=False)
    settings = _settings_or_exit(config, console)
    auth = _auth_summary(settings, os.environ)
    table = Table(title=f"{settings.source}: valid")
    for column in ("id", "prefix", "kind", "protocol", "auth configured", "inventory"):
        table.add_column(column)
    for spec in settings.backends:
        table.add_row(spec.id, spec.prefix, spec.kind.kind, spec.protocol, auth[spec.id], spec.models_source)
    console.print(table)
    server = settings.config.server
    console.print(f"serves on {server.host}:{server.port}; {len(settings.backends)} enabled backend(s)", markup=False)
    for warning in settings.warnings:
        console.print(f"warning: {warning}", markup=False)


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def routes(config: str | None) -> None:
    """Show how prefixes, aliases and the default route resolve."""
    console = Console(highlight=False)
    settings = _settings_or_exit(config, console)
    table = Table(title="prefixes")
    for column in ("selector", "backend id", "kind", "upstream"):
        table.add_column(column)
    for spec in settings.backends:
        table.add_row(f"{spec.prefix}:<model>", spec.id, spec.kind.kind, spec.base_url or "(no network)")
    console.print(table)
    if settings.aliases:
        aliases = Table(title="aliases (first full match wins)")
        aliases.add_column("pattern")
        aliases.add_column("selector")
        for alias in settings.aliases:
            aliases.add_row(alias.pattern.pattern, alias.replacement)
        console.print(aliases)
    default = settings.config.routing.default_route
    console.print(f"default route (bare model names no backend lists): {default or '(none: such requests get 404)'}")


async def _discover(settings: Settings) -> list[dict[str, Any]]:
    from lip.backends.registry import build_backend
    from lip.inventory import Inventory
    from lip.server import new_session

    async with new_session() as session:
        backends = [build_backend(spec, session, os.environ) for spec in settings.backends]
        inventory = Inventory(backends)
        await inventory.discover_all()
    rows = []
    for prefix, entry in inventory.by_prefix.items():
        rows.append(
            {
                "id": entry.backend.id,
                "prefix": prefix,
                "source": entry.source,
                "state": entry.state,
                "error": entry.error,
                "models": [f"{prefix}:{m.native_id}" for m in entry.models],
            }
        )
    return rows


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inventory(config: str | None, as_json: bool) -> None:
    """List every backend's models (discovering them from providers that have no static list)."""
    console = Console(highlight=False)
    settings = _settings_or_exit(config, console)
    rows = asyncio.run(_discover(settings))
    if as_json:
        click.echo(orjson.dumps({"backends": rows}, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        state = row["state"] + (f": {row['error']}" if row["error"] else "")
        console.print(f"[bold]{row['id']}[/] (prefix {row['prefix']}, source {row['source']}, {state})")
        for model in row["models"]:
            console.print(f"  {model}", markup=False)


@main.command()
@click.option("--config", "config", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--host", default=None, help="Override server.host.")
@click.option("--port", default=None, type=int, help="Override server.port.")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warning", "error"]))
def serve(config: str | None, host: str | None, port: int | None, log_level: str | None) -> None:
    """Validate the config, then serve."""
    console = Console(stderr=True, highlight=False)
    settings = _settings_or_exit(config, console)
    level = (log_level or settings.config.logging.level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for warning in settings.warnings:
        logging.getLogger("lip").warning("%s", warning)
    server = settings.config.server
    from lip.server import serve as run

    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(run(settings, os.environ, host=host or server.host, port=port if port is not None else server.port))
