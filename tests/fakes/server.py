"""`FakeProvider`: a real aiohttp server on 127.0.0.1 that speaks OpenAI Chat, OpenAI Responses, Anthropic
Messages, Gemini generateContent and model listing, answering from a FIFO script and recording every request it
receives.

Routes match by path suffix with any prefix (`/v1/chat/completions`, `/x/y/chat/completions`, `/responses`,
`/v1/messages`, `/v1/messages/count_tokens`, `/models`, …), so `received[i].path` shows how a base URL was joined.
Gemini's are `…/models/{model}:generateContent` (`:streamGenerateContent`, `:countTokens`), and `GET …/models` or
`…/models/{model}` with Google's key header or `?key=` (`tests.fakes.gemini`).
Order of checks per request: route → API key (when `keys` is set) → body JSON → protocol validation →
`strict_models` → pop the next scripted action (when the script is empty: `responder(view)`, or `Turn()`) → answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from tests.fakes.anthropic_messages import AnthropicMessages
from tests.fakes.delivery import deliver, error_response, fail_response, static_response
from tests.fakes.endpoint import Endpoint
from tests.fakes.errors import ApiError, Family, anthropic_error, google_error, openai_error
from tests.fakes.gemini import SSE_KEY, GeminiGenerate
from tests.fakes.hostile import deliver_hostile
from tests.fakes.models import anthropic_models, gemini_model, gemini_models, openai_models
from tests.fakes.openai_chat import OpenAIChat
from tests.fakes.openai_responses import OpenAIResponses
from tests.fakes.script import (
    Action,
    Fail,
    Hostile,
    HtmlErrorPage,
    NonObjectBody,
    OkWithErrorBody,
    Redirect,
    SSEFramedError,
    Stall,
    Turn,
)
from tests.fakes.view import Protocol, RequestView, request_view
from tests.fakes.wire import json_bytes

__all__ = ["DEFAULT_MODELS", "FakeProvider", "ModelsBehaviour", "Received", "Responder"]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-test", "claude-test-mini")
ModelsBehaviour = Fail | Stall | HtmlErrorPage | OkWithErrorBody | Redirect | NonObjectBody | SSEFramedError | None
Responder = Callable[[RequestView], Action]
Route = Literal["chat", "responses", "messages", "count_tokens", "models", "gemini", "gemini_count", "gemini_model"]
GEMINI_METHODS: dict[str, Route] = {
    "generateContent": "gemini",
    "streamGenerateContent": "gemini",
    "countTokens": "gemini_count",
}
_GOOGLE_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other "
    "form of API consumer identity to call this API."
)

_ROUTES: tuple[tuple[str, Route], ...] = (
    ("/messages/count_tokens", "count_tokens"),
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/messages", "messages"),
    ("/models", "models"),
)
_INVALID_JSON = object()
_OPENAI_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
    "(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys."
)
_OPENAI_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library "
    "correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


@dataclass(frozen=True, slots=True)
class Received:
    """One request as the fake saw it; `body` is the parsed JSON, or None when absent or not JSON."""

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: Any
    raw: bytes


def _route(path: str) -> Route | None:
    path = path.rstrip("/")
    _, found, name = path.rpartition("/models/")
    if found:
        _, colon, method = name.rpartition(":")
        if colon and method in GEMINI_METHODS:
            return GEMINI_METHODS[method]
    return next((route for suffix, route in _ROUTES if path.endswith(suffix)), None)


def _gemini_name(path: str) -> tuple[str, str]:
    """(model, method) of a Gemini path; the method is "" for a model's own path."""
    name = path.rstrip("/").rpartition("/models/")[2]
    model, colon, method = name.rpartition(":")
    return (model, method) if colon and method in GEMINI_METHODS else (name, "")


def _google_client(headers: Any, query: Any, path: str = "") -> bool:
    """A Google client: its key header or ``?key=``, its SDK's header, or the Gemini API's version in the path."""
    return "x-goog-api-key" in headers or "key" in query or "x-goog-api-client" in headers or "/v1beta/" in path


def _masked(key: str) -> str:
    return key[:3] + "*" * 8 + key[-4:] if len(key) > 8 else "*" * len(key)


