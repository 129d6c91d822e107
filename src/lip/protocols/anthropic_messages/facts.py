"""What lip outside the codec knows of Anthropic Messages: its HTTP dialect, relay rules, override spellings,
routes, client key header and model-list shape (``lip.protocols.codec`` describes each)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from lip.canonical.events import Usage
from lip.protocols.anthropic_messages.decoder import UsageTally
from lip.protocols.codec import (
    HttpDialect,
    ListedModel,
    ModelList,
    RawParams,
    RelayRules,
    Route,
    StopFix,
    error_code_in,
)

VERSION = "2023-06-01"  # anthropic-version, when the client sent none
MODEL_MISSING = frozenset({"not_found_error"})


def model_missing(body: Any) -> bool:
    """Anthropic's error type for a model that does not exist."""
    return error_code_in(body, MODEL_MISSING)


DIALECT = HttpDialect(
    "v1/messages",
    "v1/models",
    auth="x-api-key",
    forwarded_headers=("anthropic-beta",),
    default_headers=(("anthropic-version", VERSION),),
    models_page=("limit", 1000),  # Anthropic's largest page
    models_cursor=("after_id", "last_id", "has_more"),
    count_tokens_path="v1/messages/count_tokens",
    model_missing=model_missing,
)
ROUTES = ("/v1/messages", "/messages")
SERVED = (Route("POST", "/v1/messages", "generate"), Route("POST", "/v1/messages/count_tokens", "count_tokens"))
CLIENT_KEY_HEADERS = ("x-api-key",)
RAW_PARAMS: RawParams = {"reasoning_effort": (("output_config", "effort"),)}


def fix_body_stop(body: dict[str, Any]) -> bool:
    """A message that calls tools but says ``end_turn`` gets ``tool_use``; whether it changed."""
    if body.get("stop_reason") != "end_turn":
        return False
    blocks = body.get("content")
    if isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in blocks):
        body["stop_reason"] = "tool_use"
        return True
    return False


def tallied_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    """Anthropic's reports add up (input in ``message_start``, output in ``message_delta``): later fields overwrite
    earlier ones."""
    tally = UsageTally()
    usage = None
    for obj in found:
        usage = tally.update(obj) or usage
    return usage, tally.counts.dropped


RELAY = RelayRules(
    terminal_markers=(b"message_stop", b"event: error"),
    error_markers=(b"event: error",),
    stop_fix=StopFix(
        b"tool_use",
        re.compile(rb'"type"\s*:\s*"tool_use"'),
        b'"end_turn"',
        re.compile(rb'("stop_reason"\s*:\s*)"end_turn"'),
        rb'\1"tool_use"',
    ),
    fix_body_stop=fix_body_stop,
    read_usage=tallied_usage,
)


def _model(model: ListedModel) -> dict[str, Any]:
    created = datetime.fromtimestamp(model.created, tz=UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.display_name,
        "created_at": created,
        "lifecycle": "active",  # required by the API's ModelInfo; lip lists only models it can call
        "max_input_tokens": model.context_window,  # ModelInfo's own fields; null when unknown
        "max_tokens": model.max_output_tokens,
    }


def render_models(models: Sequence[ListedModel]) -> dict[str, Any]:
    data = [_model(m) for m in models]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


MODEL_LIST = ModelList(render_models, _model, headers=("anthropic-version",))
