"""Chat reasoning going back upstream: the assistant-message field each Chat backend takes it in.

The Chat codec writes an assistant turn's reasoning text as ``reasoning_content`` (DeepSeek, Kimi, GLM, Qwen, vLLM
and llama.cpp read it; DeepSeek, Kimi and GLM in thinking mode refuse a tool loop without it). A backend whose
``reasoning_field`` is ``reasoning`` (OpenRouter, Ollama) gets it under that name; one whose field is ``none``
(OpenAI, which refuses unknown message fields) gets none.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
ENCODED_FIELD = "reasoning_content"  # where openai_chat.encode_request puts it


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
