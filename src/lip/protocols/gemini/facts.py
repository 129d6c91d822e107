"""What lip outside the codec knows of Gemini generateContent: its HTTP dialect (the model in the URL, the stream
always asked as SSE, ``x-goog-api-key``, a model list paged by token), relay rules (``usageMetadata``), override
spellings (inside ``generationConfig``), routes, client key header and query parameter, and model-list shape
(``lip.protocols.codec`` describes each)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lip.canonical.events import Usage
from lip.protocols.codec import HttpDialect, ListedModel, ModelList, RawParams, RelayRules, Route
from lip.protocols.gemini.decoder import usage_from

API_KEY_HEADER = "x-goog-api-key"
MODEL_PREFIX = "models/"  # a model's resource name is models/<id>
GENERATE = "generateContent"
STREAM = "streamGenerateContent"
COUNT = "countTokens"
LIP_KEYS = ("model", "stream")  # what the frontend adds to a client's body from its path (the codec strips them)


def model_entry(entry: Any) -> dict[str, Any] | None:
    """A listed model as lip's discovery reads it: its id from ``name`` (``models/<id>``), its limits; None for a
    model that cannot generate content (embedding and answer models)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    methods = entry.get("supportedGenerationMethods")
    if isinstance(methods, list) and GENERATE not in methods:
        return None
    name: str = entry["name"]
    out: dict[str, Any] = {"id": name.removeprefix(MODEL_PREFIX)}
    for field, ours in (("displayName", "display_name"), ("inputTokenLimit", "max_input_tokens")):
        if field in entry:
            out[ours] = entry[field]
    if "outputTokenLimit" in entry:
        out["max_tokens"] = entry["outputTokenLimit"]
    return out


def key_rejected(status: int, body: Any) -> bool:
    """Google refuses an invalid key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID in its ErrorInfo."""
    error = body.get("error") if status == 400 and isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return isinstance(details, list) and any(
        isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in details
    )


DIALECT = HttpDialect(
    f"models/{{model}}:{GENERATE}",
    "models",
    stream_call_path=f"models/{{model}}:{STREAM}?alt=sse",  # lip always asks a Gemini upstream for SSE
    auth=API_KEY_HEADER,
    models_key="models",
    models_page=("pageSize", 1000),  # the API's largest page
    models_cursor=("pageToken", "nextPageToken", ""),  # no "more" flag: a token means more
    count_tokens_path=f"models/{{model}}:{COUNT}",
    model_entry=model_entry,
    key_rejected=key_rejected,
)
ROUTES = ("/v1beta/", "/v1/models/")
SERVED = (
    Route("POST", "/v1beta/models/{name:.+}", "call"),  # <model>:generateContent, :streamGenerateContent, :countTokens
    Route("GET", "/v1beta/models", "models"),
    Route("GET", "/v1beta/models/{name:.+}", "model"),
    Route("POST", "/v1/models/{name:.+}", "call"),
)
CLIENT_KEY_HEADERS = (API_KEY_HEADER,)
CLIENT_KEY_PARAMS = ("key",)  # ?key=...: the query string is never logged
# Google reads snake_case as well: a body that spells generation_config has its overrides spelled so
RAW_PARAMS: RawParams = {
    "max_tokens": (("generation_config", "max_output_tokens"), ("generationConfig", "maxOutputTokens")),
    "temperature": (("generation_config", "temperature"), ("generationConfig", "temperature")),
    "top_p": (("generation_config", "top_p"), ("generationConfig", "topP")),
    "seed": (("generation_config", "seed"), ("generationConfig", "seed")),
    "reasoning_budget": (
        ("generation_config", "thinking_config", "thinking_budget"),
        ("generationConfig", "thinkingConfig", "thinkingBudget"),
    ),
    "reasoning_effort": (
        ("generation_config", "thinking_config", "thinking_level"),
        ("generationConfig", "thinkingConfig", "thinkingLevel"),
    ),
}


def last_usage(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
    """Every chunk of a Gemini stream reports the usage so far: the last report wins."""
    return usage_from(found[-1])


RELAY = RelayRules(
    # the last chunk names its finishReason (a blocked prompt: its blockReason); an error is an object keyed
    # "error" (compact or pretty-printed)
    terminal_markers=(b'"finishReason"', b'"blockReason"', b'"error"'),
    error_markers=(b'"error"',),
    usage_field="usageMetadata",
    read_usage=last_usage,
)


def render_model(model: ListedModel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": MODEL_PREFIX + model.id,
        "version": "001",
        "displayName": model.display_name,
        "description": f"{model.display_name}, served by lip ({model.owned_by})",
        "supportedGenerationMethods": [GENERATE, STREAM, COUNT],
    }
    if model.context_window is not None:
        out["inputTokenLimit"] = model.context_window
    if model.max_output_tokens is not None:
        out["outputTokenLimit"] = model.max_output_tokens
    return out


def render_models(models: Sequence[ListedModel]) -> dict[str, Any]:
    return {"models": [render_model(m) for m in models]}


def render_page(models: Sequence[ListedModel], size: int, token: str) -> dict[str, Any]:
    """One page of ``size`` models from the position ``token`` names ("" for the first), with the
    ``nextPageToken`` of the next page when there is one."""
    start = int(token) if token.isdigit() else 0
    body = render_models(models[start : start + size])
    if start + size < len(models):
        body["nextPageToken"] = str(start + size)
    return body


# the SDKs send x-goog-api-client; curl users their key: both get this shape from lip's GET /v1/models too
MODEL_LIST = ModelList(render_models, render_model, headers=(API_KEY_HEADER, "x-goog-api-client"))
