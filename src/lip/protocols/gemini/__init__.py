"""Gemini generateContent: the codec (request mapping), its parts and settings (parts, params, schema), thought
signature carriers (wire), the upstream side (decoder) and the client side (encoder)."""

from lip.protocols.gemini.codec import NAME, GeminiCodec, decode_count_tokens, decode_request, encode_request
from lip.protocols.gemini.decoder import GeminiStreamDecoder, decode_response, upstream_error, usage_from
from lip.protocols.gemini.encoder import GeminiStreamEncoder, encode_response, error_body, usage_body

__all__ = [
    "NAME",
    "GeminiCodec",
    "GeminiStreamDecoder",
    "GeminiStreamEncoder",
    "decode_count_tokens",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "error_body",
    "upstream_error",
    "usage_body",
    "usage_from",
]
