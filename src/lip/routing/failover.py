"""Run a plan's attempts in order; fail over only while nothing has reached the client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from lip.backends.base import Opened, Target
from lip.errors import (
    AdmissionRejected,
    LipError,
    ModelNotFound,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

log = logging.getLogger(__name__)
FAILOVER_STATUSES = frozenset({404, 408, 409, 425, 429})


def should_fail_over(error: LipError) -> bool:
    """Whether another leaf may succeed where this one failed (never for the client's own mistakes)."""
    if isinstance(error, UpstreamUnreachable | UpstreamTimeout | UpstreamProtocolError | AdmissionRejected):
        return True
    if isinstance(error, UpstreamStatusError):
        return error.upstream_status >= 500 or error.upstream_status in FAILOVER_STATUSES
    return isinstance(error, ModelNotFound)


async def open_first(
    targets: Sequence[Target],
    opener: Callable[[Target], Awaitable[Opened]],
    on_abandon: Callable[[Target, LipError], None] | None = None,
) -> tuple[Target, Opened]:
    """The first target that opens; the last error when none does."""
    last: LipError | None = None
    for position, target in enumerate(targets):
        try:
            return target, await opener(target)
        except LipError as exc:
            last = exc
            more = position + 1 < len(targets)
            if on_abandon is not None:
                on_abandon(target, exc)
            log.info(
                "attempt %s abandoned: %s (%s)%s",
                target.leaf,
                exc.code,
                exc.message,
                "; failing over" if more and should_fail_over(exc) else "",
            )
            if not should_fail_over(exc):
                raise
    assert last is not None, "a plan has at least one target"
    raise last
