"""Fixtures of the conformance matrix (tests/integration/matrix.py): one fake + one lip per test module.

A module using them runs in the module's event loop: ``pytestmark = pytest.mark.asyncio(loop_scope="module")``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.integration.matrix import Rig, running_rig


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix_rig() -> AsyncIterator[Rig]:
    async with running_rig() as rig:
        yield rig


@pytest.fixture
def matrix(matrix_rig: Rig) -> Rig:
    """The module's rig with an empty script and no recorded requests."""
    matrix_rig.reset()
    return matrix_rig
