"""A tiny raw HTTP client for tests that need the exact bytes a server sent (status, headers, body)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDictProxy

__all__ = ["Reply", "request"]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def request(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> Reply:
    """Send one request (a JSON body unless `body` is bytes) and read the whole answer."""
    data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    hdrs = {"content-type": "application/json", **(headers or {})}
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.request(method, url, data=data, headers=hdrs) as resp,
    ):
        return Reply(resp.status, resp.headers, await resp.read())
