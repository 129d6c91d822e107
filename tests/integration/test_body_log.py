"""The body log (``logging.log_bodies``): off by default; on, one ``lip.bodies`` record per generation request with
the request body and the response body lip returned (JSON, SSE bytes or error body), cut at the cap, keys redacted,
joined to the access log by the request id; a reload switches it for new requests."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from lip.credentials import REDACTED
from lip.exchange import Exchange
from lip.runtime import RUNTIME
from tests.fakes import FakeProvider, Stall, Turn
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.matrix import CLIENT_PATH, MODEL, PREFIX, SAME, matrix_config
from tests.integration.operate import CLIENT_KEY, Reply, call, run_lip_file, write_config

PROMPT = "my-private-prompt-text-4411"
ON = {"logging": {"log_bodies": True}}
STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}
CLIENTS = ("chat", "responses", "messages")
FRONTEND = {"chat": "openai_chat", "responses": "openai_responses", "messages": "anthropic_messages"}


def request_body(client: str, model: str, stream: bool, text: str = PROMPT) -> dict[str, Any]:
    if client == "responses":
        return {"model": model, "stream": stream, "input": text}
    body: dict[str, Any] = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}
    return {**body, "max_tokens": 64} if client == "messages" else body


def body_fields(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.name == "lip.bodies"]  # type: ignore[attr-defined]


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.text + "".join(str(getattr(r, "fields", "")) for r in caplog.records)


async def send(url: str, client: str, body: dict[str, Any] | bytes, request_id: str) -> tuple[bytes, Reply]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"X-Request-ID": request_id, "anthropic-version": "2023-06-01"}
    return raw, await call(url + CLIENT_PATH[client], raw, headers=headers)


def assert_logged(fields: dict[str, Any], raw: bytes, reply: Reply, request_id: str) -> None:
    """The record holds exactly what the client sent and got back (both under the cap), and the request id."""
    assert fields["request_id"] == request_id == reply.headers["X-Request-ID"]
    assert fields["status"] == reply.status
    assert fields["request_body"] == raw.decode() and fields["request_bytes"] == len(raw)
    assert fields["response_body"] == reply.body.decode() and fields["response_bytes"] == len(reply.body)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("client", CLIENTS)
async def test_translated_answers_are_logged_with_the_request(
    caplog: pytest.LogCaptureFixture, client: str, stream: bool
) -> None:
    caplog.set_level(logging.INFO)
    async with run_lip({**STUB, **ON}) as lip:
        raw, reply = await send(lip.url, client, request_body(client, "local-stub:echo", stream), f"{client}-1")
    assert reply.status == 200 and PROMPT.encode() in reply.body
    [fields] = body_fields(caplog)
    assert_logged(fields, raw, reply, f"{client}-1")
    assert fields["frontend"] == FRONTEND[client]
    assert (b"data:" in reply.body) is stream  # streams are logged as the SSE bytes the client received
    access = [r.fields for r in caplog.records if r.name == "lip.access"]  # type: ignore[attr-defined]
    assert [a["request_id"] for a in access] == [f"{client}-1"]  # joins the access-log line
    assert all(PROMPT not in str(a) for a in access)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("client", CLIENTS)
async def test_relayed_answers_are_logged_byte_for_byte(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider, client: str, stream: bool
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.script.append(Turn(text="relayed", chunks=1))
    backend = next(b for b, c in SAME.items() if c == client)
    model = f"{PREFIX[backend]}:{MODEL[backend]}"
    async with run_lip({**matrix_config(fake_provider), **ON}) as lip:
        raw, reply = await send(lip.url, client, request_body(client, model, stream), "relay-1")
    assert reply.status == 200 and b"relayed" in reply.body
    assert_logged(body_fields(caplog)[0], raw, reply, "relay-1")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("client", CLIENTS)
async def test_error_answers_are_logged(caplog: pytest.LogCaptureFixture, client: str, stream: bool) -> None:
    caplog.set_level(logging.INFO)
    async with run_lip({**STUB, **ON}) as lip:
        raw, unknown = await send(lip.url, client, request_body(client, "nowhere:model", stream), "err-1")
        broken, invalid = await send(lip.url, client, b'{"model": "local-stub:echo", ' + PROMPT.encode(), "err-2")
    first, second = body_fields(caplog)
    assert unknown.status == 404 and b"nowhere" in unknown.body
    assert_logged(first, raw, unknown, "err-1")
    assert invalid.status == 400
    assert_logged(second, broken, invalid, "err-2")  # a body that is not JSON is logged as it came


@pytest.mark.parametrize("upstream", [Stall(0.25, Turn(text="late", chunks=1)), Stall(2.0)], ids=["late", "timeout"])
async def test_a_stream_committed_by_keepalive_comments_is_logged_whole(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider, upstream: Stall
) -> None:
    caplog.set_level(logging.INFO)
    fake_provider.queue(upstream)
    timeouts = {"first_byte_s": 0.4, "idle_s": 1, "total_s": 5}
    row = backend_row("a", fake_provider.url + "/v1", keepalive_s=0.05, timeouts=timeouts)
    async with run_lip({"plugins": {"backends": [row]}, **ON}) as lip:
        raw, reply = await send(lip.url, "chat", request_body("chat", "a:gpt-4o", True), "ka")
    assert reply.body.startswith(b": keep-alive\n\n") and (b"late" in reply.body or b"error" in reply.body)
    assert_logged(body_fields(caplog)[0], raw, reply, "ka")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_bodies_are_cut_at_the_cap_with_the_count_of_bytes_cut(
    caplog: pytest.LogCaptureFixture, stream: bool
) -> None:
    caplog.set_level(logging.INFO)
    config = {**STUB, "logging": {"log_bodies": True, "log_bodies_max_bytes": 1024}}
    long_prompt = " ".join(["word"] * 2000)
    async with run_lip(config) as lip:
        raw, reply = await send(lip.url, "chat", request_body("chat", "local-stub:echo", stream, long_prompt), "cap")
    assert reply.status == 200 and len(reply.body) > 2048
    [fields] = body_fields(caplog)
    for name, sent in (("request", raw), ("response", reply.body)):
        shown, marker = fields[f"{name}_body"].rsplit("...", 1)
        assert shown.encode() == sent[:1024]
        assert marker == f"[{len(sent) - 1024} bytes cut]" and fields[f"{name}_bytes"] == len(sent)


async def test_keys_are_redacted_even_when_a_client_or_an_upstream_quotes_them(
    caplog: pytest.LogCaptureFixture, fake_provider: FakeProvider
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = [{"id": "local-stub", "kind": "local-stub"}, backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")]
    config = {"plugins": {"backends": rows}, "logging": {"log_bodies": True, "log_bodies_max_bytes": 1024}}
    quoted = f"backend {CANARY} client {CLIENT_KEY}"
    at = orjson.dumps(request_body("chat", "local-stub:echo", False, CANARY)).index(CANARY.encode())
    pad = 1024 - 6 - at  # the canary starts 6 bytes before the cap: the cap cuts through it
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    async with run_lip(config, {"P_KEY": CANARY, "LIP_API_KEY": CLIENT_KEY}) as lip:
        url = lip.url + CLIENT_PATH["chat"]
        for stream in (False, True):
            answer = await call(url, request_body("chat", "local-stub:echo", stream, quoted), headers=auth)
            assert CANARY.encode() in answer.body  # the client gets its own echo back
        straddling = request_body("chat", "local-stub:echo", False, "a" * pad + CANARY)
        assert orjson.dumps(straddling).index(CANARY.encode()) == 1018
        await call(url, straddling, headers=auth)
    records = body_fields(caplog)
    assert len(records) == 3
    for fields in records[:2]:
        assert REDACTED in fields["request_body"] and REDACTED in fields["response_body"]
    assert records[2]["request_body"].startswith('{"model"') and "sk-CAN" not in records[2]["request_body"]
    text = everything_logged(caplog)
    for secret in (CANARY, CLIENT_KEY, "Bearer", CANARY[:6]):
        assert secret not in text


async def test_off_by_default_and_a_reload_switches_it_for_new_requests(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    path = str(tmp_path / "lip.yaml")
    write_config(path, STUB)
    seen: list[Exchange] = []
    async with run_lip_file(path, {}) as (app, url):
        app[RUNTIME].current.observers.append(lambda _http, exchange: seen.append(exchange))
        for stream in (False, True):
            await send(url, "chat", request_body("chat", "local-stub:echo", stream), "off")
        assert body_fields(caplog) == [] and PROMPT not in everything_logged(caplog)
        assert [e.bodies for e in seen] == [None, None]  # off: nothing is recorded, not even for a stream
        for logging_config, request_id in (({"log_bodies": True}, "on"), ({"log_bodies": False}, "off-again")):
            write_config(path, {**STUB, "logging": logging_config})
            assert (await call(url + "/admin/reload")).status == 200
            for stream in (False, True):
                await send(url, "chat", request_body("chat", "local-stub:echo", stream), request_id)
    assert [f["request_id"] for f in body_fields(caplog)] == ["on", "on"]
