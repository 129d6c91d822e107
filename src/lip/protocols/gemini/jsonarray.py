"""Google's JSON-array stream: what ``streamGenerateContent`` sends a client that did not ask for ``?alt=sse``.

The body is one JSON array written as the answer goes: ``[`` and the first ``GenerateContentResponse``, then each
next one after ``\\r\\n,\\r\\n``, and ``\\r\\n]`` at the end (an answer with no chunk is ``[]``). lip's stream
encoder (and a relayed Gemini upstream, which lip always asks for SSE) writes ``data:`` frames; ``ArrayFraming``
re-frames them, each frame's JSON as it is. A keep-alive comment becomes a newline, which JSON allows between
elements.
"""

from __future__ import annotations

from lip.protocols.sse import KEEPALIVE_FRAME, SSEDecoder

OPEN = b"["
SEPARATOR = b"\r\n,\r\n"
CLOSE = b"\r\n]"
EMPTY = b"[]"


class ArrayFraming:
    """SSE bytes in, JSON-array bytes out (``lip.protocols.codec.StreamFraming``)."""

    content_type = "application/json"

    __slots__ = ("_opened", "_sse")

    def __init__(self) -> None:
        self._sse = SSEDecoder(0)  # lip's own frames, or an upstream's already bounded by its backend
        self._opened = False

    def feed(self, chunk: bytes) -> bytes:
        if chunk == KEEPALIVE_FRAME:
            return b"\n"
        out = bytearray()
        for event in self._sse.feed(chunk):
            self._element(event.data, out)
        return bytes(out)

    def _element(self, data: bytes, out: bytearray) -> None:
        if not data.strip():
            return
        out += SEPARATOR if self._opened else OPEN
        self._opened = True
        out += data

    def finish(self) -> bytes:
        out = bytearray()
        for event in self._sse.flush():
            self._element(event.data, out)
        out += CLOSE if self._opened else EMPTY
        return bytes(out)
