"""A client that sends part of a request head and stalls (slowloris), or connects and sends nothing, is closed after
``server.head_timeout_s``, with a 408 in the protocol of the path it named when it sent something; at most
``server.max_pending_heads`` connections wait for a head, the longest waiter closed first. An idle kept-alive
connection and a normal request are as before. Through a real ``lip serve`` and raw sockets."""

from __future__ import annotations

import asyncio
import contextlib

import orjson

from lip.connections import SETTLE_S
from tests.integration.operate import CHAT, call, lip_process

STUB = {"id": "local-stub", "kind": "local-stub", "config": {}}
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: lip\r\n\r\n"


def config(**server: object) -> dict[str, object]:
    return {"server": server, "plugins": {"backends": [STUB]}}


async def connect(url: str, data: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (a test that waits forever fails at 10 s)."""
    return await asyncio.wait_for(reader.read(), 10)


def parsed(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def one_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One response with a Content-Length on a connection that stays open."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status, headers, _ = parsed(head)
    return status, await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)


async def trickle(writer: asyncio.StreamWriter, data: bytes) -> int:
    """Send ``data`` a byte every 0.2 s, as slowloris does, until the server closes; how many bytes went."""
    sent = 0
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.2)
    return sent


async def test_a_stalled_head_is_closed_after_head_timeout_s_with_408_in_its_protocol() -> None:
    async with lip_process(config(head_timeout_s=1)) as lip:
        opened = [
            await connect(lip.url, b"POST /v1/messages HTTP/1.1\r\nHost: lip\r\nContent-Ty"),
            await connect(lip.url, b"POST /v1/chat/compl"),
            await connect(lip.url),
            await connect(lip.url),
        ]
        slow = asyncio.ensure_future(trickle(opened[3][1], b"POST /v1/messages HTTP/1.1\r\nHost: lip\r\n" * 10))
        answers = await asyncio.gather(*(until_closed(reader) for reader, _ in opened))
        sent = await slow
        for _, writer in opened:
            writer.close()
        served = await call(lip.url + "/v1/chat/completions", CHAT)
    status, headers, body = parsed(answers[0])
    assert status == 408 and headers["connection"] == "close" and headers["content-type"] == "application/json"
    error = orjson.loads(body)
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"  # Anthropic's shape
    assert "server.head_timeout_s" in error["error"]["message"]
    status, _, body = parsed(answers[1])  # a request line not yet whole names no path: OpenAI's shape
    assert status == 408 and orjson.loads(body)["error"]["code"] == "request_timeout"
    assert answers[2] == b""  # it asked nothing, so it is answered nothing
    assert parsed(answers[3])[0] == 408
    assert sent < 400  # the trickle did not keep its connection open: each byte is no new deadline
    assert served.status == 200


async def test_an_idle_kept_alive_connection_and_a_head_in_pieces_are_served_as_before() -> None:
    async with lip_process(config(head_timeout_s=1)) as lip:
        reader, writer = await connect(lip.url, HEALTH)
        first = await one_response(reader)
        await asyncio.sleep(2.5)  # idle between requests: the keep-alive timeout's, not the head's
        writer.write(HEALTH)
        second = await one_response(reader)
        for piece in (b"GET /heal", b"thz HTTP/1.1\r\nHo", b"st: lip\r\n\r\n"):  # a head in pieces, in time
            writer.write(piece)
            await asyncio.sleep(0.3)
        third = await one_response(reader)
        writer.close()
        body = orjson.dumps(CHAT)
        chat = f"POST /v1/chat/completions HTTP/1.1\r\nHost: lip\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        reader, writer = await connect(lip.url, chat + body)
        answered = await one_response(reader)
        writer.close()
    assert first[0] == second[0] == third[0] == 200
    assert answered[0] == 200 and orjson.loads(answered[1])["choices"][0]["message"]["content"]


async def test_at_most_max_pending_heads_wait_and_the_longest_waiter_goes_first() -> None:
    async with lip_process(config(head_timeout_s=60, max_pending_heads=4)) as lip:
        stalled = [await connect(lip.url, b"POST /v1/messages HTTP/1.1\r\nHost: li") for _ in range(4)]
        await asyncio.sleep(SETTLE_S + 0.2)  # until then a burst of new connections closes none of them
        stalled += [await connect(lip.url, b"POST /v1/messages HTTP/1.1\r\nHost: li") for _ in range(2)]
        oldest = await asyncio.gather(*(until_closed(reader) for reader, _ in stalled[:2]))
        served = await call(lip.url + "/v1/chat/completions", CHAT)  # its connection waits a moment: one more goes
        third = await until_closed(stalled[2][0])
        for _, writer in stalled:
            writer.close()
    for raw in [*oldest, third]:
        status, _, body = parsed(raw)
        assert status == 408 and "server.max_pending_heads" in orjson.loads(body)["error"]["message"]
    assert served.status == 200


async def test_a_burst_of_new_connections_past_max_pending_heads_is_served_whole() -> None:
    """Thousands of clients connecting at once outnumber the bound before the loop has read their heads: none of them
    has waited, so none is closed (a paced-stream benchmark of 2,000 connections lost hundreds this way)."""
    async with lip_process(config(head_timeout_s=60, max_pending_heads=4)) as lip:
        opened = [await connect(lip.url) for _ in range(12)]  # all waiting for a head at once, none for long
        for _, writer in opened:
            writer.write(HEALTH)
        answers = await asyncio.gather(*(reader.readuntil(b"\r\n\r\n") for reader, _ in opened))
        for _, writer in opened:
            writer.close()
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers)
