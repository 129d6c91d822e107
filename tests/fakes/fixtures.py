"""pytest fixtures: `fake_provider` (one started FakeProvider) and `fake_provider_factory` (several).

Import them explicitly into a conftest: `from tests.fakes.fixtures import fake_provider, fake_provider_factory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from tests.fakes.server import FakeProvider

__all__ = ["FakeProviderFactory", "fake_provider", "fake_provider_factory"]

FakeProviderFactory = Callable[..., Awaitable[FakeProvider]]


@pytest_asyncio.fixture
async def fake_provider() -> AsyncIterator[FakeProvider]:
    """A started FakeProvider, closed after the test."""
    async with FakeProvider() as fake:
        yield fake


@pytest_asyncio.fixture
async def fake_provider_factory() -> AsyncIterator[FakeProviderFactory]:
    """`await factory(**FakeProvider kwargs)` starts another provider; all are closed after the test."""
    started: list[FakeProvider] = []

    async def make(**kwargs: Any) -> FakeProvider:
        fake = await FakeProvider(**kwargs).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        await fake.close()
