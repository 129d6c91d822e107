"""The rate-limit headers of a client key's 429, in each client protocol's spelling."""

from __future__ import annotations

from lip.errors import QuotaExceeded
from lip.protocols.ratelimit import duration, rate_limit_headers


def test_openai_reset_durations() -> None:
    assert [duration(s) for s in (0.25, 1, 59.4, 65, 3725)] == ["250ms", "1s", "59s", "1m5s", "1h2m5s"]


def test_each_protocol_spells_its_own_headers() -> None:
    tokens = QuotaExceeded("x", limit="tokens", allowed=100, retry_after=30)
    assert rate_limit_headers("openai_chat", tokens) == {
        "x-ratelimit-limit-tokens": "100",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "30s",
    }
    assert rate_limit_headers("anthropic_messages", tokens, now=0) == {
        "anthropic-ratelimit-tokens-limit": "100",
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": "1970-01-01T00:00:30Z",
    }
    assert rate_limit_headers("openai_chat", QuotaExceeded("x", limit="concurrent", allowed=2, retry_after=1)) == {}
