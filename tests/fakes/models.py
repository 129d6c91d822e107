"""Model listing bodies: OpenAI `{"object": "list", "data": [...]}` and Anthropic's paginated `{"data", "has_more"}`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["anthropic_models", "gemini_model", "gemini_models", "openai_models"]
GEMINI_NOT_GENERATIVE = "text-embedding-004"  # listed by Google, but it cannot generateContent

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def openai_models(ids: list[str]) -> dict[str, Any]:
    data = [
        {"id": model_id, "object": "model", "created": 1735689600 + i * 86400, "owned_by": "system"}
        for i, model_id in enumerate(ids)
    ]
    return {"object": "list", "data": data}


def _display_name(model_id: str) -> str:
    return " ".join(part.capitalize() for part in model_id.replace("_", "-").split("-"))


def anthropic_models(ids: list[str], query: Mapping[str, str], max_limit: int = 1000) -> dict[str, Any]:
    """One page, newest first as Anthropic lists them; honours `limit` (capped at `max_limit`, 1000 on the real
    API), `after_id` and `before_id`."""
    ordered = list(reversed(ids))
    if query.get("after_id") in ordered:
        ordered = ordered[ordered.index(query["after_id"]) + 1 :]
    if query.get("before_id") in ordered:
        ordered = ordered[: ordered.index(query["before_id"])]
    limit = min(int(query.get("limit", "20")), max_limit)
    page = ordered[:limit]
    data = [
        {
            "type": "model",
            "id": model_id,
            "display_name": _display_name(model_id),
            "created_at": (_EPOCH + timedelta(days=ids.index(model_id))).isoformat().replace("+00:00", "Z"),
            "lifecycle": "active",
        }
        for model_id in page
    ]
    return {
        "data": data,
        "has_more": len(ordered) > limit,
        "first_id": page[0] if page else None,
        "last_id": page[-1] if page else None,
    }


def gemini_model(model_id: str) -> dict[str, Any]:
    """One ``Model`` as Google lists it (``models/<id>``, limits, methods); an embedding model cannot generate."""
    embedding = model_id == GEMINI_NOT_GENERATIVE
    return {
        "name": "models/" + model_id,
        "version": "001",
        "displayName": _display_name(model_id),
        "description": f"{_display_name(model_id)}, a test model",
        "inputTokenLimit": 2048 if embedding else 1_048_576,
        "outputTokenLimit": 1 if embedding else 65_536,
        "supportedGenerationMethods": ["embedContent"] if embedding else ["generateContent", "countTokens"],
        **({} if embedding else {"temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True}),
    }


def gemini_models(ids: list[str], query: Mapping[str, str], max_size: int = 1000) -> dict[str, Any]:
    """One page as Google pages it: ``pageSize`` (default 50, at most ``max_size``), ``pageToken`` (opaque: the
    fake's is the position), ``nextPageToken`` while more remain; the embedding model listed last."""
    every = [*ids, GEMINI_NOT_GENERATIVE]
    size = min(int(query.get("pageSize") or 50), max_size)
    start = int(query.get("pageToken") or 0)
    body: dict[str, Any] = {"models": [gemini_model(m) for m in every[start : start + size]]}
    if start + size < len(every):
        body["nextPageToken"] = str(start + size)
    return body
