"""When to fail over: a plan's attempts run in order (lip.routing.router) only while nothing has reached the client.

An attempt is over once its backend's ``open`` returns, which it does only after the upstream produced its first
item; so every failure seen here happened before the client saw a byte, and whether to try the next leaf depends
only on what failed. Failover triggers: connect errors, timeouts before the first byte, a broken answer, 5xx,
408, 409, 425, 429 (after the leaf's keys are exhausted: the backend rotates keys first), 401/403 (every key of the
leaf was rejected), model not found at the leaf, a leaf at its concurrency limit, a leaf whose protocol cannot
serve this client yet. Never on the client's own mistakes (400, 413, 422, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lip.backends.base import Target
from lip.errors import (
    AdmissionRejected,
    LipError,
    ModelNotFound,
    UnsupportedTranslation,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from lip.protocols.registry import says_model_missing

log = logging.getLogger(__name__)
FAILOVER_STATUSES = frozenset({401, 403, 404, 408, 409, 425, 429})
LEAF_ERRORS = (
    UpstreamUnreachable,
    UpstreamTimeout,
    UpstreamProtocolError,
    AdmissionRejected,
    UnsupportedTranslation,
    ModelNotFound,
)


def is_model_not_found(error: LipError) -> bool:
    """The leaf does not serve this model: a 404, or an error body that says so (read by the codecs' dialects)."""
    if isinstance(error, ModelNotFound):
        return True
    if not isinstance(error, UpstreamStatusError):
        return False
    return error.upstream_status == 404 or says_model_missing(error.body)


def should_fail_over(error: LipError) -> bool:
    """Whether another leaf may succeed where this one failed (never for the client's own mistakes)."""
    if isinstance(error, LEAF_ERRORS):
        return True
    if isinstance(error, UpstreamStatusError):
        status = error.upstream_status
        return status >= 500 or status in FAILOVER_STATUSES or is_model_not_found(error)
    return False


def reason(error: LipError) -> str:
    """A short, stable label of why an attempt was abandoned (for logs, metrics and the exchange record)."""
    if isinstance(error, UpstreamStatusError):
        return f"http_{error.upstream_status}" + ("_model_not_found" if is_model_not_found(error) else "")
    return error.code


def go_on(targets: Sequence[Target], position: int, error: LipError) -> bool:
    """Whether to try the next target after the ``position``-th (from 1) failed with ``error``; says why in the log
    (when False, the caller raises ``error``: failover may not pass it, or no target is left)."""
    passes = should_fail_over(error)
    if not passes:
        then = "not failing over: the request itself was refused"
    elif position < len(targets):
        then = f"failing over to {targets[position].leaf}"
    else:
        then = "no leaf left"
    log.warning(
        "attempt %d/%d at %s abandoned (%s): %s; %s",
        position,
        len(targets),
        targets[position - 1].leaf,
        reason(error),
        error.message,
        then,
    )
    return passes and position < len(targets)
