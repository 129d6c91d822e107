"""The text log format: lip's formatter caches the date and time per second; its lines equal logging's own. An
access record is the record logging would make, with the time it was made and the thread that made it."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from lip import observability
from lip.observability import TEXT_FORMAT, FieldsMessage, TextFormatter, _log_access

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


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_an_access_record_is_loggings_own_with_its_time_and_thread() -> None:
    logger = logging.getLogger("lip.test.access_records")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    kept = Kept()
    logger.addHandler(kept)
    try:
        before = time.time()
        _log_access(FIELDS, logging.INFO, logger)
        time.sleep(0.002)
        _log_access(FIELDS, logging.INFO, logger)
        after = time.time()
        other = threading.Thread(target=_log_access, args=(FIELDS, logging.INFO, logger), name="another-thread")
        other.start()
        other.join()
    finally:
        logger.removeHandler(kept)
    first, second, third = kept.records
    made = vars(logger.makeRecord(logger.name, logging.INFO, observability.__file__, 0, "", (), None))
    timed = {"created", "msecs", "relativeCreated", "msg", "fields"}
    assert {k: v for k, v in vars(first).items() if k not in timed} == {k: v for k, v in made.items() if k not in timed}
    assert before <= first.created < second.created <= after  # each its own time, not the first one's
    assert second.msecs == int((second.created - int(second.created)) * 1000)
    assert second.relativeCreated - first.relativeCreated == pytest.approx((second.created - first.created) * 1000)
    present = {k: v for k, v in FIELDS.items() if v is not None}  # a field without a value is left out
    assert str(second.msg) == str(FieldsMessage(present)) and second.fields == present  # type: ignore[attr-defined]
    assert (third.threadName, third.thread) == ("another-thread", other.ident)
