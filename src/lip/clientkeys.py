"""Named client keys from a keys file: each key by its SHA-256 only, with a name, allowed models and limits.

The file (``server.client_keys_file``, YAML)::

    keys:
      - name: team-a                   # letters, digits, '.', '_', '-'; shown in logs, metrics, /ui
        sha256: 9f86d0...              # hex SHA-256 of the key; the key itself is never stored
        models: ["openai", "anthropic:claude-*"]   # optional: a backend prefix, or a glob on "prefix:model"
        rpm: 60                        # optional limits (0 or absent: none): requests per minute,
        tpm: 100000                    # tokens per minute, tokens per day (as the upstreams report them),
        tokens_per_day: 2000000
        max_concurrent: 4              # requests in flight
        admin: false                   # may call /admin/* and /ui (the env keys always may)

``lip keys add NAME`` makes a key, prints it once and appends its hash here. A reload re-reads the file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
HEX = re.compile(r"[0-9a-f]{64}")
KEY_PREFIX = "lip-"


class KeyRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    sha256: str
    models: list[str] = Field(default_factory=list)
    rpm: int = Field(default=0, ge=0)
    tpm: int = Field(default=0, ge=0)
    tokens_per_day: int = Field(default=0, ge=0)
    max_concurrent: int = Field(default=0, ge=0)
    admin: bool = False


class KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[KeyRow] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ClientKey:
    """One named client key, as lip serves it (the hash, never the key)."""

    name: str
    sha256: str
    models: tuple[str, ...] = ()  # empty: every model
    rpm: int = 0
    tpm: int = 0
    tokens_per_day: int = 0
    max_concurrent: int = 0
    admin: bool = False

    @property
    def limited(self) -> bool:
        return bool(self.rpm or self.tpm or self.tokens_per_day or self.max_concurrent)

    def allows(self, prefix: str, model: str) -> bool:
        """Whether this key may use ``prefix:model``: a listed prefix, or a glob matching ``prefix:model``."""
        if not self.models:
            return True
        leaf = f"{prefix}:{model}"
        return any(entry == prefix or fnmatch.fnmatchcase(leaf, entry) for entry in self.models)


def env_key(number: int) -> ClientKey:
    """An environment key (``LIP_API_KEY``, ``_2``, ...): named ``key1``, ``key2``, ...; no limits; admin."""
    return ClientKey(name=f"key{number}", sha256="", admin=True)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random client key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def read_keys(path: Path) -> tuple[ClientKey, ...]:
    """The keys of ``path``; ValueError with every problem (by row and field, never a key) when it is invalid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the keys file ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ValueError("the keys file is not valid YAML") from None
    return parse_keys(data if data is not None else {})


def parse_keys(data: Any) -> tuple[ClientKey, ...]:
    try:
        parsed = KeysFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)]
        raise ValueError("; ".join(problems)) from None
    problems, names, hashes = [], set(), set()
    for index, row in enumerate(parsed.keys):
        where = f"keys[{index}]"
        if not NAME.fullmatch(row.name):
            problems.append(f"{where}.name: use 1-64 letters, digits, '.', '_' or '-'")
        if row.name in names:
            problems.append(f"{where}.name: {row.name!r} is used twice")
        if not HEX.fullmatch(row.sha256):
            problems.append(f"{where}.sha256: must be 64 lowercase hex digits (the key's SHA-256, never the key)")
        elif row.sha256 in hashes:
            problems.append(f"{where}.sha256: the same key is listed twice")
        names.add(row.name)
        hashes.add(row.sha256)
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(
        ClientKey(
            row.name,
            row.sha256,
            tuple(row.models),
            row.rpm,
            row.tpm,
            row.tokens_per_day,
            row.max_concurrent,
            row.admin,
        )
        for row in parsed.keys
    )


def _where(loc: tuple[int | str, ...]) -> str:
    """``("keys", 0, "sha256")`` as ``keys[0].sha256``."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def add_key(path: Path, name: str, limits: Mapping[str, Any]) -> str:
    """Append a new key named ``name`` to ``path`` (created when missing) and return the key, which is not kept."""
    data: dict[str, Any] = {"keys": []}
    if path.exists():
        read_keys(path)  # refuse to rewrite a file that is invalid
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data = {**loaded, "keys": list(loaded.get("keys") or [])}
    if any(row.get("name") == name for row in data["keys"]):
        raise ValueError(f"a key named {name!r} exists already; remove its row first to replace it")
    key = new_key()
    row = {"name": name, "sha256": digest(key), **{k: v for k, v in limits.items() if v}}
    parse_keys({"keys": [*data["keys"], row]})  # the name and limits are valid
    data["keys"].append(row)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return key


class KeyIndex:
    """The named keys by hash: a presented key is hashed once and looked up (no key is held in memory)."""

    def __init__(self, keys: tuple[ClientKey, ...]) -> None:
        self.by_hash = {key.sha256: key for key in keys}
        self.keys = keys

    def __bool__(self) -> bool:
        return bool(self.by_hash)

    def find(self, candidate: str) -> ClientKey | None:
        try:
            return self.by_hash.get(digest(candidate))
        except UnicodeEncodeError:
            return None
