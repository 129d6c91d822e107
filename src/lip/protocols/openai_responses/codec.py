"""OpenAI Responses codec: request decode/encode, typed event stream <-> canonical events, previous_response_id.

Mapping decisions (see docs/protocol-mapping.md; item-level ones are in ``openai_responses.items`` and ``output``):

- Towards a Responses backend lip keeps the state itself: ``store: false`` always, the conversation sent whole,
  never ``previous_response_id``. ``include: ["reasoning.encrypted_content"]`` is asked for only when reasoning
  is in play (an effort or budget, or encrypted reasoning in the history): non-reasoning models reject it.
  Reasoning without ``encrypted_content`` (Anthropic thinking, Chat reasoning text) is dropped with a debug log.
- ``system`` -> ``instructions``; a mid-conversation system/developer message -> a ``message`` item keeping its
  role. Tools in Responses shape; an unset ``strict`` is sent as ``false`` (the API's default is true, which
  rejects ordinary schemas) unless the client spoke Responses itself. Stop sequences and ``seed`` do not exist in
  Responses: dropped with a debug log; ``n > 1`` is a 400. ``max_output_tokens`` below the API's minimum (16) is
  raised to 16. A thinking budget without an effort maps to an effort: < 4096 low, < 16384 medium, else high.
  ``user`` goes up only when it fits the API's 64 characters; ``metadata`` only when it fits 16 string pairs.
- Same protocol (a Responses client on a Responses backend with passthrough off): top-level fields the canonical
  model does not hold (``prompt_cache_key``, ``safety_identifier``, ``service_tier``, ``truncation``,
  ``client_metadata``, ...) and ``tools``/``tool_choice``/``reasoning``/``text`` come from the raw body verbatim, so
  built-in tools and ``text.verbosity`` survive; towards other protocols they are dropped, named in one debug line
  per request (``HELD_KEYS``, ``HELD_INSIDE``).
- Towards a Responses client: ``response.created``, ``response.in_progress``, then one output item per block, each
  closed before the next opens (tool calls that interleave are buffered and emitted one after another), then
  ``response.completed``, or ``response.incomplete`` with ``incomplete_details.reason`` max_output_tokens or
  content_filter. A mid-stream error is one ``response.failed`` carrying ``response.error {code, message}``; an
  error before ``response.created`` is an ``error`` event. Reasoning becomes one summary part; its opaque proof
  (encrypted content, Anthropic signature or redacted data) rides in ``encrypted_content``, always.
- Response ids: an upstream ``resp_...`` id is kept; any other upstream id ``X`` becomes ``resp_X``
  (``response_id_for``), so the stream encoder, ``encode_response`` and the store agree without sharing state.
- From a Responses backend: a reasoning item's summary parts are joined with a blank line; a completed response
  whose items were not streamed (or only partly) is emitted from ``response.output``; function or custom tool calls
  make the stop reason TOOL_USE, ``incomplete`` makes it MAX_TOKENS or CONTENT_FILTER; ``response.failed`` and
  ``error`` become a StreamError, and a stream without a terminal event an UpstreamProtocolError.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lip.canonical.collect import Response
from lip.canonical.events import (
    Event,
)
from lip.canonical.request import Message, Params, Reasoning, Request
from lip.errors import InvalidRequest, LipError
from lip.protocols import dropped, fields
from lip.protocols.codec import ModelList, RawParams, Route
from lip.protocols.openai_chat import facts as chat_facts
from lip.protocols.openai_chat.codec import effort_for_budget
from lip.protocols.openai_chat.decoder import upstream_error
from lip.protocols.openai_chat.encoder import error_body
from lip.protocols.openai_responses import facts, items
from lip.protocols.openai_responses import tools as responses_tools
from lip.protocols.openai_responses.decoder import ResponsesStreamDecoder, decode_response
from lip.protocols.openai_responses.encoder import ResponsesStreamEncoder, _error_event, dumps, encode_response
from lip.protocols.sse import encode
from lip.response_store import StoredConversation

NAME = "openai_responses"
log = logging.getLogger("lip.protocols.openai_responses")

MIN_OUTPUT_TOKENS = 16
ENCRYPTED_REASONING = "reasoning.encrypted_content"
# Top-level fields lip sets itself on a same-protocol translation; every other raw field is carried verbatim.
LIP_OWNED = frozenset(
    {"model", "input", "instructions", "stream", "store", "include", "previous_response_id", "conversation"}
)
# Fields of a Responses body that the canonical model holds (or lip honours itself); the rest, and the parts of
# ``reasoning`` and ``text`` other than these, have no equivalent in the other protocols.
HELD_KEYS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "stream",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "temperature",
        "top_p",
        "reasoning",
        "text",
        "user",
        "safety_identifier",
        "metadata",
        "previous_response_id",
        "store",
        "background",
    }
)
# Tool entries that reach other protocols (namespace groups are flattened); the rest are built-in tools.
TRANSLATED_TOOL_KINDS = responses_tools.TOOL_KINDS | {"namespace"}
HELD_INSIDE = {"reasoning": frozenset({"effort"}), "text": frozenset({"format"})}


class OpenAIResponsesCodec:
    name = NAME
    dialect = facts.DIALECT
    relay = facts.RELAY
    raw_params: RawParams = facts.RAW_PARAMS
    routes: tuple[str, ...] = facts.ROUTES
    served: tuple[Route, ...] = facts.SERVED
    client_key_headers: tuple[str, ...] = ()
    client_key_params: tuple[str, ...] = ()
    model_list: ModelList | None = chat_facts.MODEL_LIST  # OpenAI's list, as for Chat

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        body = fields.body_object(body)
        model = fields.model_field(body)
        fields.required(body, "input", (str, list))
        stream = bool(fields.optional(body, "stream", bool))
        return Request(
            model=model,
            messages=[],
            stream=stream,
            include_usage=True,
            protocol=NAME,
            conversation_field="input",
            raw=body,
        )

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        request = self.decode_head(body, headers)
        raw = request.raw
        _reject_unsupported(raw)
        request.system, request.messages = items.decode_input(raw["input"], raw.get("instructions"))
        request.tools = responses_tools.declared_tools(raw)
        request.tool_choice = items.decode_tool_choice(raw.get("tool_choice"), raw.get("parallel_tool_calls"))
        request.params = _params(raw)
        request.metadata = fields.optional(raw, "metadata", dict)
        request.unmodelled_of = _unmodelled
        return request

    def stream_encoder(self, request: Request) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(request)

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encode_response(response, request)

    def error_body(self, error: LipError) -> dict[str, Any]:
        return error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        """An ``error`` event, for a failure outside an encoder's stream (its sequence number is 0)."""
        return encode(dumps({"type": "error", "sequence_number": 0, **_error_event(error)}), event="error")

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model)

    def stream_decoder(self, request: Request) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder(request.model)

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_response(body, request.model)

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {**body, "model": model}


