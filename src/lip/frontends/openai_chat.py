"""POST /v1/chat/completions."""

from __future__ import annotations

from lip.frontends.endpoint import Context, Endpoint
from lip.protocols.openai_chat import OpenAIChatCodec


def chat_completions() -> Endpoint[Context]:
    return Endpoint(OpenAIChatCodec(), Context)
