"""GET /admin/usage: each client key's name, limits, window counts and usage by backend and model; never a key."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from lip.clientkeys import ClientKey, env_key
from lip.middlewares import admin_refusal, error_reply, is_admin
from lip.observability import OBSERVABILITY
from lip.runtime import Runtime, runtime_of


def known_keys(runtime: Runtime) -> list[ClientKey]:
    """The env keys (``key1``, ...) and the keys file's named keys."""
    return [env_key(number) for number in range(1, len(runtime.client_keys) + 1)] + list(runtime.key_index.keys)


async def key_report(http: web.Request) -> dict[str, Any]:
    runtime = runtime_of(http)
    used = http.app[OBSERVABILITY].key_usage.by_key()
    keys = []
    for key in known_keys(runtime):
        limits = {"rpm": key.rpm, "tpm": key.tpm, "tokens_per_day": key.tokens_per_day}
        entry: dict[str, Any] = {
            "name": key.name,
            "source": "keys file" if key.sha256 else "environment",
            "admin": key.admin,
            "models": list(key.models) or None,
            "limits": {**limits, "max_concurrent": key.max_concurrent},
            "usage": used.pop(key.name, None),
        }
        if key.limited:
            entry["windows"] = await runtime.quotas.state(key)
        keys.append(entry)
    shared = runtime.store.shared
    return {"keys": keys, "windows_shared": shared, "usage_scope": "this process since it started"}


async def usage_endpoint(http: web.Request) -> web.Response:
    if not is_admin(http):
        return error_reply(http, admin_refusal(http))
    return web.Response(body=orjson.dumps(await key_report(http)), content_type="application/json")
