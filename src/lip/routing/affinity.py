"""Session and client affinity: with ``{affinity=session}`` (``{session_sticky}``) or ``{affinity=client}``
(``{client_sticky}``) a route's weighted pick and its API key stay the same across a conversation's requests, so
the provider's prompt cache keeps hitting.

How (docs/routing.md#sessions-and-affinity):

- The id (lip.routing.sessions, or the client key's name / the client's address for ``client``) is hashed with its
  scope into a ``Sticky.key``; the raw id never leaves lip.
- A binding ``aff:<key>`` names the leaf (``prefix:model``) that last served the conversation. The router puts it
  first in the plan while it is in the plan; when it fails over, the leaf that served is bound instead.
- Without a binding yet, the weighted draws are seeded with the key, so two processes that see a conversation's
  first requests at once draw the same leaf, and the API key a backend starts from is the key's hash modulo its
  number of keys (a cooling or disabled key is skipped as usual, the same way in every process).
- Bindings live in the store: Redis with ``store.kind: redis`` (every worker and replica sees them), else a
  bounded LRU of this process (``MAX_LOCAL_BINDINGS``), kept apart from the stored conversations so a flood of
  sessions never evicts a ``previous_response_id``. Each expires ``routing.affinity.ttl_s`` after its last write;
  a hit rewrites it once a quarter of that has passed, so a conversation in use never expires.
- A Responses chain that names no session (only ``previous_response_id``) is followed: each answer lip stores
  (``chain:<response id>``) carries the key of the conversation it belongs to.
- ``[first]`` (a selector's weighted arm steers a session's first request to one leaf): a session is identified on
  such a route whatever its affinity, and its first request is the one before a marker ``first:<session key>``
  exists. The marker is written once a steered ``[first]`` leaf opened, as the Go project consumes its
  session's first request (a ``[first]`` leaf that failed before output leaves the next request steered again);
  it lives in the same store, with the same TTL as a binding. A request that names no session is never steered.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from lip.backends.base import Target
from lip.errors import InvalidRequest
from lip.routing.selector import Selector
from lip.routing.sessions import previous_response, session_of
from lip.store import MemoryStore, Store

log = logging.getLogger(__name__)
MAX_LOCAL_BINDINGS = 10_000
HIT, MOVED, NEW = "hit", "moved", "new"  # the outcomes counted by lip_affinity_requests_total
UNIDENTIFIED = "unidentified"


def scope_of(selector: Selector) -> str | None:
    """The affinity a parsed selector asks for: its ``{affinity=...}`` block (None: none)."""
    return selector.affinity


def digest(scope: str, identity: str) -> str:
    """The name of an identity in the store and upstream: a truncated SHA-256, never the identity itself."""
    return hashlib.sha256(f"lip {scope}\0{identity}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Sticky:
    """What a request's conversation is, for routing: ``key`` names its binding when the route asks for affinity
    and the request identified itself; ``cache_key`` is its session's name (sent as ``prompt_cache_key`` where a
    backend takes it); ``bound`` the leaf its binding named when the request arrived."""

    scope: str | None  # "session" or "client" when the route asks for affinity
    key: str | None
    cache_key: str | None
    bound: str | None = None
    source: str = ""  # where the id was read (a header's name, a body field), for the debug log

    def rng(self) -> random.Random | None:
        """The seeded draw of a conversation that has no binding yet (None: the planner's own)."""
        return random.Random(int(self.key, 16)) if self.key is not None and self.bound is None else None

    @property
    def key_seed(self) -> str | None:
        """What picks the API key a backend starts from: the binding's name, else the session's."""
        return self.key or self.cache_key


def prefer(targets: Sequence[Target], sticky: Sticky | None) -> list[Target]:
    """``targets`` with the bound leaf first (the Go project's rule: ahead of every other leaf of the plan), and
    each target carrying the session for its backend (API key, prompt_cache_key)."""
    if sticky is None:
        return list(targets)
    seed = sticky.key_seed
    ordered = [t if t.session == seed else replace(t, session=seed) for t in targets]
    if sticky.bound is not None:
        first = next((i for i, t in enumerate(ordered) if t.leaf == sticky.bound), None)
        if first:
            ordered.insert(0, ordered.pop(first))
    return ordered


class Affinity:
    """The bindings of one configuration: looked up before a plan, written after the attempt that opened."""

    def __init__(
        self,
        store: Store,
        ttl_s: float,
        missing_identity: str = "ignore",
        cache_keys: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``cache_keys``: a backend of the configuration sends a session's name as prompt_cache_key, so a session
        counts even on a route without affinity."""
        self.store: Store = store if store.shared else MemoryStore(MAX_LOCAL_BINDINGS)
        self.ttl_s = ttl_s
        self.missing_identity = missing_identity
        self.cache_keys = cache_keys
        self.wall = wall

    async def identify(
        self,
        scope: str | None,
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        client: str | None,
        steers: bool = False,
    ) -> Sticky | None:
        """The request's ``Sticky`` for a route with affinity ``scope`` (None: none asked), its binding looked up;
        None when the route asks for none and the request names no session. A route that asks for affinity from
        a request that cannot be identified is served without it, or refused (400) under
        ``routing.affinity.missing_identity: fail_closed``. ``steers``: the route has a ``[first]`` leaf, so
        the session is identified even without affinity."""
        if scope is None and not self.cache_keys and not steers:
            return None
        found = session_of(headers, body)
        cache_key = digest("session", found[0]) if found is not None else None
        source = found[1] if found is not None else ""
        if cache_key is None and (previous := previous_response(body)) is not None:
            cache_key = await self.chain_of(previous)
            source = "previous_response_id"
        if scope is None:
            return Sticky(None, None, cache_key, source=source) if cache_key is not None else None
        key = cache_key if scope == "session" else (digest("client", client) if client else None)
        if key is None:
            if self.missing_identity == "fail_closed":
                raise InvalidRequest(_missing(scope), param="model")
            return Sticky(scope, None, cache_key, source=source)
        return Sticky(scope, key, cache_key, await self._bound(key), source)

    async def _bound(self, key: str) -> str | None:
        value = await self.store.get("aff:" + key)
        if value is None:
            return None
        try:
            record = orjson.loads(value)
            leaf, at = record["leaf"], float(record["at"])
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(leaf, str):
            return None
        if self.wall() - at > self.ttl_s / 4:  # in use: keep it from expiring
            await self._write(key, leaf)
        return leaf

    async def opens(self, sticky: Sticky | None) -> bool:
        """Whether the request is its session's first (``[first]`` steering): it names a session whose first
        request has not opened on its ``[first]`` leaf yet."""
        return sticky is not None and sticky.cache_key is not None and await self.store.get(_first(sticky)) is None

    async def settle(self, sticky: Sticky, served: Target) -> str | None:
        """After the attempt that opened: bind its leaf when it is not the bound one, mark the session's first
        request consumed when a steered ``[first]`` leaf served it; the outcome to count (None: the route asks
        for no affinity)."""
        if served.opens_session and sticky.cache_key is not None:
            await self.store.set(_first(sticky), b"1", self.ttl_s)
        if sticky.scope is None:
            return None
        if sticky.key is None:
            return UNIDENTIFIED
        if sticky.bound == served.leaf:
            return HIT
        await self._write(sticky.key, served.leaf)
        if sticky.bound is None:
            return NEW
        log.info("a sticky conversation moved from %s to %s (its leaf failed before output)", sticky.bound, served.leaf)
        return MOVED

    async def _write(self, key: str, leaf: str) -> None:
        await self.store.set("aff:" + key, orjson.dumps({"leaf": leaf, "at": self.wall()}), self.ttl_s)

    async def chain_of(self, response_id: str) -> str:
        """The session key of the conversation a response belongs to; a response lip did not link (the chain's
        first answer, or one it relayed) starts a conversation named after itself."""
        linked = await self.store.get("chain:" + response_id)
        return linked.decode() if linked is not None else digest("session", "response " + response_id)

    async def link(self, response_id: str, sticky: Sticky | None, served: Target | None) -> None:
        """A Responses answer lip stored: its id continues the conversation of ``sticky`` (or starts one, bound to
        the leaf that served it when the route asks for affinity)."""
        key = sticky.cache_key if sticky is not None else None
        if key is None:
            key = digest("session", "response " + response_id)
            if sticky is not None and sticky.scope == "session" and served is not None:
                await self._write(key, served.leaf)
        await self.store.set("chain:" + response_id, key.encode(), self.ttl_s)


def _first(sticky: Sticky) -> str:
    """The store key whose presence says the session's first request was served (``[first]``)."""
    return f"first:{sticky.cache_key}"


def _missing(scope: str) -> str:
    if scope == "client":
        return "the route asks for {affinity=client} but the request has no client identity"
    return (
        "the route asks for {affinity=session} but the request names no session: send an X-LIP-Session-Id header "
        "(routing.affinity.missing_identity is fail_closed)"
    )
