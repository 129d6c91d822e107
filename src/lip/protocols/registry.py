"""Every wire protocol lip speaks, by name: the one table of codecs. Modules outside ``lip.protocols`` look a codec
up by a name they were given (a backend's protocol, a request's), never by one they spell."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

from lip.protocols.codec import Codec, ModelList

# protocol name -> "module:Class" of its codec; a protocol whose module is missing is served as 501. The first is the
# shape of lip's own paths (a refusal of /v1/models, /healthz, ...).
CODEC_CLASSES = {
    "openai_chat": "lip.protocols.openai_chat:OpenAIChatCodec",
    "openai_responses": "lip.protocols.openai_responses:OpenAIResponsesCodec",
    "anthropic_messages": "lip.protocols.anthropic_messages:AnthropicMessagesCodec",
    "gemini": "lip.protocols.gemini:GeminiCodec",
}


def load_codec(protocol: str) -> Codec | None:
    """A new codec of ``protocol`` (None when lip has none)."""
    target = CODEC_CLASSES.get(protocol)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    codec: Codec = getattr(module, class_name)()
    return codec


@functools.cache
def codec_of(protocol: str) -> Codec | None:
    """The shared codec of ``protocol``, to read its facts (None when lip has none)."""
    return load_codec(protocol)


@functools.cache
def codecs() -> tuple[Codec, ...]:
    """Every codec lip has, in the table's order."""
    return tuple(codec for codec in map(codec_of, CODEC_CLASSES) if codec is not None)


@functools.cache
def _routes() -> tuple[tuple[tuple[str, ...], Codec], ...]:
    return tuple((codec.routes, codec) for codec in codecs() if codec.routes)


def codec_for_path(path: str) -> Codec:
    """The codec whose clients call ``path`` (its routes and their sub-paths); the first codec for any other path."""
    for routes, codec in _routes():
        if path.startswith(routes):
            return codec
    return codecs()[0]


@functools.cache
def _model_lists() -> tuple[ModelList, ...]:
    return tuple(dict.fromkeys(codec.model_list for codec in codecs() if codec.model_list is not None))


def model_list_for(headers: Mapping[str, str]) -> ModelList:
    """The model-list shape a client asks for by a header (Anthropic's clients send ``anthropic-version``), else the
    one no header asks for (OpenAI's)."""
    shapes = _model_lists()
    for shape in shapes:
        if any(name in headers for name in shape.headers):
            return shape
    return next(shape for shape in shapes if not shape.headers)


@functools.cache
def client_key_headers() -> tuple[str, ...]:
    """Every header a client of some protocol sends its key in, besides ``Authorization: Bearer``."""
    return tuple(dict.fromkeys(name for codec in codecs() for name in codec.client_key_headers))


@functools.cache
def client_key_params() -> tuple[str, ...]:
    """Every query parameter a client of some protocol sends its key in."""
    return tuple(dict.fromkeys(name for codec in codecs() for name in codec.client_key_params))


@functools.cache
def forwarded_client_headers() -> tuple[str, ...]:
    """Every client header some protocol's upstream should see as the client sent it (its dialect's forwarded and
    defaulted headers: Anthropic's ``anthropic-version`` and ``anthropic-beta``); never a key."""
    names = (
        name
        for codec in codecs()
        for name in (*(default for default, _ in codec.dialect.default_headers), *codec.dialect.forwarded_headers)
    )
    return tuple(dict.fromkeys(names))


def says_model_missing(body: Any) -> bool:
    """Whether an upstream error body says, in some protocol's error shape, that the model does not exist."""
    return any(codec.dialect.model_missing(body) for codec in codecs())
