"""SSE keep-alive comments while lip waits for a streamed answer's first item, when a backend row enables them.

The first comment commits the response: status 200 and the SSE headers go out before any leaf has answered, so
``x-lip-backend`` cannot be sent any more and a failure after that point, failover included, ends the stream with
the protocol's error event instead of an HTTP error status. That is why it is off by default
(``config.keepalive_s: 0``). A plan uses the shortest interval that any of its backends enables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence

from aiohttp import web

from lip.backends.base import RelayBody, Target
from lip.bodylog import BodyLog, stream_response
from lip.errors import LipError
from lip.protocols.codec import Codec, StreamFraming
from lip.protocols.sse import KEEPALIVE_FRAME
from lip.requestid import id_header
from lip.routing.router import Routed


def interval_for(targets: Sequence[Target]) -> float:
    """The shortest keep-alive interval enabled by any backend of the plan; 0 when none enables one."""
    enabled = [t.backend.spec.settings.keepalive_s for t in targets if t.backend.spec.settings.keepalive_s > 0]
    return min(enabled, default=0.0)


class KeepAlive:
    """Awaits an attempt; every ``interval`` seconds without it, writes a comment to the client."""

    def __init__(
        self,
        http: web.Request,
        interval: float,
        headers: Mapping[str, str],
        bodies: BodyLog | None = None,
        framing: StreamFraming | None = None,
    ) -> None:
        self.http = http
        self.interval = interval
        self.headers = headers
        self.bodies = bodies
        self.framing = framing
        self.response: web.StreamResponse | None = None  # set once the 200 is committed

    def wait(self, attempt: Awaitable[Routed]) -> Awaitable[Routed]:
        """``attempt`` itself when keep-alive is off: no extra coroutine on the request's every resumption."""
        return attempt if self.interval <= 0 else self._wait(attempt)

    async def _wait(self, attempt: Awaitable[Routed]) -> Routed:
        task = asyncio.ensure_future(attempt)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.interval)
                if done:
                    return task.result()
                await self._beat()
        except BaseException:
            await _discard(task)  # the client left (or the handler was cancelled): stop the upstream too
            raise

    async def _beat(self) -> None:
        if self.response is None:
            self.response = stream_response({**self.headers, **id_header(self.http)}, self.bodies, self.framing)
            await self.response.prepare(self.http)
        await self.response.write(KEEPALIVE_FRAME)

    async def fail(self, codec: Codec, error: LipError) -> web.StreamResponse:
        """End a committed stream with the protocol's error event."""
        assert self.response is not None
        try:
            await self.response.write(codec.error_frame(error))
            await self.response.write_eof()
        except ConnectionResetError:
            pass  # the client is gone; nothing is left to tell it
        return self.response


async def _discard(task: asyncio.Future[Routed]) -> None:
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
        return
    if task.cancelled() or task.exception() is not None:
        return
    opened = task.result().opened
    if not isinstance(opened, RelayBody):
        await opened.close()
