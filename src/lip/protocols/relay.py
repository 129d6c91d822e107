"""The passthrough relay's light check: did a same-protocol upstream stream end with its final event?

Bytes are relayed untouched; this only looks for each protocol's terminal markers (a final event, or an error
event) with C-speed substring searches, so a stream that the upstream cut short still ends with an error event
in the client's protocol instead of looking complete.
"""

from __future__ import annotations

TERMINAL_MARKERS: dict[str, tuple[bytes, ...]] = {
    "openai_chat": (b"[DONE]", b'"finish_reason":"', b'"finish_reason": "', b'{"error"'),
    "openai_responses": (b"response.completed", b"response.incomplete", b"response.failed", b"event: error"),
    "anthropic_messages": (b"message_stop", b"event: error"),
}
OVERLAP = 24  # longer than any marker, so one split across two chunks is still seen


class RelayWatch:
    """Feed every relayed chunk; ``complete`` tells whether a terminal marker went by."""

    __slots__ = ("_markers", "_tail", "complete")

    def __init__(self, protocol: str) -> None:
        self._markers = TERMINAL_MARKERS.get(protocol, ())
        self.complete = not self._markers
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.complete:
            return
        seam = self._tail + chunk[:OVERLAP]  # a marker split across the previous chunks and this one
        self.complete = any(m in chunk or m in seam for m in self._markers)
        self._tail = (self._tail + chunk[-OVERLAP:])[-OVERLAP:]
