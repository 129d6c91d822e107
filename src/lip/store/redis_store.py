"""The Redis store (redis-py asyncio): a key prefix, a timeout on every call, and a policy for when Redis is down.

Redis down never fails a request. The first failed call of an outage logs one warning (the URL masked) and every
failed call is counted (``describe()``: ``failed_calls``, ``outages``); for ``RETRY_S`` after a failure no call is
tried, so a dead Redis costs nothing per request. Meanwhile the store answers from this process's own copy: every
``set`` also writes a bounded local copy, and during an outage every call reads and writes only that copy. ``get``
falls back to the local copy on a miss too (a value written while Redis was away). When a call succeeds again one
line says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from lip.config.load import mask_url
from lip.config.models import StoreConfig
from lip.credentials import Secret, redact
from lip.store.base import MemoryStore, StoreHealth

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_S = 1.0  # after a failed call, serve from the local copy this long before trying Redis again
SET_LATER = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""


class _Failed:
    """The call did not reach Redis (down, slow, or skipped during an outage)."""


FAILED = _Failed()


def url_secrets(url: Secret) -> list[Secret]:
    """The URL and its password (also percent-decoded): what must never be printed."""
    found = [url]
    try:
        password = urlsplit(url.reveal()).password
    except ValueError:
        password = None
    if password:
        found += [Secret(password), Secret(unquote(password))]
    return found


class RedisStore:
    kind = "redis"
    shared = True

    def __init__(
        self, url: Secret, config: StoreConfig, local: MemoryStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.prefix = config.prefix
        self.timeout_s = config.timeout_s
        self.local = local
        self.clock = clock
        self._secrets = url_secrets(url)
        self._where = mask_url(url.reveal())
        self._client = redis.asyncio.Redis.from_url(
            url.reveal(),
            socket_timeout=config.timeout_s,
            socket_connect_timeout=config.timeout_s,
            retry=Retry(NoBackoff(), 1),  # once, at once: a pooled connection may have died with an earlier Redis
        )
        self._set_later = self._client.register_script(SET_LATER)
        self._incr = self._client.register_script(INCR)
        self._skip_until = 0.0
        self.down = False
        self.failed_calls = 0
        self.outages = 0

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T | _Failed:
        if self.clock() < self._skip_until:
            return FAILED
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await call()
        except (RedisError, OSError, TimeoutError) as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from exc  # the caller was cancelled meanwhile: that must not be lost
            self._failed(exc)
            return FAILED
        if self.down:
            self.down = False
            log.warning("the shared store (Redis at %s) is reachable again", self._where)
        return result

    def _failed(self, exc: BaseException) -> None:
        self.failed_calls += 1
        self._skip_until = self.clock() + RETRY_S
        if self.down:
            return
        self.down = True
        self.outages += 1
        detail = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, self._secrets)[:300]
        log.warning(
            "the shared store (Redis at %s) is unreachable (%s): serving from this process's own state (responses "
            "stored here, local key cool-downs and circuits) until it is back; retrying every %g s",
            self._where,
            detail,
            RETRY_S,
        )

    async def get(self, key: str) -> bytes | None:
        value = await self._run(lambda: self._client.get(self.prefix + key))
        if isinstance(value, bytes):
            return value
        return self.local.peek(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values: list[Any] | _Failed = await self._run(lambda: self._client.mget([self.prefix + k for k in keys]))
        if isinstance(values, _Failed):
            return [self.local.peek(key) for key in keys]
        return [v if isinstance(v, bytes) else None for v in values]

    async def set(self, key: str, value: bytes, ttl_s: float) -> bool:
        self.local.put(key, value, ttl_s)
        done = await self._run(lambda: self._client.set(self.prefix + key, value, px=_ms(ttl_s)))
        return not isinstance(done, _Failed)

    async def set_later(self, key: str, until: float, ttl_s: float) -> bool:
        self.local.put_later(key, until, ttl_s)
        done = await self._run(lambda: self._set_later(keys=[self.prefix + key], args=[repr(until), _ms(ttl_s)]))
        return not isinstance(done, _Failed)

    async def delete(self, key: str) -> bool:
        self.local.remove(key)
        done = await self._run(lambda: self._client.delete(self.prefix + key))
        return not isinstance(done, _Failed)

    async def incr(self, key: str, amount: int, ttl_s: float) -> int:
        """One script (INCRBY, and PEXPIRE on a new counter): atomic in Redis. Unreachable: this process's count."""
        local = self.local.add(key, amount, ttl_s)
        value = await self._run(lambda: self._incr(keys=[self.prefix + key], args=[amount, _ms(ttl_s)]))
        return local if isinstance(value, _Failed) else int(value)

    async def counters(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        values: list[Any] | _Failed = await self._run(lambda: self._client.mget([self.prefix + k for k in keys]))
        if isinstance(values, _Failed):
            return [self.local.counter(key) for key in keys]
        return [int(v) if v is not None else 0 for v in values]

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "url": self._where,
            "prefix": self.prefix,
            "reachable": not self.down,
            "failed_calls": self.failed_calls,
            "outages": self.outages,
            "local_items": len(self.local),
        }

    def health(self) -> StoreHealth | None:
        return StoreHealth(not self.down, self.failed_calls, self.outages)

    def secrets(self) -> list[Secret]:
        return list(self._secrets)

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        except (RedisError, OSError) as exc:
            log.debug("closing the Redis client: %s", type(exc).__name__)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
