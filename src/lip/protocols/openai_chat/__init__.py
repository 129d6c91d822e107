"""OpenAI Chat Completions: the codec (request mapping), the upstream side (decoder) and the client side (encoder)."""

from lip.protocols.openai_chat.codec import NAME, OpenAIChatCodec, effort_for_budget
from lip.protocols.openai_chat.decoder import (
    ERROR_CODE_STATUS,
    ChatStreamDecoder,
    decode_completion,
    upstream_error,
    usage_from,
)
from lip.protocols.openai_chat.encoder import ChatStreamEncoder, encode_completion, error_body

__all__ = [
    "ERROR_CODE_STATUS",
    "NAME",
    "ChatStreamDecoder",
    "ChatStreamEncoder",
    "OpenAIChatCodec",
    "decode_completion",
    "effort_for_budget",
    "encode_completion",
    "error_body",
    "upstream_error",
    "usage_from",
]
