"""``logging.trace_streams``: off by default; on, the body log's one ``lip.bodies`` record of a request also holds the
upstream's bytes as they arrived and the canonical events translation made of them, beside the bytes the client got,
each cut at ``log_bodies_max_bytes`` and every key redacted."""

from __future__ import annotations

import logging

import pytest

from lip.credentials import REDACTED
from tests.fakes import FakeProvider, Turn
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.matrix import matrix_config
from tests.integration.test_body_log import body_fields, everything_logged, request_body, send

TRACE = {"logging": {"trace_streams": True}}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_translated_answer_is_traced_from_the_upstream_bytes_to_the_client_bytes(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider, stream: bool
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(Turn(text="traced words", chunks=2))
    async with run_lip({**matrix_config(fake_provider), **TRACE}) as lip:
        raw, reply = await send(lip.url, "chat", request_body("chat", "an:claude-test", stream), "t-1")
    assert reply.status == 200
    [fields] = body_fields(caplog)
    assert fields["request_body"] == raw.decode() and fields["response_body"] == reply.body.decode()
    upstream = fields["upstream_body"]
    assert fields["upstream_bytes"] == len(upstream.encode())
    if stream:  # Anthropic's SSE as it came, its events, then Chat chunks to the client
        assert "event: message_start" in upstream and "event: message_stop" in upstream
        assert "TextDelta(text='traced')\nTextDelta(text=' words')\n" in fields["events"]
        assert "chat.completion.chunk" in fields["response_body"]
    else:
        assert '"type":"message"' in upstream.replace(" ", "") and "traced words" in upstream
        assert "chat.completion" in fields["response_body"]
    assert fields["events"].startswith("MessageStart(") and "MessageEnd(stop_reason=" in fields["events"]


async def test_a_relayed_stream_is_traced_as_the_same_bytes_without_events(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(Turn(text="relayed", chunks=1))
    async with run_lip({**matrix_config(fake_provider), **TRACE}) as lip:
        _, reply = await send(lip.url, "chat", request_body("chat", "oc:gpt-4o", True), "t-2")
    [fields] = body_fields(caplog)
    assert fields["upstream_body"] == fields["response_body"] == reply.body.decode()
    assert fields["upstream_bytes"] == len(reply.body) and fields["events"] == ""


async def test_the_trace_is_cut_at_the_cap_and_says_how_much_was_cut(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(Turn(text=" ".join(["word"] * 400), chunks=40))
    config = {**matrix_config(fake_provider), "logging": {"trace_streams": True, "log_bodies_max_bytes": 512}}
    async with run_lip(config) as lip:
        _, reply = await send(lip.url, "chat", request_body("chat", "an:claude-test", True), "t-3")
    assert reply.status == 200
    [fields] = body_fields(caplog)
    for name in ("upstream_body", "events", "response_body"):
        shown, marker = fields[name].rsplit("...", 1)
        assert len(shown.encode()) <= 512 and marker.startswith("[") and marker.endswith(" bytes cut]")
    _, cut = fields["upstream_body"].rsplit("...", 1)
    assert cut == f"[{fields['upstream_bytes'] - 512} bytes cut]"


async def test_a_key_the_upstream_quotes_is_redacted_in_the_trace(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_provider.queue(Turn(text=f"your key is {CANARY}", chunks=1))
    row = backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")
    async with run_lip({"plugins": {"backends": [row]}, **TRACE}, {"P_KEY": CANARY}) as lip:
        _, reply = await send(lip.url, "messages", request_body("messages", "p:gpt-4o", True), "t-4")
    assert CANARY.encode() in reply.body  # the client gets the upstream's answer
    [fields] = body_fields(caplog)
    assert REDACTED in fields["upstream_body"] and REDACTED in fields["events"]
    assert CANARY not in everything_logged(caplog) and CANARY[:6] not in everything_logged(caplog)


async def test_off_by_default_the_body_log_has_no_trace(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(Turn(text="plain", chunks=1))
    async with run_lip({**matrix_config(fake_provider), "logging": {"log_bodies": True}}) as lip:
        await send(lip.url, "chat", request_body("chat", "an:claude-test", True), "t-5")
    [fields] = body_fields(caplog)
    assert "upstream_body" not in fields and "events" not in fields and "plain" in fields["response_body"]
