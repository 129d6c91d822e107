"""The rate-limit headers each client protocol's SDKs read, for a 429 from a client key's limit (lip.quotas).

OpenAI clients read ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (reset as a duration such as ``6m0s``);
Anthropic clients read ``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`` (reset as an RFC 3339
time). Both read ``Retry-After`` (seconds), which the error reply adds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from lip.errors import QuotaExceeded

ANTHROPIC = "anthropic_messages"
FAMILIES = frozenset({"requests", "tokens"})  # a concurrency limit has no standard header: Retry-After only


def duration(seconds: float) -> str:
    """OpenAI's reset spelling: ``950ms``, ``12s``, ``1m5s``, ``2h3m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def rate_limit_headers(protocol: str, error: QuotaExceeded, now: float | None = None) -> dict[str, str]:
    """The headers for ``error`` in the spelling of ``protocol``'s clients."""
    family = error.limit
    if family not in FAMILIES:
        return {}
    reset_s = error.retry_after
    if protocol == ANTHROPIC:
        at = datetime.fromtimestamp((now if now is not None else time.time()) + reset_s, UTC)
        head = f"anthropic-ratelimit-{family}"
        return {
            f"{head}-limit": str(error.allowed),
            f"{head}-remaining": "0",
            f"{head}-reset": at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    return {
        f"x-ratelimit-limit-{family}": str(error.allowed),
        f"x-ratelimit-remaining-{family}": "0",
        f"x-ratelimit-reset-{family}": duration(reset_s),
    }
