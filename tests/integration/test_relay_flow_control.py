"""A relayed stream to a client that reads slowly: lip stops reading from the upstream while the client's buffer is
full (lip.backends.splice) and resumes when it drains, so the client still gets every byte, in order."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

from tests.fakes import FakeProvider, HugeResponse
from tests.harness import backend_row, run_lip

N_BYTES = 4_000_000  # far more than a socket's and a transport's buffers hold


def text_of(body: bytes) -> str:
    """The content deltas of a de-chunked Chat SSE body, joined; it must end with [DONE]."""
    pieces, done = [], False
    for block in body.decode().split("\n\n"):
        if not block.startswith("data: "):
            continue
        data = block[len("data: ") :]
        if data == "[DONE]":
            done = True
            continue
        for choice in json.loads(data)["choices"]:
            pieces.append(choice["delta"].get("content") or "")
    assert done, "the stream did not end with [DONE]"
    return "".join(pieces)


def dechunked(raw: bytes) -> bytes:
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert b"transfer-encoding: chunked" in head.lower()
    out = bytearray()
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return bytes(out)
        out += rest[:size]
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


async def test_a_slow_reader_gets_the_whole_relayed_stream(fake_provider: FakeProvider) -> None:
    fake_provider.queue(HugeResponse(N_BYTES))
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1", models=models)]}}
    async with run_lip(config) as lip:
        url = urlsplit(lip.url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the client's side fills up at once
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (url.hostname, url.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        body = json.dumps({"model": "p:m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
        head = (
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        async with asyncio.timeout(120):  # a relay that never resumes would hang here
            raw = bytearray(await reader.read(1024))
            await asyncio.sleep(0.5)  # not reading: lip's buffer for this client fills and the upstream is paused
            while chunk := await reader.read(65536):
                raw += chunk
                await asyncio.sleep(0)  # a reader slower than the relay
        writer.close()
    assert text_of(dechunked(bytes(raw))) == "x" * N_BYTES
