"""Provider error shapes: `ApiError` (what went wrong) and how OpenAI and Anthropic spell it on the wire.

OpenAI (Chat, Responses, models):  {"error": {"message", "type", "param", "code"}}
Anthropic:                         {"type": "error", "error": {"type", "message"}, "request_id"}
Google (Gemini):                   {"error": {"code", "message", "status", "details"?}}  (`type` holds the status)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ANTHROPIC_TYPES",
    "ApiError",
    "Family",
    "anthropic_error",
    "anthropic_error_body",
    "default_error",
    "error_body",
    "google_error",
    "google_error_body",
    "openai_error",
    "openai_error_body",
]

Family = Literal["openai", "anthropic", "gemini"]

GOOGLE_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_GOOGLE_MESSAGES: dict[int, str] = {
    400: "Request contains an invalid argument.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}

ANTHROPIC_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}
# status -> (type, code, message) as OpenAI answers them
_OPENAI_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass(eq=False)
class ApiError(Exception):
    """An error a provider reports; `type` None means the family's default for `status`."""

    status: int
    message: str
    type: str | None = None
    param: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.type}: {self.message}"


def openai_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """An OpenAI-style request error (type invalid_request_error unless the status implies otherwise)."""
    return ApiError(status, message, _OPENAI_DEFAULTS.get(status, ("invalid_request_error", None, ""))[0], param, code)


def anthropic_error(status: int, message: str) -> ApiError:
    return ApiError(status, message, ANTHROPIC_TYPES.get(status, "api_error"))


def google_error(status: int, message: str) -> ApiError:
    return ApiError(status, message, GOOGLE_STATUS.get(status, "UNKNOWN"))


def default_error(family: Family, status: int) -> ApiError:
    """The error a provider of `family` gives for `status` when a test did not say more."""
    if family == "gemini":
        return google_error(status, _GOOGLE_MESSAGES.get(status, "Error."))
    if family == "anthropic":
        kind = ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return ApiError(status, _ANTHROPIC_MESSAGES[kind], kind)
    fallback = ("server_error", None, "Server error.") if status >= 500 else ("invalid_request_error", None, "Error.")
    kind, code, message = _OPENAI_DEFAULTS.get(status, fallback)
    return ApiError(status, message, kind, None, code)


def openai_error_body(err: ApiError) -> dict[str, Any]:
    kind = err.type or default_error("openai", err.status).type
    return {"error": {"message": err.message, "type": kind, "param": err.param, "code": err.code}}


def anthropic_error_body(err: ApiError) -> dict[str, Any]:
    kind = err.type or default_error("anthropic", err.status).type
    return {
        "type": "error",
        "error": {"type": kind, "message": err.message},
        "request_id": "req_011" + secrets.token_hex(10),
    }


def google_error_body(err: ApiError) -> dict[str, Any]:
    """Google's error; a 429 says when to retry in its RetryInfo detail (Google sends no Retry-After header)."""
    error: dict[str, Any] = {"code": err.status, "message": err.message, "status": err.type or "UNKNOWN"}
    if err.status == 429:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
    return {"error": error}


def error_body(family: Family, err: ApiError) -> dict[str, Any]:
    if family == "gemini":
        return google_error_body(err)
    return anthropic_error_body(err) if family == "anthropic" else openai_error_body(err)
