"""Conversations of earlier Responses answers, kept by response id so ``previous_response_id`` works on any backend.

A Responses client may send only its new input plus ``previous_response_id``; the provider is expected to know the
rest. When the answer came from (or goes to) a backend that keeps no such state, lip keeps it: the canonical
conversation that led to each response, assistant turn included, under the response's id.

The Responses frontend follows this sequence, in the hooks of ``frontends/endpoint.py`` (helpers from
``lip.protocols.openai_responses``)::

    # before(head): head is decode_head's Request (raw body only)
    previous = previous_response_id(head)                    # None unless the client sent one
    if previous is not None:
        stored = await store.get(previous)
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

``ResponseStore`` is the interface; ``MemoryResponseStore`` is the per-process default, an LRU bounded by
``max_items``. A shared (Redis) store implements the same two coroutines and serialises the canonical parts.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from lip.canonical.request import Message, Text


@dataclass(frozen=True, slots=True)
class StoredConversation:
    """What a later turn needs: the leading system/developer input (not ``instructions``) and every turn."""

    system: list[Text]
    messages: list[Message]  # the request's turns followed by the assistant turn that answered them


class ResponseStore(Protocol):
    async def get(self, response_id: str) -> StoredConversation | None: ...

    async def put(self, response_id: str, conversation: StoredConversation) -> None: ...


class MemoryResponseStore:
    """In-process LRU: the least recently read or written conversation goes first once ``max_items`` is reached."""

    def __init__(self, max_items: int = 1024) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._items: OrderedDict[str, StoredConversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, response_id: str) -> StoredConversation | None:
        conversation = self._items.get(response_id)
        if conversation is not None:
            self._items.move_to_end(response_id)
        return conversation

    async def put(self, response_id: str, conversation: StoredConversation) -> None:
        self._items[response_id] = conversation
        self._items.move_to_end(response_id)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
