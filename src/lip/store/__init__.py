"""State that lip processes share: a small async store with an in-memory default and a Redis implementation."""

from __future__ import annotations

from collections.abc import Mapping

from lip.config.models import StoreConfig
from lip.credentials import Secret
from lip.store.base import MemoryStore, Store

__all__ = ["MemoryStore", "Store", "open_store"]


def open_store(config: StoreConfig, env: Mapping[str, str]) -> Store:
    """The store ``config`` names; the Redis client connects on first use (check-config never calls this)."""
    local = MemoryStore(config.max_local_items)
    if config.kind == "memory":
        return local
    from lip.store.redis_store import RedisStore  # redis-py is an optional dependency

    return RedisStore(Secret(env[config.url_env].strip()), config, local)
