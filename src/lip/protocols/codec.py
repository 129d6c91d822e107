"""What every wire-protocol codec provides, in both directions (frontend side and backend side), and the small
descriptors through which it tells the rest of lip its protocol's facts.

Modules outside ``lip.protocols`` never compare a protocol's name: an HTTP backend asks the codec's ``HttpDialect``
where to call and how to authenticate, the passthrough relay reads a stream by the codec's ``RelayRules``, a
selector's overrides are spelled by its ``raw_params``, a refusal takes its ``error_body`` for a path among its
``routes``, and ``GET /v1/models`` answers in its ``model_list`` shape. Adding a protocol is one codec package that
fills these in, one thin frontend and preset rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from lip.canonical.collect import Response
from lip.canonical.events import Event, Usage
from lip.canonical.request import Request
from lip.errors import LipError
from lip.protocols.sse import SSEEvent

Listing = dict[str, Any]  # a model list as a client (or lip's discovery) reads it
BodyFix = Callable[[dict[str, Any]], dict[str, Any]]  # an encoded request body -> the body to send (may be the same)


class Spelling(Protocol):
    """A backend's word on how its provider spells fields its protocol has several spellings of (a row's settings,
    else its preset's: ``lip.config.load.BackendSpec``). Read by the protocol whose fields they name."""

    @property
    def max_tokens_field(self) -> str: ...

    @property
    def reasoning_field(self) -> str: ...


def _common_spelling(spelling: Spelling) -> BodyFix | None:
    return None


def _says_nothing(body: Any) -> bool:
    return False


def error_code_in(body: Any, codes: frozenset[str]) -> bool:
    """Whether an upstream error body's ``error`` object has a ``code`` or ``type`` among ``codes`` (the shape the
    OpenAI and Anthropic protocols share)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    return any(isinstance(value, str) and value in codes for value in (error.get("code"), error.get("type")))


def _no_rejection(status: int, body: Any) -> bool:
    return False


def _entry_by_id(entry: Any) -> dict[str, Any] | None:
    """A listed model whose ``id`` names it, as it is (lip's discovery reads ``id`` and the neutral fields)."""
    return entry if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None


@dataclass(frozen=True, slots=True)
class HttpDialect:
    """How a protocol is spoken over HTTP: the call's path (from the model and the stream flag), how a key is sent,
    which client headers go along, where the model list is and how it pages, and how a provider's spelling of a
    translated body differs from the codec's. Paths are joined to a backend's base URL by the backend
    (``lip.config.load.join_url``)."""

    call_path: str  # may name ``{model}`` (quoted into the path) for protocols that put the model in the URL
    models_path: str
    stream_call_path: str | None = None  # where a stream is asked for, when not at ``call_path``
    auth: str = "bearer"  # "bearer" (Authorization: Bearer <key>) or the header that carries the key
    forwarded_headers: tuple[str, ...] = ()  # client headers passed upstream as they came, when sent
    default_headers: tuple[tuple[str, str], ...] = ()  # (name, value) sent when the client did not send its own
    models_key: str = "data"  # the array of models in a model list
    models_page: tuple[str, int] | None = None  # paged lists: (size parameter, largest page size)
    models_cursor: tuple[str, str, str] | None = None  # (parameter, field holding its next value, "more" flag field)
    count_tokens_path: str | None = None  # the token-counting call, where the protocol has one (may name {model})
    # a backend's fix of every translated body, asked once per backend; None: it sends the codec's body as it is
    respelling: Callable[[Spelling], BodyFix | None] = _common_spelling
    # whether an upstream's error body says the model does not exist there (a 404 says so in any protocol)
    model_missing: Callable[[Any], bool] = _says_nothing
    # one entry of the provider's model list -> lip's discovery entry (``id``, and ``display_name``,
    # ``max_input_tokens``, ``max_tokens`` where known), or None for an entry that is not a model lip can call
    model_entry: Callable[[Any], dict[str, Any] | None] = _entry_by_id
    # whether an error answer (status, parsed body) says the key itself was refused, beyond a 401 (Google answers
    # an invalid key 400 API_KEY_INVALID): the backend then disables that key and tries the next
    key_rejected: Callable[[int, Any], bool] = _no_rejection
    backend_fields: tuple[str, ...] = ()  # backend config fields only this protocol reads (others refuse them)

    @property
    def fixed(self) -> bool:
        """Whether every call goes to one URL (it can then be joined once)."""
        return "{model}" not in self.call_path and self.stream_call_path is None

    def call_path_for(self, model: str, stream: bool) -> str:
        path = self.stream_call_path if stream and self.stream_call_path is not None else self.call_path
        return _with_model(path, model)

    def count_tokens_path_for(self, model: str) -> str | None:
        path = self.count_tokens_path
        return _with_model(path, model) if path is not None else None

    def add_headers(
        self, headers: dict[str, str], key: str | None, auth: str, client_headers: Mapping[str, str]
    ) -> None:
        """The protocol's headers, the client's forwarded ones and the key (sent as ``auth`` says) into
        ``headers``."""
        for name, default in self.default_headers:
            headers[name] = client_headers.get(name, default)
        for name in self.forwarded_headers:
            if name in client_headers:
                headers[name] = client_headers[name]
        if key is not None:
            if auth == "bearer":
                headers["Authorization"] = "Bearer " + key
            else:
                headers[auth] = key

    def first_models_params(self) -> dict[str, str] | None:
        return {self.models_page[0]: str(self.models_page[1])} if self.models_page is not None else None

    def models_of(self, body: Any) -> list[Any] | None:
        """The model list's array (a bare array is taken as it is); None when it has none."""
        data = body.get(self.models_key) if isinstance(body, dict) else body
        return data if isinstance(data, list) else None

    def next_models_params(self, body: Any, params: dict[str, str] | None) -> dict[str, str] | None:
        """The parameters of the next page of a model list, or None when ``body`` was the last page."""
        if params is None or self.models_cursor is None or not isinstance(body, dict):
            return None
        name, value_field, more_field = self.models_cursor
        value = body.get(value_field)
        if (more_field and body.get(more_field) is not True) or not isinstance(value, str) or not value:
            return None
        return {**params, name: value}


def _with_model(path: str, model: str) -> str:
    return path.replace("{model}", quote(model, safe="")) if "{model}" in path else path


@dataclass(frozen=True, slots=True)
class StopFix:
    """How a protocol says "tools were called" and the plain stop to correct once they were (a relayed stream)."""

    tools_hint: bytes  # cheap substring test before the pattern
    tools: re.Pattern[bytes]
    stop_hint: bytes
    stop: re.Pattern[bytes]
    replacement: bytes


def _no_body_fix(body: dict[str, Any]) -> bool:
    return False


def _no_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    return None, False


@dataclass(frozen=True, slots=True)
class RelayRules:
    """What the passthrough relay (``lip.protocols.relay``) watches for in a same-protocol stream or body."""

    terminal_markers: tuple[bytes, ...] = ()  # bytes only a finished stream (or an error) holds; none: not checked
    error_markers: tuple[bytes, ...] = ()  # bytes only an error event holds
    stop_fix: StopFix | None = None
    fix_body_stop: Callable[[dict[str, Any]], bool] = _no_body_fix  # the same fix on a whole JSON body
    usage_field: str = "usage"  # the key whose object holds usage, in stream events and whole bodies
    answers_field: str | None = None  # the request field asking for several answers (the stop fix is then skipped)
    # the usage objects found, in order -> their usage (None: none) and whether a value was not a count (dropped)
    read_usage: Callable[[list[dict[str, Any]]], tuple[Usage | None, bool]] = _no_usage


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One model of ``GET /v1/models``, protocol-neutral; ``ModelList.render`` gives it the client's shape."""

    id: str
    created: int
    owned_by: str
    display_name: str
    context_window: int | None = None
    max_output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ModelList:
    """A protocol's model-list shape (``render``: the list, ``render_one``: one model) and the request headers by
    which its clients ask for it on lip's shared ``GET /v1/models`` (none: the default shape)."""

    render: Callable[[Sequence[ListedModel]], dict[str, Any]]
    render_one: Callable[[ListedModel], dict[str, Any]]
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP route a protocol's clients call: method, path (aiohttp's syntax) and the operation its frontend
    serves there (``generate``, ``count_tokens``, ``models``, ``model``, or one of its own)."""

    method: str
    path: str
    operation: str


class StreamFraming(Protocol):
    """A streamed answer's bytes re-framed on the way to a client that asked for another framing than the SSE the
    stream encoder (or a relayed upstream) writes, e.g. Google's JSON-array stream."""

    content_type: str

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes:
        """What closes the framing once the stream ended."""
        ...