# ---------------------------------------------------------------- request: client -> canonical


def _reject_unsupported(raw: dict[str, Any]) -> None:
    for key, why in (
        ("conversation", "lip keeps conversations by previous_response_id only"),
        ("prompt", "lip has no prompt templates; send the input itself"),
    ):
        if raw.get(key) is not None:
            raise InvalidRequest(f"'{key}' is not supported: {why}", param=key)
    if raw.get("background") is True:
        raise InvalidRequest("'background' responses are not supported by lip", param="background")


def _params(raw: dict[str, Any]) -> Params:
    reasoning = fields.optional(raw, "reasoning", dict) or {}
    user = fields.optional(raw, "user", str) or fields.optional(raw, "safety_identifier", str)
    return Params(
        max_tokens=fields.optional(raw, "max_output_tokens", int),
        temperature=fields.optional(raw, "temperature", float),
        top_p=fields.optional(raw, "top_p", float),
        reasoning_effort=fields.optional(reasoning, "effort", str, "reasoning.effort"),
        response_format=items.decode_text_format(raw.get("text")),
        user=user,
    )


# ---------------------------------------------------------------- previous_response_id


def previous_response_id(request: Request) -> str | None:
    value = request.raw.get("previous_response_id")
    return fields.expect(value, str, "previous_response_id") if value is not None else None


def previous_response_not_found(response_id: str) -> InvalidRequest:
    error = InvalidRequest(f"Previous response with id '{response_id}' not found.", param="previous_response_id")
    error.code = "previous_response_not_found"
    return error


def should_store(request: Request) -> bool:
    return request.raw.get("store") is not False


def _instruction_count(request: Request) -> int:
    """How many leading system parts came from ``instructions`` (decode_input makes it one, when non-empty)."""
    instructions = request.raw.get("instructions")
    return 1 if isinstance(instructions, str) and instructions and request.system else 0


def prepend_previous(request: Request, stored: StoredConversation) -> Request:
    """Put the stored conversation before the new input, as OpenAI does: earlier ``instructions`` do not carry
    over, earlier system/developer input does. Stored messages are copied, never mutated."""
    count = _instruction_count(request)
    instructions, leading = request.system[:count], request.system[count:]
    history = [Message(role=m.role, content=list(m.content)) for m in stored.messages]
    if leading:
        history.append(Message(role="system", content=list(leading)))
    request.system = [*instructions, *stored.system]
    request.messages = history + request.messages
    return request


