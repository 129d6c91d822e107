"""GET /v1/models: every model of every enabled backend, as ``prefix:native_id``, in the client's list shape (its
codec's ``ModelList``)."""

from __future__ import annotations

import time

import orjson
from aiohttp import web

from lip.inventory import ModelEntry
from lip.middlewares import key_of
from lip.protocols.codec import ListedModel
from lip.protocols.registry import model_list_for
from lip.runtime import runtime_of

STARTED = int(time.time())


def _listed(prefix: str, entry: ModelEntry) -> ListedModel:
    caps = entry.capabilities
    return ListedModel(
        id=f"{prefix}:{entry.native_id}",
        created=entry.created or STARTED,
        owned_by=entry.owned_by or prefix,
        display_name=entry.display_name or entry.native_id,
        context_window=caps.context_window,
        max_output_tokens=caps.max_output_tokens,
    )


async def list_models(http: web.Request) -> web.Response:
    runtime = runtime_of(http)
    listing = runtime.inventory.listing()
    key = key_of(http)
    if key is not None and key.models:  # a key lists only the models it may use
        listing = [(prefix, entry) for prefix, entry in listing if key.allows(prefix, entry.native_id)]
    body = model_list_for(http.headers).render([_listed(prefix, entry) for prefix, entry in listing])
    return web.Response(body=orjson.dumps(body), content_type="application/json")
