"""GET /v1/models: every model of every enabled backend, as ``prefix:native_id``, in the client's list shape."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from lip.inventory import ModelEntry
from lip.middlewares import key_of
from lip.runtime import runtime_of

STARTED = int(time.time())


def _openai(prefix: str, entry: ModelEntry) -> dict[str, Any]:
    model = {
        "id": f"{prefix}:{entry.native_id}",
        "object": "model",
        "created": entry.created or STARTED,
        "owned_by": entry.owned_by or prefix,
    }
    caps = entry.capabilities  # lip's additions, when known (clients that do not read them ignore them)
    if caps.context_window is not None:
        model["context_window"] = caps.context_window
    if caps.max_output_tokens is not None:
        model["max_output_tokens"] = caps.max_output_tokens
    return model


def _anthropic(prefix: str, entry: ModelEntry) -> dict[str, Any]:
    created = datetime.fromtimestamp(entry.created or STARTED, tz=UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "model",
        "id": f"{prefix}:{entry.native_id}",
        "display_name": entry.display_name or entry.native_id,
        "created_at": created,
        "lifecycle": "active",  # required by the API's ModelInfo; lip lists only models it can call
        "max_input_tokens": entry.capabilities.context_window,  # ModelInfo's own fields; null when unknown
        "max_tokens": entry.capabilities.max_output_tokens,
    }


async def list_models(http: web.Request) -> web.Response:
    runtime = runtime_of(http)
    listing = runtime.inventory.listing()
    key = key_of(http)
    if key is not None and key.models:  # a key lists only the models it may use
        listing = [(prefix, entry) for prefix, entry in listing if key.allows(prefix, entry.native_id)]
    if "anthropic-version" in http.headers:
        data = [_anthropic(prefix, entry) for prefix, entry in listing]
        body: dict[str, Any] = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    else:
        body = {"object": "list", "data": [_openai(prefix, entry) for prefix, entry in listing]}
    return web.Response(body=orjson.dumps(body), content_type="application/json")
