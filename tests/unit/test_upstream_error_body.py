"""parse_body: an upstream error body as JSON, as the first JSON object of an SSE-framed body, or as its whole text."""

from __future__ import annotations

from typing import Any

import pytest

from lip.backends.upstream import parse_body


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (b'{"error": {"message": "no"}}', {"error": {"message": "no"}}),
        (b"[1, 2]", [1, 2]),
        (
            b'data: {"error": {"message": "resting", "type": "server_error"}}\n\n',
            {"error": {"message": "resting", "type": "server_error"}},
        ),
        (
            b'event: error\r\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
            b"\r\n\r\n",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ),
        (b': comment\n\ndata: not json\n\ndata: {"error": "second"}', {"error": "second"}),  # unterminated last event
        (b"data: [DONE]\n\n", "data: [DONE]\n\n"),  # no object in it: the text
        (b"<html>502</html>", "<html>502</html>"),
        (b"x" * 5000, "x" * 5000),  # whole: the backend redacts, then cuts its excerpt
    ],
)
def test_an_error_body_is_read_as_json_then_sse_then_text(raw: bytes, parsed: Any) -> None:
    assert parse_body(raw) == parsed
