"""When to fail over: a plan's attempts run in order (lip.routing.router) only while nothing has reached the client.

An attempt is over once its backend's ``open`` returns, which it does only after the upstream produced its first
item; so every failure seen here happened before the client saw a byte, and whether to try the next leaf depends
only on what failed. Failover triggers: connect errors, timeouts before the first byte, a broken answer, 5xx,
408, 409, 425, 429 (after the leaf's keys are exhausted: the backend rotates keys first), 401/403 (every key of the
leaf was rejected), model not found at the leaf, a prompt longer than the leaf's context window, a leaf at its
concurrency limit, a leaf whose protocol cannot serve this client yet. Never on the client's own mistakes (400,
413, 422, ...).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from lip.backends.base import Target
from lip.errors import (
    AdmissionRejected,
    LipError,
    ModelNotFound,
    UnsupportedTranslation,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from lip.protocols.registry import says_model_missing

log = logging.getLogger(__name__)
FAILOVER_STATUSES = frozenset({401, 403, 404, 408, 409, 425, 429})
# The prompt is too long for this leaf: another leaf (a larger window) may take it. Codes where providers send one
# (OpenAI and the Chat-compatible servers that copy it; llama.cpp's server), else the wording of their messages:
CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error"})
CONTEXT_WORDS = re.compile(
    "|".join(
        (
            r"maximum context length is",  # OpenAI, Azure, vLLM, DeepSeek, OpenRouter ("this endpoint's ...")
            r"exceeds the context window",  # OpenAI Responses ("Your input exceeds the context window of this model")
            r"prompt is too long",  # Anthropic ("prompt is too long: 208656 tokens > 200000 maximum")
            r"input token count.{0,40}exceeds the maximum number of tokens",  # Gemini (INVALID_ARGUMENT)
            r"exceeds the available context size",  # llama.cpp server
            r"context size has been exceeded",  # llama.cpp server (a 500)
            r"input length exceeds the context length",  # Ollama
            r"too large for model with \d+ maximum context length",  # Mistral
            r"input is too long for requested model",  # Amazon Bedrock
        )
    ),
    re.IGNORECASE,
)
MAX_MESSAGE_SCAN = 2000  # characters of an upstream message read for the context-length wordings
LEAF_ERRORS = (
    UpstreamUnreachable,
    UpstreamTimeout,
    UpstreamProtocolError,
    AdmissionRejected,
    UnsupportedTranslation,
    ModelNotFound,
)


def _error_codes(body: Any) -> set[str]:
    """``code`` and ``type`` of a structured upstream error body (OpenAI and Anthropic shapes)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    return {str(error[k]) for k in ("code", "type") if isinstance(error.get(k), str)}


def _codes(body: Any) -> set[str]:
    """``code`` and ``type`` of an error body in the OpenAI shape (which llama.cpp's and vLLM's servers copy)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    return {str(error[k]) for k in ("code", "type") if isinstance(error.get(k), str)}


def is_context_overflow(error: LipError) -> bool:
    """The upstream refused the prompt as longer than the model's context window (its code, else its message: the
    only signal most providers give for it)."""
    if not isinstance(error, UpstreamStatusError) or error.upstream_status < 400:
        return False
    if _codes(error.body) & CONTEXT_CODES:
        return True
    return CONTEXT_WORDS.search(error.message[:MAX_MESSAGE_SCAN]) is not None


def is_model_not_found(error: LipError) -> bool:
    """The leaf does not serve this model: a 404, or an error body that says so (read by the codecs' dialects)."""
    if isinstance(error, ModelNotFound):
        return True
    if not isinstance(error, UpstreamStatusError):
        return False
    return error.upstream_status == 404 or says_model_missing(error.body)


def should_fail_over(error: LipError) -> bool:
    """Whether another leaf may succeed where this one failed (never for the client's own mistakes)."""
    if isinstance(error, LEAF_ERRORS):
        return True
    if isinstance(error, UpstreamStatusError):
        status = error.upstream_status
        return status >= 500 or status in FAILOVER_STATUSES or is_model_not_found(error) or is_context_overflow(error)
    return False


def reason(error: LipError) -> str:
    """A short, stable label of why an attempt was abandoned (for logs, metrics and the exchange record)."""
    if isinstance(error, UpstreamStatusError):
        if is_context_overflow(error):
            return f"http_{error.upstream_status}_context_length_exceeded"
        return f"http_{error.upstream_status}" + ("_model_not_found" if is_model_not_found(error) else "")
    return error.code


def go_on(targets: Sequence[Target], position: int, error: LipError) -> bool:
    """Whether to try the next target after the ``position``-th (from 1) failed with ``error``; says why in the log
    (when False, the caller raises ``error``: failover may not pass it, or no target is left)."""
    passes = should_fail_over(error)
    if not passes:
        then = "not failing over: the request itself was refused"
    elif position < len(targets):
        then = f"failing over to {targets[position].leaf}"
    else:
        then = "no leaf left"
    log.warning(
        "attempt %d/%d at %s abandoned (%s): %s; %s",
        position,
        len(targets),
        targets[position - 1].leaf,
        reason(error),
        error.message,
        then,
    )
    return passes and position < len(targets)
