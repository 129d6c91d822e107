"""The error tree of lip; each class carries its HTTP status and a stable code.

::

    LipError                          500 internal_error
    ├── ClientError                   400 invalid_request
    │   ├── InvalidJSON               400 invalid_json
    │   ├── InvalidRequest            400 invalid_request
    │   ├── Unauthorized              401 invalid_api_key
    │   ├── Forbidden                 403 model_not_allowed    (a client key may not use that model)
    │   ├── NotFound                  404 not_found
    │   │   ├── UnknownBackend        404 unknown_backend
    │   │   └── ModelNotFound         404 model_not_found
    │   ├── RequestTimeout            408 request_timeout
    │   ├── BodyTooLarge              413 body_too_large
    │   ├── ContextTooLarge           413 context_length_exceeded (no leaf's context window holds the prompt)
    │   └── UnsupportedTranslation    501 unsupported_translation
    ├── AdmissionRejected             429 admission_full       (carries retry_after)
    │   └── QuotaExceeded             429 rate_limit_exceeded  (a client key's limit; carries the limit's state)
    ├── ServiceUnavailable            503 unavailable          (draining, no backend)
    └── UpstreamError                 502 upstream_error
        ├── UpstreamStatusError       upstream's status        (carries status, parsed body, retry_after)
        ├── UpstreamUnreachable       502 upstream_unreachable (also a ConnectionError)
        ├── UpstreamTimeout           504 upstream_timeout     (also a TimeoutError)
        └── UpstreamProtocolError     502 upstream_bad_response

Rendering into a client's wire shape is the job of each protocol codec; nothing here renders.
"""

from __future__ import annotations

from typing import Any


class LipError(Exception):
    """Base of every error lip reports to a client."""

    status: int = 500
    code: str = "internal_error"
    request_id: str | None = None  # set where lip answers with this error; shapes that carry one (Anthropic) show it

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class ClientError(LipError):
    status = 400
    code = "invalid_request"


class InvalidJSON(ClientError):
    code = "invalid_json"


class InvalidRequest(ClientError):
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class Unauthorized(ClientError):
    status = 401
    code = "invalid_api_key"  # OpenAI's code for a missing or wrong key


class Forbidden(ClientError):
    status = 403
    code = "model_not_allowed"


class NotFound(ClientError):
    status = 404
    code = "not_found"


class UnknownBackend(NotFound):
    code = "unknown_backend"


class ModelNotFound(NotFound):
    code = "model_not_found"


class RequestTimeout(ClientError):
    status = 408
    code = "request_timeout"


class BodyTooLarge(ClientError):
    status = 413
    code = "body_too_large"


class ContextTooLarge(ClientError):
    """Every leaf of the plan was skipped or refused for the prompt's size (lip.routing.context)."""

    status = 413
    code = "context_length_exceeded"  # OpenAI's own code for it (Codex compacts its history on it)


class UnsupportedTranslation(ClientError):
    status = 501
    code = "unsupported_translation"


class AdmissionRejected(LipError):
    status = 429
    code = "admission_full"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceeded(AdmissionRejected):
    """A client key's limit: ``limit`` (requests or tokens) with ``allowed`` in the window that resets in
    ``retry_after`` seconds; ``remaining`` is what is left of it (0 when refused)."""

    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, limit: str, allowed: int, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.limit = limit
        self.allowed = allowed


class ServiceUnavailable(LipError):
    status = 503
    code = "unavailable"


class UpstreamError(LipError):
    status = 502
    code = "upstream_error"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with a non-2xx status; status and parsed body are kept."""

    code = "upstream_status"

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int,
        body: Any = None,
        retry_after: float | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message, status=client_status_for(upstream_status))
        self.upstream_status = upstream_status
        self.body = body
        self.retry_after = retry_after
        self.error_type = error_type


class UpstreamUnreachable(UpstreamError, ConnectionError):
    code = "upstream_unreachable"


class UpstreamTimeout(UpstreamError, TimeoutError):
    status = 504
    code = "upstream_timeout"


class UpstreamProtocolError(UpstreamError):
    code = "upstream_bad_response"


def client_status_for(upstream_status: int) -> int:
    """The status a client sees for an upstream status: 4xx as is, 5xx (and oddities) as 502."""
    if 400 <= upstream_status < 500:
        return upstream_status
    return 502
