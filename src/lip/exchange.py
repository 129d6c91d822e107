"""What one request did: filled in by the endpoint and the router, read by the observers when it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lip.backends.base import Target
from lip.bodylog import BodyLog
from lip.canonical.events import Usage
from lip.clientkeys import ClientKey
from lip.errors import LipError

if TYPE_CHECKING:
    from lip.otel import RequestTrace
    from lip.routing.affinity import Sticky


@dataclass(slots=True)
class Exchange:
    """What one request did; handed to the runtime's observers (access log, metrics) when it ends."""

    frontend: str
    started: float = field(default_factory=time.perf_counter)
    model: str = ""
    target: Target | None = None
    status: int = 0
    first_byte: float | None = None
    usage: Usage | None = None
    error: LipError | None = None
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (leaf, why abandoned)
    streamed: bool = False
    client_gone: bool = False
    bodies: BodyLog | None = None  # set when logging.log_bodies is on
    trace: RequestTrace | None = None  # set when tracing is on (lip.otel)
    key: ClientKey | None = None  # the client key it came with, when client keys are configured
    repairs: list[str] = field(default_factory=list)  # what lip repaired in the upstream's answer (Repair kinds)
    request_bytes: int | None = None  # the body's size when the client said it (Content-Length)
    sticky: Sticky | None = None  # the conversation it belongs to, when one counts (lip.routing.affinity)
    sticky_outcome: str | None = None  # hit, moved, new or unidentified, on a sticky route
