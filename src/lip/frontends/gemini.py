"""Gemini clients: ``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent`` (SSE with ``?alt=sse``,
else Google's JSON-array stream), ``:countTokens``, ``GET /v1beta/models`` (paged) and ``/v1beta/models/{model}``;
the ``/v1`` paths as well.

The model is in the path, and a selector has colons of its own (``provider123:some-model``): the name splits at its
last colon, before the method. The frontend hands the codec the client's body with two keys of lip's, ``model`` and
``stream``, which the codec strips (``facts.LIP_KEYS``).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from lip.canonical.request import Request
from lip.errors import InvalidRequest, LipError, NotFound
from lip.frontends.endpoint import (
    Context,
    Endpoint,
    Frontend,
    allowed_targets,
    error_response,
    read_json,
    route_of,
)
from lip.frontends.models import listed_model, listed_models
from lip.middlewares import key_of
from lip.protocols.codec import StreamFraming
from lip.protocols.gemini import GeminiCodec, facts
from lip.protocols.gemini.jsonarray import ArrayFraming
from lip.requestid import request_id
from lip.runtime import runtime_of
from lip.tokenizer import prompt_tokens

DEFAULT_PAGE = 50  # the API's default page size
MAX_PAGE = 1000


def split_name(name: str) -> tuple[str, str]:
    """``<model>:<method>`` -> (model, method), at the last colon; a 404 when either is missing."""
    model, colon, method = name.rpartition(":")
    model = model.removeprefix(facts.MODEL_PREFIX)
    if not colon or not model or method not in (facts.GENERATE, facts.STREAM, facts.COUNT):
        raise NotFound(
            f"no such method: POST models/{name}; call models/<model>:{facts.GENERATE}, :{facts.STREAM} or "
            f":{facts.COUNT}"
        )
    return model, method


class GeminiEndpoint(Endpoint[Context]):
    def arrived(self, http: web.Request, body: Any) -> Any:
        """The model and the stream flag from the path, beside the client's own fields."""
        if not isinstance(body, dict):
            return body  # the codec refuses it
        model, method = split_name(http.match_info["name"])
        return {**body, "model": model, "stream": method == facts.STREAM}

    def decode_full(self, head: Request, ctx: Context) -> Request:
        """The head's raw body is the client's own (lip's keys gone): they are put back for the whole decode."""
        body = {**head.raw, "model": head.model, "stream": head.stream}
        return self.codec.decode_request(body, ctx.client_headers)

    def framing(self, http: web.Request) -> StreamFraming | None:
        return None if http.query.get("alt") == "sse" else ArrayFraming()


class GeminiFrontend:
    def __init__(self) -> None:
        self.codec = GeminiCodec()
        self.endpoint = GeminiEndpoint(self.codec, Context)

    def _error(self, http: web.Request, error: LipError) -> web.Response:
        error.request_id = request_id(http)
        return error_response(self.codec, error)

    async def call(self, http: web.Request) -> web.StreamResponse:
        try:
            _, method = split_name(http.match_info["name"])
        except LipError as exc:
            return self._error(http, exc)
        if method == facts.COUNT:
            return await self.count_tokens(http)
        return await self.endpoint.handle(http)

    async def count_tokens(self, http: web.Request) -> web.Response:
        """Exact from a Gemini upstream (the client's body, its model the native one), estimated with the
        backend's tokenizer for any other; the plan's leaves in failover order, as for generateContent
        (lip.routing.router)."""
        runtime = runtime_of(http)
        try:
            body = await read_json(http, runtime.settings.config.server.max_body_bytes)
            request = self._count_request(http, body)
            router = runtime.router
            targets = allowed_targets(key_of(http), router.plan(route_of(http, request.model)))
            target, counted = await router.count_tokens(targets, request, {})
        except LipError as exc:
            return self._error(http, exc)
        if counted is None:  # estimated with the backend's tokenizer (lip.tokenizer)
            counted = {"totalTokens": prompt_tokens(request, target.backend.spec.tokenizer)}
        return web.Response(
            body=orjson.dumps(counted), content_type="application/json", headers={"x-lip-backend": target.leaf}
        )

    def _count_request(self, http: web.Request, body: Any) -> Request:
        """A countTokens body (``contents``, or a whole ``generateContentRequest``) as a canonical request whose raw
        body is the client's own (what a Gemini upstream counts)."""
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object")
        model, _ = split_name(http.match_info["name"])
        return self.codec.decode_count_tokens({**body, "model": model, "stream": False}, http.headers)

    async def models(self, http: web.Request) -> web.Response:
        """One page of lip's model list (``pageSize``, ``pageToken``), each ``models/<prefix:model>``."""
        size_text = http.query.get("pageSize", "")
        try:
            size = int(size_text) if size_text else DEFAULT_PAGE
        except ValueError:
            return self._error(http, InvalidRequest(f"pageSize {size_text!r} is not an integer", param="pageSize"))
        size = min(max(size, 1), MAX_PAGE) if size > 0 else DEFAULT_PAGE
        body = facts.render_page(listed_models(http), size, http.query.get("pageToken", ""))
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def model(self, http: web.Request) -> web.Response:
        try:
            found = listed_model(http, http.match_info["name"].removeprefix(facts.MODEL_PREFIX))
        except LipError as exc:
            return self._error(http, exc)
        return web.Response(body=orjson.dumps(facts.render_model(found)), content_type="application/json")


def frontend() -> Frontend:
    gemini = GeminiFrontend()
    return Frontend(gemini.codec, {"call": gemini.call, "models": gemini.models, "model": gemini.model})
