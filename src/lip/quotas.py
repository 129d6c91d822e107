"""A client key's limits, enforced before the upstream is called: requests per minute, tokens per minute and per
day (as the upstreams report them), requests in flight.

Counters live in the store (``quota:<name>:<what>:<window>``): with ``store.kind: redis`` every worker and replica
adds to the same counter with one atomic Redis operation each; with the in-process store each process counts alone.
Windows are fixed: the wall-clock minute and the UTC day. A token limit refuses the next request once the window's
reported tokens have reached it (the request that crosses it is not cut short: lip cannot know its size before).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lip.canonical.events import Usage
from lip.clientkeys import ClientKey
from lip.errors import QuotaExceeded
from lip.store import Store

log = logging.getLogger(__name__)
MINUTE, DAY = 60, 86400
CONCURRENT_TTL_S = 4 * 3600.0  # a crashed process's slots are forgotten after this long


@dataclass(slots=True)
class Admission:
    """A limited key's request, admitted: what ``Quotas.settle`` must give back and count when it ends."""

    key: ClientKey
    minute: int
    day: int


class Quotas:
    """The limits of the client keys over one store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._settling: set[asyncio.Task[None]] = set()

    async def admit(self, key: ClientKey) -> Admission:
        """Count the request against ``key``'s limits; QuotaExceeded (nothing counted) when one is reached."""
        now = self.clock()
        minute, day = int(now // MINUTE), int(now // DAY)
        to_minute, to_day = (minute + 1) * MINUTE - now, (day + 1) * DAY - now
        if key.tpm or key.tokens_per_day:
            per_minute, per_day = await self.store.counters([_name(key, "tpm", minute), _name(key, "tpd", day)])
            if key.tpm and per_minute >= key.tpm:
                raise _refusal(key, "tokens", key.tpm, to_minute, f"{key.tpm} tokens per minute")
            if key.tokens_per_day and per_day >= key.tokens_per_day:
                raise _refusal(key, "tokens", key.tokens_per_day, to_day, f"{key.tokens_per_day} tokens per day")
        if key.max_concurrent:
            held = await self.store.incr(_name(key, "concurrent", 0), 1, CONCURRENT_TTL_S)
            if held > key.max_concurrent:
                await self.store.incr(_name(key, "concurrent", 0), -1, CONCURRENT_TTL_S)
                raise _refusal(key, "concurrent", key.max_concurrent, 1.0, f"{key.max_concurrent} requests in flight")
        if key.rpm:
            made = await self.store.incr(_name(key, "rpm", minute), 1, 2 * MINUTE)
            if made > key.rpm:
                await self.store.incr(_name(key, "rpm", minute), -1, 2 * MINUTE)
                if key.max_concurrent:
                    await self.store.incr(_name(key, "concurrent", 0), -1, CONCURRENT_TTL_S)
                raise _refusal(key, "requests", key.rpm, to_minute, f"{key.rpm} requests per minute")
        return Admission(key, minute, day)

    async def state(self, key: ClientKey) -> dict[str, int]:
        """The counts in ``key``'s current windows (shared ones with Redis; this process's without)."""
        now = self.clock()
        minute, day = int(now // MINUTE), int(now // DAY)
        names = [_name(key, "rpm", minute), _name(key, "tpm", minute), _name(key, "tpd", day)]
        names.append(_name(key, "concurrent", 0))
        requests, tokens, today, in_flight = await self.store.counters(names)
        return {
            "requests_this_minute": requests,
            "tokens_this_minute": tokens,
            "tokens_today": today,
            "in_flight": in_flight,
        }

    def settle(self, admission: Admission, usage: Usage | None) -> None:
        """The admitted request has ended: free its slot and count its tokens, in the background (the request may
        have been cancelled; its counts must still be written)."""
        task = asyncio.get_running_loop().create_task(self._settle(admission, usage))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def _settle(self, admission: Admission, usage: Usage | None) -> None:
        key = admission.key
        if key.max_concurrent:
            await self.store.incr(_name(key, "concurrent", 0), -1, CONCURRENT_TTL_S)
        tokens = usage.input_tokens + usage.output_tokens if usage is not None else 0
        if tokens and key.tpm:
            await self.store.incr(_name(key, "tpm", admission.minute), tokens, 2 * MINUTE)
        if tokens and key.tokens_per_day:
            await self.store.incr(_name(key, "tpd", admission.day), tokens, 2 * DAY)

    async def aclose(self) -> None:
        """Let the counts of ended requests reach the store."""
        if self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)


def _name(key: ClientKey, what: str, window: int) -> str:
    return f"quota:{key.name}:{what}:{window}"


def _refusal(key: ClientKey, limit: str, allowed: int, retry_after: float, what: str) -> QuotaExceeded:
    message = f"the client key {key.name!r} has reached its limit of {what}; retry in {max(1, round(retry_after))} s"
    return QuotaExceeded(message, limit=limit, allowed=allowed, retry_after=retry_after)