# canonical parameter -> its spellings in a raw body, each a path of keys (nested objects are made as needed); the
# first whose top key the body has is set, else the last; a parameter that is not named is spelled as it is named
RawParams = Mapping[str, tuple[tuple[str, ...], ...]]


class StreamEncoder(Protocol):
    """Canonical events -> the client's SSE bytes (frontend side). One per response; holds the stream state."""

    def encode(self, event: Event) -> bytes: ...

    def finish(self) -> bytes:
        """Bytes that close the stream once the events are exhausted (e.g. ``data: [DONE]``)."""
        ...


class StreamDecoder(Protocol):
    """The upstream's SSE events -> canonical events (backend side). One per upstream response."""

    def feed(self, sse: SSEEvent) -> list[Event]: ...

    def finish(self) -> list[Event]:
        """The upstream stream ended: emit what is still due (e.g. a normalised MessageEnd)."""
        ...


class Codec(Protocol):
    """One wire protocol, both directions. Frontends and backends of that protocol share it."""

    name: str
    dialect: HttpDialect
    relay: RelayRules
    raw_params: RawParams  # how a selector's overrides are spelled in a same-protocol body (max tokens, effort)
    routes: tuple[str, ...]  # the paths (and their sub-paths) its clients call: a refusal there is in its shape
    served: tuple[Route, ...]  # the routes lip serves for its clients (``lip.server`` adds them)
    client_key_headers: tuple[str, ...]  # headers its clients send a key in, besides Authorization: Bearer
    client_key_params: tuple[str, ...]  # query parameters its clients send a key in (never logged)
    model_list: ModelList | None  # its shape of GET /v1/models, when it has one

    # frontend side: client request in, client response out
    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        """Cheap: model, stream flags and the raw body only; enough to route and to pass through."""
        ...

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request: ...

    def stream_encoder(self, request: Request) -> StreamEncoder: ...

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]: ...

    def error_body(self, error: LipError) -> dict[str, Any]: ...

    def error_frame(self, error: LipError) -> bytes:
        """A mid-stream error in this protocol's SSE shape."""
        ...

    # backend side: canonical request out, upstream response in
    def encode_request(self, request: Request, model: str) -> dict[str, Any]: ...

    def stream_decoder(self, request: Request) -> StreamDecoder: ...

    def decode_response(self, body: Any, request: Request) -> list[Event]: ...

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        """(message, error type) from an upstream error body of this protocol; tolerant of any shape."""
        ...

    # passthrough: same protocol on both sides
    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]: ...
