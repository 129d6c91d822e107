"""The Vercel AI SDK (npm `ai` with `@ai-sdk/openai` and `@ai-sdk/anthropic`, pinned in .agents/package.json) in a
tool loop through lip to each backend kind: its OpenAI Responses, OpenAI Chat and Anthropic providers, each with one
tool, `generateText` (JSON) then `streamText` (SSE) in one node process. The tool is called and the final answer
uses its result, in both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.rig import AGENTS, Loop, Rig, require, run, selector, workspace
from tests.integration.matrix import BACKENDS

SCRIPT = str(Path(__file__).with_name("node") / "ai_sdk_tool_loop.cjs")
PROVIDERS = ("openai-responses", "openai-chat", "anthropic")
MARKER = "LIP-AGENT-AISDK"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_ai_sdk_calls_its_tool_and_uses_the_result(rig: Rig, provider: str, backend: str) -> None:
    require("ai", "@ai-sdk/openai", "@ai-sdk/anthropic", "zod")
    rig.fake.responder = Loop("lookup", {"key": "blue"}, MARKER, quote_prefix="The code word is ")
    with workspace() as (home, work):
        env = rig.env(home, {"NODE_PATH": str(AGENTS / "node_modules")})
        ran = await run(["node", SCRIPT, provider, rig.lip.url, selector(backend)], env, work, timeout=60)
    assert ran.returncode == 0, ran
    report = json.loads(ran.stdout.splitlines()[-1])
    for mode in ("json", "stream"):
        result = report[mode]
        assert result["calls"] == [{"name": "lookup", "input": {"key": "blue"}}], mode
        assert result["results"] == [f"{MARKER}-blue"], mode
        assert result["text"] == f"The code word is {MARKER}-blue", mode

    seen = rig.generations(backend)
    assert [view.stream for view in seen] == [False, False, True, True]
    for first, second in (seen[:2], seen[2:]):
        assert first.tools == ("lookup",) and first.tool_results == ()
        assert second.tool_results == (f"{MARKER}-blue",), second.tool_results
    assert rig.trap.targets == [], "nothing but loopback"
