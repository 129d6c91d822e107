"""POST /v1/messages and POST /v1/messages/count_tokens (Anthropic Messages clients)."""

from __future__ import annotations

import orjson
from aiohttp import web

from lip.canonical.request import Request
from lip.errors import LipError
from lip.frontends.endpoint import (
    Context,
    Endpoint,
    Frontend,
    allowed_targets,
    error_response,
    forwarded_headers,
    read_json,
    route_of,
)
from lip.middlewares import key_of
from lip.protocols.anthropic_messages import AnthropicMessagesCodec
from lip.protocols.anthropic_messages.blocks import unverifiable_thinking, without_unverifiable_thinking
from lip.requestid import request_id
from lip.runtime import runtime_of
from lip.tokenizer import prompt_tokens


class MessagesEndpoint(Endpoint[Context]):
    def passthrough_allowed(self, request: Request, ctx: Context) -> bool:
        """Thinking from another kind of backend (a failover, a model switch) is translated, which drops it."""
        return not unverifiable_thinking(request.raw.get("messages"))


def frontend() -> Frontend:
    endpoint = MessagesEndpoint(AnthropicMessagesCodec(), Context)
    return Frontend(endpoint.codec, {"generate": endpoint.handle, "count_tokens": count_tokens})


async def count_tokens(http: web.Request) -> web.Response:
    """Exact from an Anthropic upstream (forwarded with the native model), estimated with the backend's tokenizer
    for any other (lip.tokenizer); the plan's leaves in failover order, as for a message (lip.routing.router)."""
    codec = AnthropicMessagesCodec()
    runtime = runtime_of(http)
    try:
        body = await read_json(http, runtime.settings.config.server.max_body_bytes)
        request = codec.decode_count_tokens(body, http.headers)
        if unverifiable_thinking(body["messages"]):  # thinking from another provider: an upstream would refuse it
            request.raw = {**body, "messages": without_unverifiable_thinking(body["messages"])}
        router = runtime.router
        targets = allowed_targets(key_of(http), router.plan(route_of(http, request.model)))
        target, counted = await router.count_tokens(targets, request, forwarded_headers(http))
    except LipError as exc:
        exc.request_id = request_id(http)
        return error_response(codec, exc)
    if counted is None:
        counted = {"input_tokens": prompt_tokens(request, target.backend.spec.tokenizer)}
    return web.Response(
        body=orjson.dumps(counted), content_type="application/json", headers={"x-lip-backend": target.leaf}
    )
