"""The text log format: lip's formatter caches the date and time per second; its lines equal logging's own."""

from __future__ import annotations

import logging

from lip.observability import TEXT_FORMAT, FieldsMessage, TextFormatter

FIELDS = {"request_id": "ab-1", "status": 200, "streamed": True, "ttfb_ms": 0.4, "path": "/v1/x y", "n": None}


def record(created: float) -> logging.LogRecord:
    made = logging.LogRecord("lip.access", logging.INFO, __file__, 0, FieldsMessage(FIELDS), (), None)
    made.created, made.msecs = created, (created - int(created)) * 1000
    return made


def test_text_lines_equal_loggings_own_across_seconds() -> None:
    ours, standard = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for created in (1_790_000_000.123, 1_790_000_000.987, 1_790_000_001.004, 1_790_003_601.5):
        assert ours.format(record(created)) == standard.format(record(created))


def test_access_fields_are_plain_or_quoted() -> None:
    text = str(FieldsMessage(FIELDS))
    assert text == 'request_id=ab-1 status=200 streamed=true ttfb_ms=0.4 path="/v1/x y" n=None'
