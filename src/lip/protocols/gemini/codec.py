"""Gemini generateContent codec: request decode/encode, ``alt=sse`` chunks <-> canonical events, error shape.

Gemini puts the model and the stream flag in the URL, not the body. The Gemini frontend hands ``decode_head`` /
``decode_request`` the client's body with two keys of its own, ``model`` (the selector from the path, without
``models/``) and ``stream`` (``:streamGenerateContent``); both are read and left out of ``Request.raw``, so
``with_model`` returns a body fit to send as it is (the model goes into the URL through the dialect).

Mapping decisions (see docs/protocol-mapping.md; ``parts``, ``params`` and ``schema`` hold the details):

- Usage: canonical output = ``candidatesTokenCount`` + ``thoughtsTokenCount`` (reasoning = thoughts); input =
  ``promptTokenCount`` (+ ``toolUsePromptTokenCount``), cached = ``cachedContentTokenCount``; the reverse on the
  way out, ``totalTokenCount`` their sum.
- Stops: STOP is END_TURN (TOOL_USE when calls were made: Gemini says STOP then), MAX_TOKENS, the safety family
  (SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, ...) and a blocked prompt CONTENT_FILTER, a malformed
  or unexpected call ERROR; out: END_TURN/STOP_SEQUENCE/TOOL_USE STOP, CONTENT_FILTER/REFUSAL SAFETY, ERROR OTHER.
- Thought signatures ride in minted call ids and in reasoning payloads (``wire``), so any client carries them back.
- Same-protocol translation (passthrough off) takes ``tools``, ``toolConfig``, the generation settings the
  canonical model does not hold (``topK``, ``thinkingConfig``, ...) and the other top-level fields
  (``safetySettings``, ``cachedContent``, ...) from the raw body; towards other protocols they are dropped, each
  translated request naming them in one debug line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lip.canonical.collect import Response
from lip.canonical.events import Event
from lip.canonical.request import Request
from lip.errors import InvalidRequest, LipError
from lip.protocols import fields
from lip.protocols.codec import ModelList, RawParams, Route
from lip.protocols.gemini import encoder, facts, params, parts, wire
from lip.protocols.gemini.decoder import GeminiStreamDecoder, decode_response, upstream_error

NAME = "gemini"
log = logging.getLogger("lip.protocols.gemini")

LIP_KEYS = facts.LIP_KEYS  # what the frontend adds to a client's body: the path's model, the method's stream
_HELD = ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig")
HELD_KEYS = frozenset(_HELD) | frozenset(wire.snake(k) for k in _HELD)


# ---------------------------------------------------------------- request: client -> canonical


def decode_head(body: Any, headers: Mapping[str, str]) -> Request:
    """Model, stream flag and the raw body (without lip's two keys); ``contents`` is checked here."""
    body = fields.body_object(body)
    model = fields.model_field(body)
    stream = bool(fields.optional(body, "stream", bool))
    raw = {key: value for key, value in body.items() if key not in LIP_KEYS}
    contents = wire.required(raw, "contents", list, "contents")
    if not contents:
        raise InvalidRequest("'contents' must hold at least one content", param="contents")
    return Request(
        model=model,
        messages=[],
        stream=stream,
        include_usage=True,  # every Gemini chunk may carry usageMetadata
        protocol=NAME,
        conversation_field="contents",
        raw=raw,
    )


def decode_request(body: Any, headers: Mapping[str, str]) -> Request:
    request = decode_head(body, headers)
    raw = request.raw
    dropped: set[str] = set()
    request.system = parts.decode_system(wire.get(raw, "systemInstruction"))
    request.messages = parts.decode_contents(wire.get(raw, "contents"), dropped)
    if wire.get(raw, "tools") is not None:
        request.tools = params.decode_tools(wire.get(raw, "tools"), dropped)
    request.tool_choice = params.decode_tool_choice(raw)
    request.params = params.decode_params(raw)
    inside = tuple(sorted(dropped))  # found while decoding the parts
    request.unmodelled_of = lambda raw: fields.unmodelled(raw, HELD_KEYS, {}) + params.unmodelled_config(raw) + inside
    return request


def decode_count_tokens(body: Any, headers: Mapping[str, str]) -> Request:
    """A ``:countTokens`` body: ``contents``, or a whole ``generateContentRequest`` (whose own ``model`` gives way
    to the path's). The raw body stays the client's, for a Gemini upstream's own count."""
    body = fields.body_object(body)
    inner = wire.get(body, "generateContentRequest")
    if inner is None:
        return decode_request(body, headers)
    inner = fields.expect(inner, dict, "generateContentRequest")
    lip_keys = {k: body[k] for k in LIP_KEYS if k in body}
    request = decode_request({**{k: v for k, v in inner.items() if k != "model"}, **lip_keys}, headers)
    request.raw = {k: v for k, v in body.items() if k not in LIP_KEYS}
    return request


class GeminiCodec:
    name = NAME
    dialect = facts.DIALECT
    relay = facts.RELAY
    raw_params: RawParams = facts.RAW_PARAMS
    routes: tuple[str, ...] = facts.ROUTES
    served: tuple[Route, ...] = facts.SERVED
    client_key_headers: tuple[str, ...] = facts.CLIENT_KEY_HEADERS
    client_key_params: tuple[str, ...] = facts.CLIENT_KEY_PARAMS
    model_list: ModelList | None = facts.MODEL_LIST

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_head(body, headers)

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_request(body, headers)

    def decode_count_tokens(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_count_tokens(body, headers)

    def stream_encoder(self, request: Request) -> encoder.GeminiStreamEncoder:
        return encoder.GeminiStreamEncoder(request.model, params.include_thoughts(request.raw))

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encoder.encode_response(response, request.model, params.include_thoughts(request.raw))

    def error_body(self, error: LipError) -> dict[str, Any]:
        return encoder.error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        return encoder.frame(encoder.error_body(error))

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model)

    def stream_decoder(self, request: Request) -> GeminiStreamDecoder:
        return GeminiStreamDecoder(request.custom_tool_names())

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_response(body, request.custom_tool_names())

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        """The body to send: the model goes into the URL, so only lip's own keys are taken out (if still there),
        and a count-tokens body's ``generateContentRequest`` names the native model (``models/<model>``)."""
        if any(key in body for key in LIP_KEYS):
            body = {key: value for key, value in body.items() if key not in LIP_KEYS}
        inner = body.get("generateContentRequest")
        if isinstance(inner, dict):
            body = {**body, "generateContentRequest": {**inner, "model": f"models/{model}"}}
        return body


# ---------------------------------------------------------------- request: canonical -> upstream


def _held_but_dropped(request: Request) -> tuple[str, ...]:
    """Modelled fields of another protocol's request that Gemini has no field for."""
    names: tuple[str, ...] = ("metadata",) if request.metadata else ()
    names += ("user",) if request.params.user else ()
    choice = request.tool_choice
    return names + (("parallel_tool_calls",) if choice is not None and choice.parallel is not None else ())


def _same_config(request: Request, config: dict[str, Any]) -> dict[str, Any]:
    """A Gemini client's own ``generationConfig`` under the canonical settings (its spelling of those goes); its
    ``thinkingConfig`` stays as it sent it."""
    raw = wire.get(request.raw, "generationConfig")
    if not isinstance(raw, dict):
        return config
    if wire.has(raw, "thinkingConfig"):
        config = {k: v for k, v in config.items() if k != "thinkingConfig"}
    replaced = set(config) | {wire.snake(k) for k in config}
    return {**{k: v for k, v in raw.items() if k not in replaced}, **config}


def encode_request(request: Request, model: str) -> dict[str, Any]:
    fields.log_dropped(log, request, NAME, _held_but_dropped(request))
    same = request.protocol == NAME
    if request.params.n is not None and request.params.n > 1:  # lip answers with the first candidate only
        where = "generationConfig.candidateCount" if same else "n"
        raise InvalidRequest(f"'{where}' greater than 1 cannot be honoured when lip translates to Gemini", param=where)
    contents = parts.encode_contents(request.messages)
    if not contents:
        raise fields.no_turns(request, "Gemini")
    body: dict[str, Any] = {"contents": contents}
    system = [{"text": t.text} for t in request.system if t.text]
    if system:
        body["systemInstruction"] = {"parts": system}
    raw_tools = wire.get(request.raw, "tools") if same else None
    tools = raw_tools if isinstance(raw_tools, list) else params.encode_tools(request)
    if tools:
        body["tools"] = tools
    raw_choice = wire.get(request.raw, "toolConfig") if same else None
    if isinstance(raw_choice, dict):
        body["toolConfig"] = raw_choice
    elif request.tool_choice is not None and (tools or request.tool_choice.mode == "none"):
        body["toolConfig"] = params.encode_tool_config(request.tool_choice)
    config = params.generation_config(request, model)
    if same:
        config = _same_config(request, config)
    if config:
        body["generationConfig"] = config
    if same:
        body.update({k: v for k, v in request.raw.items() if k not in HELD_KEYS and k not in body})
    return body
