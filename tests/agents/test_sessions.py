"""The real Claude Code and Codex name their conversation in what they already send (Claude Code's session header
and metadata.user_id, Codex's session-id header and prompt_cache_key): through lip every request of one run reaches a
Chat backend that takes ``prompt_cache_key`` with the same key, a hash of the run's session, and another run gets
another key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.agents.rig import ProxyTrap, Rig
from tests.agents.test_claude_code import bash_loop, claude_loop
from tests.agents.test_codex import codex_loop, exec_loop
from tests.fakes import FakeProvider
from tests.harness import run_lip
from tests.integration.matrix import matrix_config


@asynccontextmanager
async def cache_key_rig() -> AsyncIterator[Rig]:
    """The suite's rig, its Chat backend sending a conversation's name as prompt_cache_key."""
    async with FakeProvider() as fake:
        config = matrix_config(fake)
        for row in config["plugins"]["backends"]:
            if row["kind"] == "custom-openai-legacy-compatible":
                row["config"]["prompt_cache_key"] = True
        async with run_lip(config) as lip, ProxyTrap() as trap:
            yield Rig(fake, lip, trap)


def cache_keys(rig: Rig) -> list[object]:
    return [view.body.get("prompt_cache_key") for view in rig.generations("chat")]


async def test_claude_codes_runs_each_keep_one_cache_key() -> None:
    async with cache_key_rig() as rig:
        await claude_loop(rig, "chat", bash_loop())
        first = cache_keys(rig)
        rig.fake.received.clear()
        await claude_loop(rig, "chat", bash_loop())
        second = cache_keys(rig)
    assert len(first) >= 2 and len(set(first)) == 1, first
    assert len(second) >= 2 and len(set(second)) == 1, second
    assert str(first[0]).startswith("lip-") and first[0] != second[0]


async def test_codexs_runs_each_keep_one_cache_key() -> None:
    async with cache_key_rig() as rig:
        await codex_loop(rig, "chat", exec_loop())
        first = cache_keys(rig)
        rig.fake.received.clear()
        await codex_loop(rig, "chat", exec_loop())
        second = cache_keys(rig)
    assert len(first) == 2 and len(set(first)) == 1, first
    assert len(second) == 2 and len(set(second)) == 1, second
    assert str(first[0]).startswith("lip-") and first[0] != second[0]
