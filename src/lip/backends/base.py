"""What a backend is, and the two shapes of an opened upstream answer.

``Backend.open`` returns only once the upstream has produced its first item (or the whole body), so everything
that can fail before the client sees a byte fails inside ``open`` and the router can fail over. After that, the
caller iterates the rest and must always ``aclose()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lip.canonical.events import Event
from lip.canonical.request import Request
from lip.config.load import BackendSpec

Closer = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class RelayBody:
    """A whole non-streamed upstream body in the client's own protocol (same-protocol passthrough)."""

    body: bytes
    content_type: str = "application/json"
    parsed: Any = None  # the body as lip parsed it once to check it (read for its usage)


class Sink(Protocol):
    """The client's side of a spliced relay (``RelayStream.splice``)."""

    def deliver(self, chunk: bytes) -> bool:
        """Relay ``chunk`` now, synchronously; False when the client's buffer is full. Raises when the client is
        gone."""
        ...

    async def drained(self) -> None:
        """Returns when the client's buffer has room again."""
        ...


@dataclass(slots=True)
class RelayStream:
    """An upstream byte stream in the client's own protocol, relayed as it arrives: by iterating ``rest``, or,
    when ``splice`` is set, by handing it a ``Sink`` that gets each chunk from the upstream connection's own
    callback (``lip.backends.splice``). Use one or the other, then ``close``."""

    first: bytes
    rest: AsyncIterator[bytes]
    close: Closer = _nothing
    content_type: str = "text/event-stream"
    redact: Callable[[bytes], bytes] | None = None  # applied to a chunk carrying an upstream error event
    splice: Callable[[Sink], Awaitable[None]] | None = None


@dataclass(slots=True)
class EventStream:
    """Canonical events in batches (one batch per upstream chunk), the first batch already received."""

    first: Sequence[Event]
    rest: AsyncIterator[Sequence[Event]]
    close: Closer = _nothing


Opened = RelayBody | RelayStream | EventStream


@dataclass(frozen=True, slots=True)
class Target:
    """One attempt of a plan: a backend, the native model name, per-leaf parameter overrides and the leaf's
    annotations (lip.routing.selector): its race, its time to first output, the prompt sizes it takes."""

    backend: Backend
    model: str
    params: tuple[tuple[str, str], ...] = ()
    label: str = field(default="")
    session: str | None = None  # a conversation's name (lip.routing.affinity): its API key, its prompt_cache_key
    race: int = 0  # consecutive targets with the same non-zero number are the legs of one race ('!')
    handicap_s: float = 0.0  # seconds a race leg waits before it starts
    ttft_s: float | None = None  # seconds this attempt may take to its first output ([ttft_timeout])
    min_context: int | None = None  # tokens ([min_context]); skipping by size is lip.routing's sessions' part
    max_context: int | None = None
    opens_session: bool = False  # the [first] leaf a session's first request was steered to (lip.routing.affinity)

    @property
    def leaf(self) -> str:
        return self.label or f"{self.backend.prefix}:{self.model}"


class Backend(Protocol):
    spec: BackendSpec

    @property
    def id(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def protocol(self) -> str: ...

    async def open(self, request: Request, target: Target, headers: Mapping[str, str], *, passthrough: bool) -> Opened:
        """``headers``: the client's headers a same-protocol upstream should see (lip.frontends.endpoint)."""
        ...

    async def count_tokens(self, request: Request, target: Target, headers: Mapping[str, str]) -> Any:
        """The upstream's own count of ``request``'s input tokens (its answer as is), or None when this backend
        cannot count it (the caller then estimates)."""
        ...

    async def list_models(self) -> list[dict[str, Any]]:
        """The provider's model list as raw entries (``id`` at least); raises on failure."""
        ...

    def diagnostics(self) -> dict[str, Any]: ...

    def unavailable_for(self) -> float | None:
        """Seconds until the backend can take a request when every key is cooling down or disabled; else None."""
        ...

    async def aclose(self) -> None: ...
