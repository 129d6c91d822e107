"""Kind -> factory; the only module that knows every backend kind and every codec."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import aiohttp

from lip.backends.base import Backend
from lip.backends.http import HttpBackend
from lip.backends.local_stub import LocalStubBackend
from lip.config.load import BackendSpec
from lip.protocols.codec import Codec

# protocol name -> "module:Class" of its codec; a protocol whose module is missing is served as 501
CODEC_CLASSES = {
    "openai_chat": "lip.protocols.openai_chat:OpenAIChatCodec",
    "openai_responses": "lip.protocols.openai_responses:OpenAIResponsesCodec",
    "anthropic_messages": "lip.protocols.anthropic_messages:AnthropicMessagesCodec",
}


def load_codec(protocol: str) -> Codec | None:
    target = CODEC_CLASSES.get(protocol)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    codec: Codec = getattr(module, class_name)()
    return codec


def build_backend(spec: BackendSpec, session: aiohttp.ClientSession, env: Mapping[str, str]) -> Backend:
    if spec.protocol == "local":
        return LocalStubBackend(spec)
    return HttpBackend(spec, load_codec(spec.protocol), session, env)
