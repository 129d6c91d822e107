"""A no-network backend with deterministic replies, for the embedded default config and smoke tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from lip.backends.base import EventStream, Opened, Target
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    StopReason,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import Request, Text
from lip.config.load import BackendSpec

STUB_MODELS = ("echo", "hello")


def _last_user_text(request: Request) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            texts = [p.text for p in message.content if isinstance(p, Text)]
            if texts:
                return " ".join(texts)
    return ""


def reply_text(request: Request, model: str, configured: str | None) -> str:
    if configured:
        return configured
    said = _last_user_text(request)
    if model == "echo" and said:
        return f"You said: {said}"
    return "Hello from lip's local stub backend. It answers without any network."


def split_deltas(text: str, parts: int = 4) -> list[str]:
    """Split into several deltas at word boundaries, so a stream shows more than one chunk."""
    words = text.split(" ")
    size = max(1, -(-len(words) // parts))
    pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]


class LocalStubBackend:
    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def prefix(self) -> str:
        return self.spec.prefix

    @property
    def protocol(self) -> str:
        return "local"

    async def open(self, request: Request, target: Target, headers: Mapping[str, str], *, passthrough: bool) -> Opened:
        settings = self.spec.settings
        text = reply_text(request, target.model, settings.reply)
        deltas = split_deltas(text)
        start: list[Event] = [MessageStart(f"stub-{uuid.uuid4().hex[:16]}", target.model, int(time.time()))]
        prompt = sum(len(m.content) for m in request.messages) * 8
        end: list[Event] = []
        if settings.tool_name:  # a tool call after the text, as the Go project's stub answers
            call = f"call_{uuid.uuid4().hex[:16]}"
            end += [ToolCallStart(0, call, settings.tool_name), ToolCallDelta(0, settings.tool_args), ToolCallEnd(0)]
        end += [
            Usage(
                input_tokens=prompt if settings.input_tokens is None else settings.input_tokens,
                output_tokens=len(text.split()) if settings.output_tokens is None else settings.output_tokens,
            ),
            MessageEnd(StopReason.TOOL_USE if settings.tool_name else StopReason.END_TURN),
        ]
        return EventStream([*start, TextDelta(deltas[0])], self._rest(deltas[1:], end))

    async def _rest(self, deltas: list[str], end: list[Event]) -> AsyncIterator[Sequence[Event]]:
        for delta in deltas:
            if self.spec.settings.chunk_delay_s:
                await asyncio.sleep(self.spec.settings.chunk_delay_s)
            yield [TextDelta(delta)]
        yield end

    async def count_tokens(self, request: Request, target: Target, headers: Mapping[str, str]) -> None:
        return None  # no upstream to ask: the caller estimates

    async def list_models(self) -> list[dict[str, Any]]:
        return [{"id": model, "owned_by": "lip"} for model in STUB_MODELS]

    def diagnostics(self) -> dict[str, Any]:
        return {}

    def unavailable_for(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None
