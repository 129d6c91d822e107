"""The client's side of a spliced relay (``lip.backends.splice``): each upstream chunk goes through the relay's
light reader and straight onto the client's transport, in the HTTP framing the response's headers announced."""

from __future__ import annotations

from aiohttp import web
from aiohttp.client_exceptions import ClientConnectionResetError

from lip.protocols.relay import RelayWatch


class ClientSink:
    """Writes to a prepared streaming response's transport, synchronously; the response's first body bytes must
    have gone through ``response.write`` (which sends the headers), and its end goes through ``write_eof``."""

    __slots__ = ("_chunked", "_protocol", "_transport", "_watch", "_writer")

    def __init__(self, http: web.Request, response: web.StreamResponse, watch: RelayWatch) -> None:
        self._transport = http.transport
        self._protocol = http.protocol
        self._writer = http.writer
        self._chunked = response.headers.get("Transfer-Encoding", "").lower() == "chunked"
        self._watch = watch

    def deliver(self, chunk: bytes) -> bool:
        out = self._watch.feed(chunk)
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ClientConnectionResetError("the client went away")
        if out:  # an empty chunk would end a chunked body
            transport.write(b"%x\r\n%b\r\n" % (len(out), out) if self._chunked else out)
        return not self._protocol.writing_paused

    async def drained(self) -> None:
        await self._writer.drain()
