"""Which failures move a request to the next leaf: the leaf's own trouble, never the client's mistakes."""

from __future__ import annotations

import pytest

from lip.errors import (
    AdmissionRejected,
    BodyTooLarge,
    InvalidRequest,
    LipError,
    ModelNotFound,
    UnsupportedTranslation,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from lip.routing.failover import is_model_not_found, reason, should_fail_over


def status(code: int, body: object = None) -> UpstreamStatusError:
    return UpstreamStatusError(f"HTTP {code}", upstream_status=code, body=body)


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnreachable("refused"),
        UpstreamTimeout("no first byte"),
        UpstreamProtocolError("garbage"),
        AdmissionRejected("full"),
        UnsupportedTranslation("not yet"),
        ModelNotFound("no such model"),
        *(status(code) for code in (500, 502, 503, 504, 529, 408, 429, 404, 401, 403)),
        status(400, {"error": {"message": "x", "type": "invalid_request_error", "code": "model_not_found"}}),
    ],
    ids=repr,
)
def test_fails_over(error: LipError) -> None:
    assert should_fail_over(error)


@pytest.mark.parametrize(
    "error",
    [
        status(400),
        status(413),
        status(422),
        status(400, {"error": {"message": "context too long", "type": "invalid_request_error"}}),
        InvalidRequest("bad selector parameter"),
        BodyTooLarge("too big"),
    ],
    ids=repr,
)
def test_does_not_fail_over(error: LipError) -> None:
    assert not should_fail_over(error)


def test_model_not_found_is_read_from_status_or_structured_body_never_from_the_message() -> None:
    assert is_model_not_found(status(404))
    assert is_model_not_found(status(400, {"type": "error", "error": {"type": "not_found_error", "message": "m"}}))
    assert not is_model_not_found(status(400, {"error": {"message": "model not found", "type": "x"}}))


def test_reasons_are_short_and_stable() -> None:
    assert reason(status(503)) == "http_503"
    assert reason(status(404)) == "http_404_model_not_found"
    assert reason(UpstreamTimeout("x")) == "upstream_timeout"
