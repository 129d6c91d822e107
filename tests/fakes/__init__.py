"""Fake LLM providers: real local HTTP servers speaking OpenAI Chat, OpenAI Responses and Anthropic Messages.

    async with FakeProvider() as fake:                      # or the `fake_provider` fixture (tests.fakes.fixtures)
        fake.queue(Turn(text="hi", tool_calls=[FakeToolCall("f", '{"a": 1}')]), Fail(429))
        fake.keys = {"k-good": None, "k-429": Fail(429, headers={"retry-after": "7"})}
        fake.responder = lambda view: Turn(text=view.tool_results[-1])   # answers when the script is empty
        ...point lip (or an SDK) at fake.url..., then inspect fake.received / fake.client_gone

`tests.fakes.conformance` checks bodies and SSE transcripts strictly against the official SDK types.
"""

from __future__ import annotations

from tests.fakes.errors import ApiError
from tests.fakes.script import (
    Action,
    BadUsage,
    Bomb,
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeToolCall,
    FakeUsage,
    HtmlErrorPage,
    HugeLine,
    HugeResponse,
    IgnoreStream,
    MalformedSSE,
    NonObjectBody,
    OkWithErrorBody,
    OrphanDeltas,
    Redirect,
    SSEFramedError,
    Stall,
    StallMidStream,
    Turn,
)
from tests.fakes.server import DEFAULT_MODELS, FakeProvider, ModelsBehaviour, Received

__all__ = [
    "DEFAULT_MODELS",
    "Action",
    "ApiError",
    "BadUsage",
    "Bomb",
    "DisconnectAfter",
    "ErrorMidStream",
    "Fail",
    "FakeProvider",
    "FakeToolCall",
    "FakeUsage",
    "HtmlErrorPage",
    "HugeLine",
    "HugeResponse",
    "IgnoreStream",
    "MalformedSSE",
    "ModelsBehaviour",
    "NonObjectBody",
    "OkWithErrorBody",
    "OrphanDeltas",
    "Received",
    "Redirect",
    "SSEFramedError",
    "Stall",
    "StallMidStream",
    "Turn",
]
