"""``lip keys add`` and ``lip keys list``: named client keys in the keys file (lip.clientkeys), never a key shown
twice."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, cast

import click
import yaml

from lip.clientkeys import ClientKey, add_key, read_keys

FILE_HELP = "The keys file (YAML); default: server.client_keys_file of --config."
CONFIG_HELP = "The config whose server.client_keys_file to use."


def given_config(given: str | None, *, exists: bool = True) -> str | None:
    """The command's ``--config`` (the last one given), else the one before the command (``lip --config FILE
    keys list``); a missing file is a usage error."""
    if given is not None:
        return given
    group = click.get_current_context().find_root().obj
    if group is not None and exists and not os.path.isfile(group):
        raise click.BadParameter(f"File {group!r} does not exist.", param_hint="'--config'")
    return cast("str | None", group)


def _server(config: str | None) -> dict[str, Any]:
    """The config's ``server`` section as written (the keys file may not exist yet: the config is not validated)."""
    if not config:
        return {}
    try:
        data = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise click.UsageError(f"cannot read {config}: {type(exc).__name__}") from None
    server = data.get("server") if isinstance(data, dict) else None
    return server if isinstance(server, dict) else {}


def keys_path(file: str | None, config: str | None) -> Path:
    if file:
        return Path(file)
    name = _server(config).get("client_keys_file")
    if config and isinstance(name, str) and name:
        return Path(config).resolve().parent / name
    raise click.UsageError("name the keys file: --file PATH, or --config with server.client_keys_file set")


@click.group()
def keys() -> None:
    """Named client keys: add one (printed once, only its SHA-256 kept), list them with their usage."""


@keys.command("add")
@click.argument("name")
@click.option("--file", "file", type=click.Path(dir_okay=False), help=FILE_HELP)
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help=CONFIG_HELP)
@click.option("--model", "models", multiple=True, help="Allowed: a backend prefix or a glob on prefix:model (repeat).")
@click.option("--rpm", type=click.IntRange(0), default=0, help="Requests per minute (0: no limit).")
@click.option("--tpm", type=click.IntRange(0), default=0, help="Tokens per minute (0: no limit).")
@click.option("--tokens-per-day", type=click.IntRange(0), default=0, help="Tokens per UTC day (0: no limit).")
@click.option("--max-concurrent", type=click.IntRange(0), default=0, help="Requests in flight (0: no limit).")
@click.option("--admin", is_flag=True, help="May call /admin/* and /ui.")
def add(
    name: str,
    file: str | None,
    config: str | None,
    models: tuple[str, ...],
    rpm: int,
    tpm: int,
    tokens_per_day: int,
    max_concurrent: int,
    admin: bool,
) -> None:
    """Make a new random key NAME: print it once, write only its SHA-256 (reload lip to use it)."""
    config = given_config(config)
    path = keys_path(file, config)
    limits = {
        "models": list(models),
        "rpm": rpm,
        "tpm": tpm,
        "tokens_per_day": tokens_per_day,
        "max_concurrent": max_concurrent,
        "admin": admin,
    }
    try:
        key = add_key(path, name, limits)
    except ValueError as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    click.echo(key)
    click.echo(
        f"added {name!r} to {path}: the key above is shown only this once; lip keeps its SHA-256. Reload lip "
        "(SIGHUP or POST /admin/reload) to accept it.",
        err=True,
    )


@keys.command("list")
@click.option("--file", "file", type=click.Path(dir_okay=False), help=FILE_HELP)
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help=CONFIG_HELP)
@click.option("--url", default=None, help="A running lip (http://host:port): add each key's usage (/admin/usage).")
def list_keys(file: str | None, config: str | None, url: str | None) -> None:
    """Names, allowed models and limits (never a key); with --url, usage from a running lip."""
    from rich.console import Console  # rich is imported when a command prints
    from rich.table import Table

    config = given_config(config)
    path = keys_path(file, config)
    try:
        found = read_keys(path)
    except ValueError as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)
    usage = _usage(url.rstrip("/"), config) if url else {}
    table = Table(title=f"client keys in {path}")
    for column in ("name", "models", "rpm", "tpm", "tokens/day", "concurrent", "admin", "requests", "tokens"):
        table.add_column(column)
    for key in found:
        table.add_row(*_row(key, usage.get(key.name)))
    Console(highlight=False).print(table)


def _row(key: ClientKey, entry: dict[str, Any] | None) -> list[str]:
    total = (entry or {}).get("usage") or {}
    total = total.get("total", {}) if total else {}
    tokens = total.get("input_tokens", 0) + total.get("output_tokens", 0) if total else None
    return [
        key.name,
        ", ".join(key.models) or "all",
        *(str(limit or "-") for limit in (key.rpm, key.tpm, key.tokens_per_day, key.max_concurrent)),
        "yes" if key.admin else "no",
        str(total.get("requests", 0)) if entry else "-",
        str(tokens) if tokens is not None else "-",
    ]


def read_live(url: str, path: str, key_root: str) -> Any:
    """A running lip's JSON at ``path``, with the first client key of ``key_root`` from the environment (if any);
    exit 1 with the reason when it cannot be read."""
    from lip.backends.upstream import get_json
    from lip.credentials import read_numbered
    from lip.errors import LipError
    from lip.server import new_session

    found = read_numbered(os.environ, key_root)
    headers = {"Authorization": "Bearer " + found[0].reveal()} if found else {}

    async def fetch() -> Any:
        async with new_session() as session:
            return await get_json(session, url + path, headers, 10.0, url)

    try:
        return asyncio.run(fetch())
    except LipError as exc:
        click.echo(f"cannot read {url}{path}: {exc.message}", err=True)
        sys.exit(1)


def _usage(url: str, config: str | None) -> dict[str, dict[str, Any]]:
    """A running lip's GET /admin/usage, with an admin key from the environment (the config's env key root)."""
    root = _server(config).get("client_api_key_env_var_root") or "LIP_API_KEY"
    report = read_live(url, "/admin/usage", str(root))
    return {entry["name"]: entry for entry in report.get("keys", [])}
