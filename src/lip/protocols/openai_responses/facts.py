"""What lip outside the codec knows of Responses: its HTTP dialect, relay rules, override spellings, routes and
model-list shape (OpenAI's, as for Chat) (``lip.protocols.codec`` describes each)."""

from __future__ import annotations

from typing import Any

from lip.canonical.events import Usage
from lip.protocols.codec import HttpDialect, RawParams, RelayRules, Route
from lip.protocols.openai_chat import facts as chat_facts
from lip.protocols.openai_responses.decoder import usage_from

DIALECT = HttpDialect(  # OpenAI's error shape
    "responses", "models", model_missing=chat_facts.model_missing, backend_fields=("prompt_cache_key",)
)
ROUTES = ("/v1/responses",)
SERVED = (Route("POST", "/v1/responses", "generate"),)
RAW_PARAMS: RawParams = {"max_tokens": (("max_output_tokens",),), "reasoning_effort": (("reasoning", "effort"),)}


def last_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    """Responses reports usage once, in its final event: the last report wins."""
    return usage_from(found[-1])


RELAY = RelayRules(
    terminal_markers=(b"response.completed", b"response.incomplete", b"response.failed", b"event: error"),
    error_markers=(b"response.failed", b"event: error"),
    read_usage=last_usage,
)
