"""What lip outside the codec knows of Chat Completions: its HTTP dialect, relay rules, override spellings, routes,
client key header and model-list shape (``lip.protocols.codec`` describes each)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lip.canonical.events import Usage
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
from lip.protocols.openai_chat.decoder import usage_from
from lip.protocols.openai_chat.spelling import respelling


def model_missing(body: Any) -> bool:
    """OpenAI's error code for a model the key cannot use or that does not exist."""
    return error_code_in(body, MODEL_MISSING)


MODEL_MISSING = frozenset({"model_not_found"})
# a Chat row may say where max tokens go and where reasoning goes back (spelling.py)
DIALECT = HttpDialect(
    "chat/completions",
    "models",
    respelling=respelling,
    model_missing=model_missing,
    backend_fields=("max_tokens_field", "reasoning_field", "prompt_cache_key"),
)
ROUTES = ("/v1/chat/completions", "/chat/completions")
SERVED = tuple(Route("POST", path, "generate") for path in ROUTES)
CLIENT_KEY_HEADERS = ("api-key",)  # Azure OpenAI's clients
RAW_PARAMS: RawParams = {"max_tokens": (("max_completion_tokens",), ("max_tokens",))}


def fix_body_stop(body: dict[str, Any]) -> bool:
    """A single choice that calls tools but says ``stop`` gets ``tool_calls``; whether it changed."""
    choices = body.get("choices")
    if not isinstance(choices, list) or len(choices) != 1:
        return False
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if isinstance(message, dict) and message.get("tool_calls") and choice.get("finish_reason") == "stop":
        choice["finish_reason"] = "tool_calls"
        return True
    return False


def last_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    """The OpenAI protocols report usage once, at the end: the last report wins."""
    return usage_from(found[-1])


RELAY = RelayRules(
    terminal_markers=(b"[DONE]", b'"finish_reason":"', b'"finish_reason": "', b'{"error"'),
    error_markers=(b'{"error"',),
    stop_fix=StopFix(
        b'"tool_calls"',
        re.compile(rb'"tool_calls"\s*:\s*\[\s*\{'),
        b'"stop"',
        re.compile(rb'("finish_reason"\s*:\s*)"stop"'),
        rb'\1"tool_calls"',
    ),
    fix_body_stop=fix_body_stop,
    answers_field="n",
    read_usage=last_usage,
)


def _model(model: ListedModel) -> dict[str, Any]:
    out: dict[str, Any] = {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}
    if model.context_window is not None:  # lip's additions, when known (clients that do not read them ignore them)
        out["context_window"] = model.context_window
    if model.max_output_tokens is not None:
        out["max_output_tokens"] = model.max_output_tokens
    return out


def render_models(models: Sequence[ListedModel]) -> dict[str, Any]:
    return {"object": "list", "data": [_model(m) for m in models]}


MODEL_LIST = ModelList(render_models, _model)