class FakeProvider:
    """A scripted provider. Set `script`, `keys`, `models`, `models_behaviour`, `strict_models`,
    `chat_strict_messages`, `chat_reasoning_field`, `chat_requires_reasoning` at any time; `responder` answers
    (from a `RequestView` of the request) whenever the script is empty."""

    def __init__(
        self,
        *,
        models: list[str] | None = None,
        keys: dict[str, Fail | None] | None = None,
        strict_models: bool = False,
    ) -> None:
        self.script: list[Action] = []
        self.keys: dict[str, Fail | None] = dict(keys or {})
        self.models: list[str] = list(models) if models is not None else list(DEFAULT_MODELS)
        self.models_behaviour: ModelsBehaviour = None
        self.models_page_limit = 1000  # the largest Anthropic `limit`; lower it to make a test page through
        self.strict_models = strict_models
        self.responder: Responder | None = None
        self.received: list[Received] = []
        self.disconnects = 0
        self.client_gone = asyncio.Event()
        self.in_flight = 0
        self._chat = OpenAIChat()
        self._responses = OpenAIResponses()
        self._messages = AnthropicMessages()
        self._gemini = GeminiGenerate()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False

    @property
    def chat_strict_messages(self) -> bool:
        """Chat: refuse a message key the OpenAI API does not define (``reasoning_content``), as OpenAI does."""
        return self._chat.strict_messages

    @chat_strict_messages.setter
    def chat_strict_messages(self, value: bool) -> None:
        self._chat.strict_messages = value

    @property
    def chat_reasoning_field(self) -> str:
        """Chat: the field reasoning is sent in (``reasoning_content``, or OpenRouter's ``reasoning``), and the one
        ``chat_requires_reasoning`` checks."""
        return self._chat.reasoning_field

    @chat_reasoning_field.setter
    def chat_reasoning_field(self, value: str) -> None:
        self._chat.reasoning_field = value

    @property
    def chat_requires_reasoning(self) -> bool:
        """Chat: refuse an assistant tool-call turn without its reasoning in ``chat_reasoning_field`` with
        DeepSeek's 400, as DeepSeek, Kimi and GLM do in thinking mode."""
        return self._chat.requires_reasoning

    @chat_requires_reasoning.setter
    def chat_requires_reasoning(self, value: bool) -> None:
        self._chat.requires_reasoning = value

    # -- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash, no path)."""
        if self._port is None:
            raise RuntimeError("FakeProvider is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> FakeProvider:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeProvider:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- conveniences for tests ----------------------------------------------------------------------------------

    def queue(self, *actions: Action) -> None:
        """Append actions to the script."""
        self.script.extend(actions)

    @property
    def last(self) -> Received:
        return self.received[-1]

    def requests_to(self, suffix: str) -> list[Received]:
        """Received requests whose path ends with `suffix` (e.g. "/chat/completions")."""
        return [r for r in self.received if r.path.rstrip("/").endswith(suffix)]

    # -- request handling ----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = _INVALID_JSON
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        self.received.append(
            Received(
                request.method,
                request.path,
                MultiDictProxy(MultiDict(request.query)),
                headers,
                None if body is _INVALID_JSON else body,
                raw,
            )
        )
        route = _route(request.path)
        google = _google_client(headers, request.query, request.path)
        if route is None and request.method == "GET" and "/models/" in request.path:
            route = "gemini_model" if google else None
        anthropic = route in ("messages", "count_tokens") or (route == "models" and "anthropic-version" in headers)
        gemini = route in ("gemini", "gemini_count", "gemini_model") or (route == "models" and google)
        family: Family = "gemini" if gemini else "anthropic" if anthropic else "openai"
        self.in_flight += 1
        try:
            return await self._dispatch(request, route, family, body)
        except ApiError as err:
            return error_response(family, err)
        except asyncio.CancelledError:
            self._client_left()
            raise
        except ConnectionResetError:
            self._client_left()
            return web.Response(status=499)  # never reaches the client; aiohttp handles the dead connection
        finally:
            self.in_flight -= 1

    def _client_left(self) -> None:
        if not self._closing:
            self.disconnects += 1
            self.client_gone.set()

    async def _dispatch(
        self, request: web.Request, route: Route | None, family: Family, body: Any
    ) -> web.StreamResponse:
        if route is None:
            raise _not_found(family, request)
        rejection = self._check_key(request.headers, family, request.query)
        if rejection is not None:
            return fail_response(family, rejection)
        if route == "models":
            return await self._list_models(request, family)
        if route == "gemini_model":
            return self._gemini_model(request)
        if request.method != "POST":
            raise _not_found(family, request)
        if body is None or body is _INVALID_JSON:
            if family == "gemini":
                raise google_error(400, "Invalid JSON payload received. Unexpected token.")
            raise (
                openai_error(400, _OPENAI_BAD_JSON)
                if family == "openai"
                else anthropic_error(400, "There was an error parsing the body of your request as JSON")
            )
        if family == "gemini":
            return await self._gemini_call(request, route, body)
        if route == "count_tokens":
            with _mistyped(family):
                body = self._messages.validate(body, request.headers, count_tokens=True)
            self._check_model(family, body)
            return web.Response(body=json_bytes(self._messages.count_tokens(body)), content_type="application/json")
        endpoints: dict[str, Endpoint] = {"chat": self._chat, "responses": self._responses, "messages": self._messages}
        endpoint = endpoints[route]
        with _mistyped(family):
            body = endpoint.validate(body, request.headers)
        self._check_model(family, body)
        action = self.script.pop(0) if self.script else self._respond(route, body)
        if isinstance(action, Hostile):
            return await deliver_hostile(request, endpoint, body, action)
        return await deliver(request, endpoint, body, action)

    async def _gemini_call(self, request: web.Request, route: Route | None, body: Any) -> web.StreamResponse:
        model, method = _gemini_name(request.path)
        with _mistyped("gemini"):
            if route == "gemini_count":
                counted = self._gemini.count_tokens(body)
            else:
                body = self._gemini.validate(body, request.headers)
        self._check_model("gemini", {"model": model})
        if route == "gemini_count":
            return web.Response(body=json_bytes(counted), content_type="application/json")
        stream = method == "streamGenerateContent"
        delivered = {**body, "model": model, "stream": stream, SSE_KEY: stream and request.query.get("alt") == "sse"}
        action = self.script.pop(0) if self.script else self._respond("gemini", delivered)
        if isinstance(action, Hostile):
            return await deliver_hostile(request, self._gemini, delivered, action)
        return await deliver(request, self._gemini, delivered, action)

    def _gemini_model(self, request: web.Request) -> web.Response:
        model, _ = _gemini_name(request.path)
        if model not in self.models:
            raise google_error(404, f"models/{model} is not found for API version v1beta")
        return web.Response(body=json_bytes(gemini_model(model)), content_type="application/json")

    def _respond(self, route: Route, body: dict[str, Any]) -> Action:
        if self.responder is None:
            return Turn()
        protocol: Protocol = "chat" if route == "chat" else "responses" if route == "responses" else "messages"
        if route == "gemini":
            protocol = "gemini"
        return self.responder(request_view(protocol, body))

    def _check_key(self, headers: Any, family: Family, query: Any = None) -> Fail | None:
        if not self.keys:
            return None
        if family == "gemini":
            return self._check_google_key(headers.get("x-goog-api-key") or (query or {}).get("key"))
        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        # Anthropic takes `x-api-key` or (as its current SDKs send) `Authorization: Bearer`.
        key = (headers.get("x-api-key") or bearer) if family == "anthropic" else bearer
        if not key and family == "anthropic":
            return Fail(
                401,
                {"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}},
            )
        if not key:
            return Fail(
                401,
                {"error": {"message": _OPENAI_NO_KEY, "type": "invalid_request_error", "param": None, "code": None}},
            )
        if key not in self.keys:
            if family == "anthropic":
                return Fail(401)
            message = (
                f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            return Fail(
                401,
                {
                    "error": {
                        "message": message,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        return self.keys[key]

    def _check_google_key(self, key: str | None) -> Fail | None:
        """Google answers a missing key 403 and a wrong one 400 INVALID_ARGUMENT (reason API_KEY_INVALID)."""
        if not key:
            return Fail(403, {"error": {"code": 403, "message": _GOOGLE_NO_KEY, "status": "PERMISSION_DENIED"}})
        if key not in self.keys:
            invalid = {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            }
            return Fail(400, {"error": invalid})
        return self.keys[key]

    def _check_model(self, family: Family, body: dict[str, Any]) -> None:
        model = body.get("model")
        if not self.strict_models or model in self.models:
            return
        if family == "gemini":
            raise google_error(
                404,
                f"models/{model} is not found for API version v1beta, or is not supported for generateContent. Call "
                "ListModels to see the list of available models and their supported methods.",
            )
        if family == "anthropic":
            raise anthropic_error(404, f"model: {model}")
        raise openai_error(
            404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
        )

    async def _list_models(self, request: web.Request, family: Family) -> web.StreamResponse:
        behaviour = self.models_behaviour
        if isinstance(behaviour, Stall):
            await asyncio.sleep(behaviour.seconds)
            behaviour = None
        if behaviour is not None:
            return static_response(family, behaviour)
        if family == "gemini":
            listing = gemini_models(self.models, request.query, self.models_page_limit)
        elif family == "anthropic":
            listing = anthropic_models(self.models, request.query, self.models_page_limit)
        else:
            listing = openai_models(self.models)
        return web.Response(body=json_bytes(listing), content_type="application/json")


@contextmanager
def _mistyped(family: Family) -> Iterator[None]:
    """A field of the wrong type where the fake's checks expected another is a 400, as the providers answer it (the
    fakes check the fields they use, not the whole schema: a value of an unexpected type surfaces as a TypeError)."""
    try:
        yield
    except (TypeError, AttributeError, KeyError, ValueError):
        message = "Invalid request: a field of the body has the wrong type"
        if family == "gemini":
            raise google_error(400, "Invalid JSON payload received. " + message) from None
        raise (openai_error(400, message) if family == "openai" else anthropic_error(400, message)) from None


def _not_found(family: Family, request: web.Request) -> ApiError:
    if family == "gemini":
        return google_error(404, f"Method not found: {request.method} {request.path}")
    if family == "anthropic":
        return anthropic_error(404, "Not Found")
    return openai_error(404, f"Invalid URL ({request.method} {request.path})")
