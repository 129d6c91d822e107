"""Fake LLM providers: real local HTTP servers speaking OpenAI Chat, OpenAI Responses and Anthropic Messages."""

from __future__ import annotations

from tests.fakes.errors import ApiError
from tests.fakes.script import (
    Action,
    DisconnectAfter,
    ErrorMidStream,
    Fail,
    FakeToolCall,
    FakeUsage,
    HtmlErrorPage,
    HugeResponse,
    MalformedSSE,
    OkWithErrorBody,
    Stall,
    StallMidStream,
    Turn,
)
from tests.fakes.server import DEFAULT_MODELS, FakeProvider, ModelsBehaviour, Received

__all__ = [
    "DEFAULT_MODELS",
    "Action",
    "ApiError",
    "DisconnectAfter",
    "ErrorMidStream",
    "Fail",
    "FakeProvider",
    "FakeToolCall",
    "FakeUsage",
    "HtmlErrorPage",
    "HugeResponse",
    "MalformedSSE",
    "ModelsBehaviour",
    "OkWithErrorBody",
    "Received",
    "Stall",
    "StallMidStream",
    "Turn",
]
