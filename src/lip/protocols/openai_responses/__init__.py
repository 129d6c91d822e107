"""OpenAI Responses: the codec (request mapping, previous_response_id), its input items and tools (items, tools), its
output items and response object (output), the upstream side (decoder) and the client side (encoder)."""

from lip.protocols.openai_responses.codec import (
    NAME,
    OpenAIResponsesCodec,
    conversation_to_store,
    encode_request,
    prepend_previous,
    previous_response_id,
    previous_response_not_found,
    should_store,
)
from lip.protocols.openai_responses.decoder import ResponsesStreamDecoder, decode_response, usage_from
from lip.protocols.openai_responses.encoder import ResponsesStreamEncoder, encode_response, response_id_for

__all__ = [
    "NAME",
    "OpenAIResponsesCodec",
    "ResponsesStreamDecoder",
    "ResponsesStreamEncoder",
    "conversation_to_store",
    "decode_response",
    "encode_request",
    "encode_response",
    "prepend_previous",
    "previous_response_id",
    "previous_response_not_found",
    "response_id_for",
    "should_store",
    "usage_from",
]
