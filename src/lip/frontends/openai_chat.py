"""POST /v1/chat/completions."""

from __future__ import annotations

from lip.frontends.endpoint import Context, Endpoint, Frontend
from lip.protocols.openai_chat import OpenAIChatCodec


def frontend() -> Frontend:
    endpoint = Endpoint(OpenAIChatCodec(), Context)
    return Frontend(endpoint.codec, {"generate": endpoint.handle})
