"""Anthropic Messages: the codec (request mapping), its content blocks (blocks), the upstream side (decoder) and
the client side (encoder)."""

from lip.protocols.anthropic_messages.codec import NAME, AnthropicMessagesCodec, decode_request, encode_request
from lip.protocols.anthropic_messages.decoder import AnthropicStreamDecoder, UsageTally, decode_message, upstream_error
from lip.protocols.anthropic_messages.encoder import AnthropicStreamEncoder, encode_message, error_body, usage_body

__all__ = [
    "NAME",
    "AnthropicMessagesCodec",
    "AnthropicStreamDecoder",
    "AnthropicStreamEncoder",
    "UsageTally",
    "decode_message",
    "decode_request",
    "encode_message",
    "encode_request",
    "error_body",
    "upstream_error",
    "usage_body",
]
