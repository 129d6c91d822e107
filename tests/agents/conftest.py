"""Fixtures of the real-agent suite: a fake provider of each kind behind one lip, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.agents.rig import Rig, running_rig


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    async with running_rig() as started:
        yield started
