"""lip.client_body.read_body on a body that came whole with its head (taken at once, without waiting) and on one
still arriving; either way bounded by the limit."""

from __future__ import annotations

import asyncio
from unittest import mock

import pytest
from aiohttp import streams, web
from aiohttp.test_utils import make_mocked_request

from lip.client_body import read_body
from lip.errors import BodyTooLarge

CHUNKED = {"Transfer-Encoding": "chunked"}  # no Content-Length: only the bytes read can tell the size


def request_with(chunks: list[bytes], eof: bool) -> tuple[web.Request, streams.StreamReader]:
    payload = streams.StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    for chunk in chunks:
        payload.feed_data(chunk)
    if eof:
        payload.feed_eof()
    return make_mocked_request("POST", "/v1/chat/completions", headers=CHUNKED, payload=payload), payload


async def test_a_body_that_came_whole_is_read_at_once_and_bounded() -> None:
    http, payload = request_with([b'{"a": ', b"1}"], eof=True)
    assert payload.is_eof()
    assert await read_body(http, limit=100) == b'{"a": 1}'
    http, _ = request_with([b"x" * 60, b"y" * 60], eof=True)
    with pytest.raises(BodyTooLarge, match="limit of 100 bytes"):
        await read_body(http, limit=100)


async def test_a_body_still_arriving_is_read_to_its_end_and_bounded() -> None:
    http, payload = request_with([b'{"a": '], eof=False)
    reading = asyncio.ensure_future(read_body(http, limit=100))
    await asyncio.sleep(0)
    assert not reading.done()
    payload.feed_data(b"1}")
    payload.feed_eof()
    assert await reading == b'{"a": 1}'
    http, payload = request_with([b"x" * 60], eof=False)
    reading = asyncio.ensure_future(read_body(http, limit=100))
    payload.feed_data(b"y" * 60)
    payload.feed_eof()
    with pytest.raises(BodyTooLarge, match="limit of 100 bytes"):
        await reading
