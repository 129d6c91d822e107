"""X-Request-ID: accepted from the client (sanitised, at most 128 characters) or generated; on every response."""

from __future__ import annotations

import re

import aiohttp
import pytest
import yaml
from aiohttp import web

from lip.config.load import load_text
from lip.server import create_app
from tests.harness import CANARY, free_port, run_lip
from tests.integration.operate import CHAT, CLIENT_KEY, call

STUB = {"server": {"max_body_bytes": 4096}, "plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}


async def test_generated_on_every_kind_of_response() -> None:
    async with run_lip(STUB, {"LIP_API_KEY": CLIENT_KEY}) as lip:
        auth = {"x-api-key": CLIENT_KEY}
        replies = [
            await call(lip.url + "/v1/chat/completions", CHAT, headers=auth),
            await call(lip.url + "/v1/chat/completions", {**CHAT, "stream": True}, headers=auth),
            await call(lip.url + "/v1/chat/completions", CHAT),  # 401
            await call(lip.url + "/v1/chat/completions", b"{", headers=auth),  # 400
            await call(lip.url + "/v1/chat/completions", {"x": "y" * 5000}, headers=auth),  # 413
            await call(lip.url + "/nowhere", method="GET", headers=auth),  # 404
            await call(lip.url + "/v1/chat/completions", method="GET", headers=auth),  # 405
            await call(lip.url + "/healthz", method="GET"),
        ]
    assert [r.status for r in replies] == [200, 200, 401, 400, 413, 404, 405, 200]
    ids = [r.headers["X-Request-ID"] for r in replies]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


async def test_a_client_id_is_kept_sanitised_and_bounded() -> None:
    async with run_lip(STUB) as lip:
        url = lip.url + "/v1/chat/completions"
        kept = await call(url, CHAT, headers={"X-Request-ID": "trace-1:abc/def"})
        cleaned = await call(url, CHAT, headers={"X-Request-ID": "a b<script>\t;c"})
        long = await call(url, CHAT, headers={"X-Request-ID": "z" * 1000})
        junk = await call(url, CHAT, headers={"X-Request-ID": "<>;;  "})
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={**CHAT, "stream": True}, headers={"x-request-id": "s-1"}) as streamed,
        ):
            await streamed.read()
            stream_id = streamed.headers["X-Request-ID"]
    assert kept.headers["X-Request-ID"] == "trace-1:abc/def"
    assert cleaned.headers["X-Request-ID"] == "abscriptc"
    assert long.headers["X-Request-ID"] == "z" * 128
    assert re.fullmatch(r"[0-9a-f]{32}", junk.headers["X-Request-ID"])
    assert stream_id == "s-1"


async def test_an_unexpected_failure_is_a_500_in_the_paths_protocol_with_the_id_and_no_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler that fails in a way lip did not foresee (a bug): the client still gets JSON it can parse, with the
    request id to quote, and nothing of the failure's text (it may hold user data); the log has the traceback."""

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError(f"bug while holding {CANARY}")

    app = create_app(load_text(yaml.safe_dump(STUB), "t.yaml", {}), {})
    app.router.add_post("/v1/broken", broken)
    app.router.add_post("/v1/messages/broken", broken)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        openai_reply = await call(f"http://127.0.0.1:{port}/v1/broken", CHAT)
        anthropic_reply = await call(f"http://127.0.0.1:{port}/v1/messages/broken", CHAT)
    finally:
        await runner.cleanup()
    for reply in (openai_reply, anthropic_reply):
        assert reply.status == 500 and reply.headers["Content-Type"].startswith("application/json")
        assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["X-Request-ID"])
        assert reply.headers["X-Request-ID"] in reply.body.decode() and CANARY not in reply.body.decode()
    assert openai_reply.json()["error"]["code"] == "internal_error"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "lip.server")
    assert openai_reply.headers["X-Request-ID"] in logged and "RuntimeError at" in logged and "in broken" in logged
    assert anthropic_reply.json()["type"] == "error" and anthropic_reply.json()["error"]["type"] == "api_error"


async def test_anthropic_error_bodies_quote_it_as_the_api_does() -> None:
    """Messages errors lip answers itself (a refused request, an unknown model, a missing key) carry ``request_id``."""
    async with run_lip(STUB, {"LIP_API_KEY": CLIENT_KEY}) as lip:
        auth = {"x-api-key": CLIENT_KEY, "X-Request-ID": "req_from-client"}
        replies = [
            await call(lip.url + "/v1/messages", {"model": "local-stub:echo", "messages": []}, headers=auth),
            await call(lip.url + "/v1/messages", {"model": "x", "max_tokens": 5, "messages": []}),  # 401
            await call(lip.url + "/v1/messages", b"{", headers=auth),
            await call(lip.url + "/v1/messages/count_tokens", {"model": "local-stub:echo"}, headers=auth),
        ]
    assert [r.status for r in replies] == [400, 401, 400, 400]
    for reply in replies:
        body = reply.json()
        assert body["type"] == "error" and body["request_id"] == reply.headers["X-Request-ID"]
    assert replies[0].json()["request_id"] == "req_from-client"
