"""What lip outside the codec knows of Gemini generateContent: its HTTP dialect, relay rules, override spellings,
routes, client key header and model-list shape (``lip.protocols.codec`` describes each).

The first cut, enough for the codec package to import; the Gemini frontend and backend fill it in."""

from __future__ import annotations

from typing import Any

from lip.canonical.events import Usage
from lip.protocols.codec import HttpDialect, ModelList, RawParams, RelayRules
from lip.protocols.gemini.decoder import usage_from

DIALECT = HttpDialect(
    "v1beta/models/{model}:generateContent",
    "v1beta/models",
    stream_call_path="v1beta/models/{model}:streamGenerateContent?alt=sse",
    auth="x-goog-api-key",
    models_key="models",
    models_page=("pageSize", 1000),
    models_cursor=("pageToken", "nextPageToken", ""),
)
ROUTES = ("/v1beta/models",)
CLIENT_KEY_HEADERS = ("x-goog-api-key",)
RAW_PARAMS: RawParams = {"max_tokens": (("generationConfig", "maxOutputTokens"),)}


def last_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    """Each chunk's ``usageMetadata`` holds the counts so far: the last report wins."""
    return usage_from(found[-1])


RELAY = RelayRules(
    terminal_markers=(b'"finishReason"', b'"blockReason"', b'{"error"'),
    error_markers=(b'{"error"',),
    usage_field="usageMetadata",
    read_usage=last_usage,
)
MODEL_LIST: ModelList | None = None
