"""Anthropic Messages codec: request decode/encode, content-block stream <-> canonical events, error shape.

Mapping decisions (see docs/protocol-mapping.md):

- Usage: canonical ``input_tokens`` counts every prompt token; Anthropic's ``input_tokens`` excludes cache reads
  and writes, so ``input = input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` on the way in
  and the reverse on the way out. ``reasoning_tokens`` <-> ``usage.output_tokens_details.thinking_tokens``.
- Thinking: ``{type: enabled, budget_tokens}`` <-> ``Params.reasoning_budget``; ``output_config.effort`` ->
  ``reasoning_effort`` (``max`` becomes ``xhigh``); adaptive thinking without an effort leaves the effort to the
  target's default. Towards Anthropic an effort without a budget becomes a budget (``EFFORT_BUDGETS``), fitted
  under ``max_tokens``; thinking is left off where the API would reject it (forced tool use, a prefill, a tool
  loop whose last assistant turn has no thinking block) and temperature/top_p are dropped where it forbids them.
- Reasoning towards an Anthropic client: every reasoning block is a ``thinking`` block so the client shows it;
  one without a signature gets ``signature: ""`` (the SDK accepts it; lip drops such a block when it comes back),
  and Responses reasoning travels as a wrapped signature (``blocks.WRAPPED_PREFIX``) so a client that
  sends it back carries the encrypted content home.
- Stop reasons: ``refusal`` <-> REFUSAL (CONTENT_FILTER goes out as ``refusal`` too); ``pause_turn`` -> END_TURN;
  ``model_context_window_exceeded`` -> MAX_TOKENS; a missing reason, or ``end_turn`` while tool_use blocks were
  produced, becomes TOOL_USE when there were tool calls, so agents never stall.
- Same-protocol translation (used when passthrough is off) takes ``thinking``, ``output_config`` and ``tools``
  verbatim from the raw body, and every top-level field the canonical model does not hold (``top_k``,
  ``service_tier``, ``context_management``, …); towards other protocols ``top_k`` and Anthropic-defined tools
  are dropped, each translated request naming the fields it drops in one debug line (``HELD_KEYS``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lip.canonical.collect import Response
from lip.canonical.events import (
    Event,
)
from lip.canonical.request import Request
from lip.errors import InvalidRequest, LipError
from lip.protocols import dropped, fields
from lip.protocols.anthropic_messages import blocks, facts, params
from lip.protocols.anthropic_messages.decoder import AnthropicStreamDecoder, decode_message, upstream_error
from lip.protocols.anthropic_messages.encoder import AnthropicStreamEncoder, dumps, encode_message, error_body
from lip.protocols.codec import ModelList, RawParams, Route
from lip.protocols.sse import encode

NAME = "anthropic_messages"
log = logging.getLogger("lip.protocols.anthropic_messages")

DEFAULT_MAX_TOKENS = blocks.DEFAULT_MAX_TOKENS

# Fields of a Messages body that the canonical model holds; the rest ride along on same-protocol translation.
MODELLED_KEYS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "stream",
        "thinking",
        "output_config",
    }
)

# What of a Messages body the canonical model holds, for the debug line naming what a translation drops (top_k,
# context_management, service_tier, ...).
HELD_KEYS = MODELLED_KEYS | {"output_format"}
HELD_INSIDE = {
    "output_config": frozenset({"effort", "format"}),
    "thinking": frozenset({"type", "budget_tokens"}),
}


# ---------------------------------------------------------------- request: client -> canonical


def decode_head(body: Any, headers: Mapping[str, str], *, require_max_tokens: bool = True) -> Request:
    """Model, stream flag and the raw body; ``max_tokens`` and ``messages`` are checked here
    (``require_max_tokens=False`` for count_tokens bodies)."""
    body = fields.body_object(body)
    model = fields.model_field(body)
    if require_max_tokens:
        max_tokens = fields.required(body, "max_tokens", int)
        if max_tokens < 0:
            raise InvalidRequest("'max_tokens' must be greater than or equal to 0", param="max_tokens")
    messages = fields.required(body, "messages", list)
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message", param="messages")
    return Request(
        model=model,
        messages=[],
        stream=bool(fields.optional(body, "stream", bool)),
        include_usage=True,  # an Anthropic stream always carries usage
        protocol=NAME,
        raw=body,
    )


def decode_request(body: Any, headers: Mapping[str, str], *, require_max_tokens: bool = True) -> Request:
    request = decode_head(body, headers, require_max_tokens=require_max_tokens)
    raw = request.raw
    lead, request.messages = blocks.decode_messages(raw["messages"])
    request.system = blocks.decode_system(raw.get("system")) + lead
    if raw.get("tools") is not None:
        request.tools = blocks.decode_tools(raw["tools"])
    request.tool_choice = blocks.decode_tool_choice(raw.get("tool_choice"))
    request.params = blocks.decode_params(raw)
    request.unmodelled_of = _unmodelled
    return request


def _unmodelled(raw: dict[str, Any]) -> tuple[str, ...]:
    return fields.unmodelled(raw, HELD_KEYS, HELD_INSIDE) + dropped.anthropic_inner(raw)


class AnthropicMessagesCodec:
    name = NAME
    dialect = facts.DIALECT
    relay = facts.RELAY
    raw_params: RawParams = facts.RAW_PARAMS
    routes: tuple[str, ...] = facts.ROUTES
    served: tuple[Route, ...] = facts.SERVED
    client_key_headers: tuple[str, ...] = facts.CLIENT_KEY_HEADERS
    client_key_params: tuple[str, ...] = ()
    model_list: ModelList | None = facts.MODEL_LIST

    def __init__(self, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.default_max_tokens = default_max_tokens

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_head(body, headers)

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        return decode_request(body, headers)

    def decode_count_tokens(self, body: Any, headers: Mapping[str, str]) -> Request:
        """A ``/v1/messages/count_tokens`` body: a Messages body without ``max_tokens``."""
        return decode_request(body, headers, require_max_tokens=False)

    def stream_encoder(self, request: Request) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(request.model)

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encode_message(response, request.model)

    def error_body(self, error: LipError) -> dict[str, Any]:
        return error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        return encode(dumps(error_body(error)), "error")

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model, self.default_max_tokens)

    def stream_decoder(self, request: Request) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(request.custom_tool_names())

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_message(body, request.custom_tool_names())

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {**body, "model": model}


# ---------------------------------------------------------------- request: canonical -> upstream


def _held_but_dropped(request: Request) -> tuple[str, ...]:
    """Modelled fields of another protocol's request that the Messages API has no field for."""
    names = ("seed",) if request.params.seed is not None else ()
    return names + (("metadata",) if request.metadata else ())


