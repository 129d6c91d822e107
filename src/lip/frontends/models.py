"""GET /v1/models: every model of every enabled backend, as ``prefix:native_id``, in the client's list shape (its
codec's ``ModelList``); GET /v1/models/{id}: one of them. A protocol with its own list route (Gemini's
``/v1beta/models``) renders the same listing through ``listed_models``."""

from __future__ import annotations

import time

import orjson
from aiohttp import web

from lip.errors import ModelNotFound
from lip.inventory import ModelEntry
from lip.middlewares import error_reply, key_of
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


def listed_models(http: web.Request) -> list[ListedModel]:
    """The models the request's client key may use (every model without keys, or with a key that lists none)."""
    runtime = runtime_of(http)
    listing = runtime.inventory.listing()
    key = key_of(http)
    if key is not None and key.models:  # a key lists only the models it may use
        listing = [(prefix, entry) for prefix, entry in listing if key.allows(prefix, entry.native_id)]
    return [_listed(prefix, entry) for prefix, entry in listing]


def listed_model(http: web.Request, model_id: str) -> ListedModel:
    """The listed model ``model_id`` names (``prefix:native_id``); a 404 naming it otherwise."""
    found = next((m for m in listed_models(http) if m.id == model_id), None)
    if found is None:
        raise ModelNotFound(f"the model '{model_id}' is not in lip's model list; GET the model list for the ids")
    return found


async def list_models(http: web.Request) -> web.Response:
    body = model_list_for(http.headers).render(listed_models(http))
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def get_model(http: web.Request) -> web.Response:
    try:
        found = listed_model(http, http.match_info["name"])
    except ModelNotFound as exc:
        return error_reply(http, exc)
    body = model_list_for(http.headers).render_one(found)
    return web.Response(body=orjson.dumps(body), content_type="application/json")
