"""X-Request-ID: accepted from the client (sanitised, at most 128 characters) or generated; on every response."""

from __future__ import annotations

import re

import aiohttp

from tests.harness import run_lip
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
