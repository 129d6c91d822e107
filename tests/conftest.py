"""Shared fixtures: fake providers (tests/fakes), and a guard that no log record of any test holds the canary."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.fakes.fixtures import fake_provider, fake_provider_factory
from tests.harness import CANARY
from tests.redisd import RedisServer, running_redis

__all__ = ["canary_never_logged", "fake_provider", "fake_provider_factory", "redis_server"]


@pytest_asyncio.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    """A real redis-server on a free loopback port (password: the canary), stopped after the test."""
    async with running_redis() as server:
        yield server


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = (
            record.getMessage() + (self.formatter or logging.Formatter()).formatException(record.exc_info)
            if (record.exc_info)
            else record.getMessage()
        )
        if CANARY in text:
            self.leaks.append(f"{record.name}:{record.levelname}: {text[:300]}")


@pytest.fixture(autouse=True)
def canary_never_logged() -> Iterator[None]:
    """Every test, at DEBUG: a log record (message or traceback) that contains the canary secret fails it."""
    root = logging.getLogger()
    recorder = _Recorder()
    previous = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(recorder)
        root.setLevel(previous)
    assert not recorder.leaks, f"the canary secret reached the logs: {recorder.leaks}"
