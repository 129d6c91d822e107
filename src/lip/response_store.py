"""Conversations of earlier Responses answers, kept by response id so ``previous_response_id`` works on any backend.

A Responses client may send only its new input plus ``previous_response_id``; the provider is expected to know the
rest. When the answer came from (or goes to) a backend that keeps no such state, lip keeps it: the canonical
conversation that led to each response, assistant turn included, under the response's id.

The Responses frontend follows this sequence, in the hooks of ``frontends/endpoint.py``, keeping the stored
conversation in its per-request context (helpers from ``lip.protocols.openai_responses``)::

    # before(head): head is decode_head's Request (raw body only)
    previous = previous_response_id(head)                    # None unless the client sent one
    if previous is not None:
        stored = ctx.previous = await store.get(previous)
        if stored is None and no Responses backend will take it by passthrough:
            raise previous_response_not_found(previous)      # 400 in OpenAI's shape, code previous_response_not_found
        # if stored is not None: lip owns this id; translate even for a Responses backend (no passthrough),
        # because the upstream never saw it. If stored is None, a passthrough forwards the id untouched.
    # decode_full(head): request = codec.decode_request(...); then, if stored is not None:
    prepend_previous(request, stored)                         # encode_request never sends previous_response_id
    # completed(request, collector): the answer ended well (stream or not)
    if should_store(request):                                 # the client did not send store: false
        response = collector.response
        await store.put(response_id_for(response.id), conversation_to_store(request, response))

``response_id_for`` is the same function the stream encoder and ``encode_response`` use for the id the client
sees, so nothing needs to pass between them. Storing after a passthrough too (the light reader's events collected,
keyed by the upstream's own ``resp_...`` id) would let a later turn with that id go to any other backend. A failed
or cancelled response is not stored, as OpenAI does not store one.

``ResponseStore`` keeps the conversations in the runtime's store (lip.store) under ``resp:<id>`` for
``store.response_ttl_s``: this process's bounded memory by default, Redis when ``store.kind: redis``, so a follow-up
that lands on another worker or machine finds it. The canonical parts are serialised as tagged JSON (never pickle:
whoever can write to Redis must not be able to run code in lip); an entry that does not decode is treated as missing.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from lip.canonical.request import Audio, Document, Image, Message, Part, Reasoning, Text, ToolCall, ToolResult
from lip.store import Store

log = logging.getLogger(__name__)
FORMAT = 1
PART_TYPES: dict[str, type[Part]] = {
    "text": Text,
    "image": Image,
    "document": Document,
    "audio": Audio,
    "tool_call": ToolCall,
    "tool_result": ToolResult,
    "reasoning": Reasoning,
}
PART_TAGS = {kind: tag for tag, kind in PART_TYPES.items()}


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """What a later turn needs: the leading system/developer input (not ``instructions``) and every turn."""

    system: list[Text]
    messages: list[Message]  # the request's turns followed by the assistant turn that answered them


class ResponseStore:
    """Conversations by response id, serialised into a ``Store`` with a TTL."""

    def __init__(self, store: Store, ttl_s: float) -> None:
        self.store = store
        self.ttl_s = ttl_s

    async def get(self, response_id: str) -> StoredConversation | None:
        data = await self.store.get("resp:" + response_id)
        if data is None:
            return None
        try:
            return decode_conversation(data)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("the stored conversation of a response could not be read; treating it as missing")
            return None

    async def put(self, response_id: str, conversation: StoredConversation) -> None:
        await self.store.set("resp:" + response_id, encode_conversation(conversation), self.ttl_s)


def encode_conversation(conversation: StoredConversation) -> bytes:
    return orjson.dumps(
        {
            "v": FORMAT,
            "system": [_part_json(p) for p in conversation.system],
            "messages": [
                {"role": m.role, "content": [_part_json(p) for p in m.content]} for m in conversation.messages
            ],
        }
    )


def decode_conversation(data: bytes) -> StoredConversation:
    """Raises ValueError, TypeError or KeyError when ``data`` is not what ``encode_conversation`` wrote."""
    body = orjson.loads(data)
    if body.get("v") != FORMAT:
        raise ValueError("unknown stored conversation format")
    system = [_part(p) for p in body["system"]]
    if not all(isinstance(p, Text) for p in system):
        raise ValueError("system input holds more than text")
    messages = [Message(role=m["role"], content=[_part(p) for p in m["content"]]) for m in body["messages"]]
    return StoredConversation(system=[p for p in system if isinstance(p, Text)], messages=messages)


def _part_json(part: Part) -> dict[str, Any]:
    fields = {f.name: getattr(part, f.name) for f in dataclasses.fields(part)}
    if isinstance(part, ToolResult):
        fields["content"] = [_part_json(p) for p in part.content]
    return {"type": PART_TAGS[type(part)], **fields}


def _part(data: dict[str, Any]) -> Part:
    fields = dict(data)
    kind = PART_TYPES[fields.pop("type")]
    if kind is ToolResult:
        fields["content"] = [_part(p) for p in fields["content"]]
    return kind(**fields)