def encode_request(request: Request, model: str, default_max_tokens: int = DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    default_max_tokens = request.params.output_limit or default_max_tokens  # the model's own limit, when known
    fields.log_dropped(log, request, NAME, _held_but_dropped(request))
    p = request.params
    if p.n is not None and p.n > 1:
        raise InvalidRequest("'n' greater than 1 cannot be honoured by an Anthropic backend", param="n")
    same = request.protocol == NAME
    messages = blocks.encode_messages(request.messages)
    if not messages:
        raise fields.no_turns(request, "Anthropic")
    body: dict[str, Any] = {"model": model}
    system = blocks.encode_system(request.system)
    if system:
        body["system"] = system
    body["messages"] = messages
    if same and "thinking" in request.raw:
        thinking, max_tokens = request.raw["thinking"], p.max_tokens if p.max_tokens is not None else default_max_tokens
        if params.thinking_on(thinking) and params.loop_lacks_thinking(messages):
            # the thinking block the tool loop needs came from another provider (a failover, a model switch) and
            # was dropped; the API refuses thinking without it
            log.debug("not sending the client's thinking config: the tool loop's assistant turn lost its thinking")
            thinking = None
    else:
        thinking, max_tokens = params.thinking_config(request, messages, default_max_tokens)
    body["max_tokens"] = max_tokens
    if thinking is not None:
        body["thinking"] = thinking
    params.sampling(p, isinstance(thinking, dict) and thinking.get("type") == "enabled", body)
    stop = params.stop_sequences(p.stop)
    if stop:
        body["stop_sequences"] = stop
    params.declare_tools(request, messages, same, body)
    if p.user:
        body["metadata"] = {"user_id": p.user}
    if same:  # output_config / the older top-level output_format ride along from the raw body
        if isinstance(request.raw.get("output_config"), dict):
            body["output_config"] = request.raw["output_config"]
    elif p.response_format:
        params.response_format(p.response_format, body)
    if request.stream:
        body["stream"] = True
    if same:
        body.update({k: v for k, v in request.raw.items() if k not in MODELLED_KEYS and k not in body})
    return body