def conversation_to_store(request: Request, response: Response) -> StoredConversation:
    """The conversation a later ``previous_response_id`` resumes: this request's turns and the answer."""
    messages = list(request.messages)
    if response.content:
        messages.append(Message(role="assistant", content=list(response.content)))
    return StoredConversation(system=list(request.system[_instruction_count(request) :]), messages=messages)


# ---------------------------------------------------------------- request: canonical -> upstream


def _has_encrypted_reasoning(request: Request) -> bool:
    return any(isinstance(p, Reasoning) and p.encrypted for m in request.messages for p in m.content)


def _fits_metadata(metadata: dict[str, Any]) -> bool:
    return len(metadata) <= 16 and all(
        isinstance(v, str) and len(k) <= 64 and len(v) <= 512 for k, v in metadata.items()
    )


def _translated(request: Request, body: dict[str, Any], effort: str | None) -> None:
    """Fields a request from another protocol contributes (a same-protocol request has them raw)."""
    if request.tools:
        body["tools"] = items.encode_tools(request.tools, same_protocol=False)
    choice = request.tool_choice
    if choice is not None:
        if request.tools or choice.mode == "none":
            body["tool_choice"] = items.encode_tool_choice(choice, request.tools)
        if choice.parallel is not None and request.tools:
            body["parallel_tool_calls"] = choice.parallel
    if effort:
        body["reasoning"] = {"effort": effort}
    if request.params.response_format:
        body["text"] = {"format": items.encode_text_format(request.params.response_format)}
    if request.params.user:
        body["user"] = fields.end_user(request.params.user)
    if request.metadata and _fits_metadata(request.metadata):
        body["metadata"] = request.metadata
    elif request.metadata:
        log.debug("dropping metadata: Responses takes at most 16 string pairs")


def _same_protocol(request: Request, body: dict[str, Any], effort: str | None) -> None:
    raw = request.raw
    body.update({k: v for k, v in raw.items() if k not in LIP_OWNED})
    if request.tools and not raw.get("tools") and not responses_tools.additional_items(raw.get("input")):
        body["tools"] = items.encode_tools(request.tools, same_protocol=True)
    if effort:
        body["reasoning"] = {**(raw.get("reasoning") or {}), "effort": effort}
    if request.params.response_format and not (raw.get("text") or {}).get("format"):
        body["text"] = {**(raw.get("text") or {}), "format": items.encode_text_format(request.params.response_format)}


def _include(request: Request, effort: str | None, same: bool) -> list[str]:
    include: list[str] = []
    if same:
        include = [v for v in request.raw.get("include") or () if isinstance(v, str)]
    wanted = effort is not None or _has_encrypted_reasoning(request)
    if wanted and ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    return include


def encode_request(request: Request, model: str) -> dict[str, Any]:
    fields.log_dropped(log, request, NAME)
    p = request.params
    if p.n is not None and p.n > 1:
        raise InvalidRequest("'n' greater than 1 is not supported by a Responses backend", param="n")
    if p.stop:
        log.debug("dropping stop sequences: Responses has none")
    if p.seed is not None:
        log.debug("dropping seed: Responses has none")
    same = request.protocol == NAME
    effort = p.reasoning_effort or effort_for_budget(p.reasoning_budget)
    body: dict[str, Any] = {"model": model}
    if request.system:
        body["instructions"] = "\n\n".join(t.text for t in request.system)
    body["input"] = items.encode_input(request)
    if not body["input"] and not request.system:
        raise fields.no_turns(request, "Responses")
    if same:
        _same_protocol(request, body, effort)
    else:
        _translated(request, body, effort)
    if p.max_tokens is not None:
        body["max_output_tokens"] = max(p.max_tokens, MIN_OUTPUT_TOKENS)
    if p.temperature is not None:
        body["temperature"] = p.temperature
    if p.top_p is not None:
        body["top_p"] = p.top_p
    body["store"] = False
    include = _include(request, effort, same)
    if include:
        body["include"] = include
    if request.stream:
        body["stream"] = True
    return body


def _unmodelled(raw: dict[str, Any]) -> tuple[str, ...]:
    return fields.unmodelled(raw, HELD_KEYS, HELD_INSIDE) + dropped.responses_inner(raw, TRANSLATED_TOOL_KINDS)
