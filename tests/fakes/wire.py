"""Wire helpers shared by the fake endpoints: SSE framing (the only place that spells "data:"), ids, splitting."""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["DONE", "Frame", "json_bytes", "make_id", "now", "split_text"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Frame:
    """One server-sent event: optional `event:` name and a JSON payload (or a raw string such as [DONE])."""

    event: str | None
    data: dict[str, Any] | str

    def encode(self) -> bytes:
        payload = self.data.encode() if isinstance(self.data, str) else orjson.dumps(self.data)
        head = f"event: {self.event}\n".encode() if self.event else b""
        return head + b"data: " + payload + b"\n\n"


DONE = Frame(None, "[DONE]")


def json_bytes(obj: object) -> bytes:
    return orjson.dumps(obj)


def make_id(prefix: str, length: int = 24) -> str:
    """A provider-looking id such as `chatcmpl-…`, `resp_…`, `msg_01…`, `toolu_01…`, `call_…`."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    return int(time.time())


def split_text(text: str, pieces: int) -> list[str]:
    """Split `text` into at most `pieces` non-empty, near-equal parts (none for empty text)."""
    if not text:
        return []
    pieces = max(1, min(pieces, len(text)))
    size, extra = divmod(len(text), pieces)
    parts: list[str] = []
    start = 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        parts.append(text[start:end])
        start = end
    return parts
