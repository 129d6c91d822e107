"""A client that sends its head and stalls its body (chunked that never ends, a Content-Length larger than what it
sends) holds no concurrency slot, and gets a 408 in its protocol's shape after ``server.body_timeout_s``."""

from __future__ import annotations

import asyncio
import time

import orjson

from tests.harness import run_lip
from tests.integration.operate import CHAT, call

STUB = {"id": "local-stub", "kind": "local-stub", "config": {}}
HELD = 60  # three times max_in_flight


async def stall(url: str, path: str, chunked: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    part = b'{"model": "local-stub:echo", "messages": ['
    if chunked:
        head = b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(part):x}\r\n".encode() + part + b"\r\n"
    else:
        head = f"Content-Length: {len(part) + 1000}\r\n\r\n".encode() + part
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode() + head)
    await writer.drain()
    return reader, writer


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The whole answer of a connection that the server closes after it."""
    raw = await asyncio.wait_for(reader.read(), 10)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


async def test_stalled_bodies_hold_no_slot_and_get_408_in_the_client_shape() -> None:
    config = {"server": {"max_in_flight": 20, "body_timeout_s": 1.5}, "plugins": {"backends": [STUB]}}
    async with run_lip(config) as lip:
        paths = ["/v1/chat/completions", "/v1/messages"]
        started = time.monotonic()
        held = [await stall(lip.url, paths[i % 2], chunked=i % 3 == 0) for i in range(HELD)]
        served = await call(lip.url + "/v1/chat/completions", CHAT)
        metrics = await call(lip.url + "/metrics", method="GET")
        answers = await asyncio.gather(*(answer(reader) for reader, _ in held))
        waited = time.monotonic() - started
        for _, writer in held:
            writer.close()
        after = await call(lip.url + "/v1/chat/completions", CHAT)
    assert served.status == 200, served.body[:300]
    assert metrics.status == 200
    assert 1.4 < waited < 8
    for i, (status, headers, body) in enumerate(answers):
        assert status == 408 and headers["connection"] == "close", (status, headers)
        error = orjson.loads(body)
        if paths[i % 2] == "/v1/messages":
            assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
        assert "server.body_timeout_s" in error["error"]["message"]
    assert after.status == 200
