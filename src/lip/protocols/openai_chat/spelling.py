"""How a Chat provider spells what the codec writes in the common form: the max-tokens field and the field an
assistant turn's reasoning goes back in (a backend row's ``max_tokens_field`` and ``reasoning_field``, or its
preset's).

The Chat codec writes ``max_tokens`` (the most widely supported; OpenAI's reasoning models take only
``max_completion_tokens``) and an assistant turn's reasoning text as ``reasoning_content`` (DeepSeek, Kimi, GLM,
Qwen, vLLM and llama.cpp read it; DeepSeek, Kimi and GLM in thinking mode refuse a tool loop without it). A backend
whose ``reasoning_field`` is ``reasoning`` (OpenRouter, Ollama) gets it under that name; one whose field is ``none``
(OpenAI, which refuses unknown message fields) gets none.
"""

from __future__ import annotations

import logging
from typing import Any

from lip.protocols.codec import BodyFix, Spelling

log = logging.getLogger(__name__)
ENCODED_FIELD = "reasoning_content"  # where openai_chat.encode_request puts it
MAX_TOKENS = "max_tokens"  # and the max tokens


def respelling(spelling: Spelling) -> BodyFix | None:
    """What turns an encoded Chat request into ``spelling``'s; None when it is the common form (most backends)."""
    max_tokens, reasoning = spelling.max_tokens_field, spelling.reasoning_field
    if max_tokens == MAX_TOKENS and reasoning == ENCODED_FIELD:
        return None

    def respell(body: dict[str, Any]) -> dict[str, Any]:
        if max_tokens != MAX_TOKENS and MAX_TOKENS in body:
            body[max_tokens] = body.pop(MAX_TOKENS)
        return place_reasoning(body, reasoning)

    return respell


def place_reasoning(body: dict[str, Any], field: str) -> dict[str, Any]:
    """``body`` (an encoded Chat request) with each assistant turn's reasoning in ``field``, or without it."""
    if field == ENCODED_FIELD:
        return body
    dropped = 0
    for message in body.get("messages") or ():
        if not isinstance(message, dict) or ENCODED_FIELD not in message:
            continue
        text = message.pop(ENCODED_FIELD)
        if field == "none":
            dropped += 1
        else:
            message[field] = text
    if dropped:
        log.debug("dropping reasoning from %d assistant turn(s): the backend's reasoning_field is none", dropped)
    return body
