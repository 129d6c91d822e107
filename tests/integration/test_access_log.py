"""The access log: one line per request, as text or JSON, with ids, route, status and timings; never a prompt,
a key or an auth header."""

from __future__ import annotations

import logging
import os

import orjson
import pytest

from lip.observability import BackgroundHandler, JsonFormatter, configure_logging
from tests.fakes import FakeProvider, Turn
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.operate import CHAT, CLIENT_KEY, call

PROMPT = "my-private-prompt-text-4411"
STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lip.access"]


async def test_one_line_per_request_with_the_exchange_fields(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.script.append(Turn(text="hello"))
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")]}}
    async with run_lip(config, {"P_KEY": CANARY}) as lip:
        body = {"model": "p:gpt-4o", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
        reply = await call(lip.url + "/v1/chat/completions", body, headers={"X-Request-ID": "req-42"})
    assert reply.status == 200
    records = access_records(caplog)
    assert len(records) == 1
    fields = records[0].fields  # type: ignore[attr-defined]
    assert fields["request_id"] == "req-42"
    assert fields["frontend"] == "openai_chat"
    assert fields["selector"] == "p:gpt-4o"
    assert fields["backend"] == "p:gpt-4o"
    assert fields["status"] == 200 and fields["streamed"] is True
    assert fields["ttfb_ms"] >= 0 and fields["duration_ms"] >= fields["ttfb_ms"]
    message = records[0].getMessage()
    assert "request_id=req-42" in message and "backend=p:gpt-4o" in message and "status=200" in message


async def test_tokens_appear_when_the_answer_reports_them(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with run_lip(STUB) as lip:
        await call(lip.url + "/v1/chat/completions", CHAT)
    fields = access_records(caplog)[0].fields  # type: ignore[attr-defined]
    assert (fields["tokens_in"], fields["tokens_out"]) == (8, 3)


async def test_requests_no_frontend_saw_are_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with run_lip(STUB, {"LIP_API_KEY": CLIENT_KEY}) as lip:
        await call(lip.url + "/v1/chat/completions", CHAT)
        await call(lip.url + "/healthz", method="GET")
        await call(lip.url + "/nowhere", method="GET", headers={"x-api-key": CLIENT_KEY})
    records = access_records(caplog)
    assert [(r.fields["path"], r.fields["status"]) for r in records] == [  # type: ignore[attr-defined]
        ("/v1/chat/completions", 401),
        ("/healthz", 200),
        ("/nowhere", 404),
    ]
    assert records[1].levelno == logging.DEBUG  # health checks are quiet
    assert records[2].fields["client"] == "key1"  # type: ignore[attr-defined]


async def test_nothing_secret_reaches_any_log(caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider) -> None:
    caplog.set_level(logging.DEBUG)
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")]}}
    async with run_lip(config, {"P_KEY": CANARY, "LIP_API_KEY": CLIENT_KEY}) as lip:
        body = {"model": "p:gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}
        await call(lip.url + "/v1/chat/completions", body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
        await call(lip.url + "/v1/chat/completions", body, headers={"Authorization": f"Bearer {CLIENT_KEY}x"})
    text = caplog.text + "".join(str(getattr(r, "fields", "")) for r in caplog.records)
    for secret in (PROMPT, CANARY, CLIENT_KEY, "Bearer"):
        assert secret not in text


async def test_access_log_can_be_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with run_lip({**STUB, "logging": {"access_log": False}}) as lip:
        await call(lip.url + "/v1/chat/completions", CHAT)
        await call(lip.url + "/nowhere", method="GET")
    assert access_records(caplog) == []


async def test_a_hostile_selector_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with run_lip(STUB) as lip:
        await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "x\nINFO forged status=200 " + "y" * 500})
    message = access_records(caplog)[0].getMessage()
    assert "\n" not in message
    assert len(message) < 600


async def test_json_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with run_lip(STUB) as lip:
        await call(lip.url + "/v1/chat/completions", CHAT, headers={"X-Request-ID": "abc"})
    line = JsonFormatter().format(access_records(caplog)[0])
    entry = orjson.loads(line)
    assert entry["logger"] == "lip.access" and entry["level"] == "info"
    assert entry["request_id"] == "abc" and entry["status"] == 200 and entry["backend"] == "local-stub:echo"
    assert "message" not in entry and "time" in entry
    other = orjson.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "hi %s", "args": ("there",)})))
    assert other["message"] == "hi there"


def test_configure_logging_picks_the_format_and_writes_off_the_loop(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        root.handlers[:] = []
        configure_logging("warning", "json")
        json_handler = root.handlers[0]
        assert isinstance(json_handler, BackgroundHandler) and root.level == logging.WARNING
        assert isinstance(json_handler.target.formatter, JsonFormatter)
        logging.getLogger("lip.test").warning("as %s", "json")
        configure_logging("debug", "text")  # closes the first handler, which writes what it holds
        text_handler = root.handlers[0]
        assert isinstance(text_handler, BackgroundHandler) and root.level == logging.DEBUG
        logging.getLogger("lip.test").debug("as %s", "text")
        text_handler.close()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = capfd.readouterr().err.splitlines()
    assert orjson.loads(lines[0])["message"] == "as json"
    assert lines[1].endswith(f"DEBUG [{os.getpid()}] lip.test: as text")
