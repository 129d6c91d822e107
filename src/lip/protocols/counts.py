"""Token counts an upstream reports, checked before lip adds them to anything (usage, metrics, the access log).

A count is a JSON integer from 0 to ``MAX_COUNT``. Anything else (``[1]``, ``-5``, ``1e30``, ``"12"``, ``true``, an
integer past the bound) is dropped: the field reads as not reported, and the answer carries a ``Repair`` of kind
``bad_usage`` so lip counts it in ``lip_stream_repairs_total`` and logs a warning, instead of failing the request or
adding nonsense to ``lip_tokens_total`` forever.
"""

from __future__ import annotations

from typing import Any

MAX_COUNT = 10**9  # no single answer reports a billion tokens
BAD_USAGE = "bad_usage"  # the Repair kind


class Counts:
    """Reads one answer's counts; ``dropped`` tells whether any reported value was not a count."""

    __slots__ = ("dropped",)

    def __init__(self) -> None:
        self.dropped = False

    def get(self, raw: dict[str, Any], key: str) -> int | None:
        """``raw[key]`` when it is a count; None when absent, null or dropped."""
        value = raw.get(key)
        if type(value) is int and 0 <= value <= MAX_COUNT:
            return value
        if value is not None:
            self.dropped = True
        return None

    def of(self, raw: dict[str, Any], key: str) -> int:
        """``raw[key]`` as a count, 0 when absent or dropped (``get``'s check, written out: five of these an answer)."""
        value = raw.get(key)
        if type(value) is int and 0 <= value <= MAX_COUNT:
            return value
        self.dropped = self.dropped or value is not None
        return 0
