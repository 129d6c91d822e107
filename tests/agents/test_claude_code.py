"""Claude Code (npm @anthropic-ai/claude-code, pinned in .agents/package.json) headless through lip to each backend
kind: the model runs a real shell command with Claude Code's Bash tool, the command writes a file and prints a
marker, and the final answer quotes what the tool printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.rig import BIN, Loop, Ran, Rig, require, run, selector, workspace
from tests.fakes import FakeUsage
from tests.integration.matrix import BACKENDS, MODEL

MARKER = "LIP-AGENT-CLAUDE"
COMMAND = f"printf 'written by claude\\n' > proof.txt && echo {MARKER}-$(wc -c < proof.txt)"
PRINTED = f"{MARKER}-18"
USAGE = FakeUsage(input_tokens=100, output_tokens=20, cached=40, reasoning=8)


def claude_env(rig: Rig, backend: str, home: Path) -> dict[str, str]:
    """Claude Code's documented settings: lip as the API, a key of lip's client, no traffic but the API."""
    return rig.env(
        home,
        {
            "ANTHROPIC_BASE_URL": rig.lip.url,
            "ANTHROPIC_API_KEY": "client-key",
            "ANTHROPIC_SMALL_FAST_MODEL": selector(backend),  # side requests go through lip too
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": selector(backend),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        },
    )


async def claude_loop(rig: Rig, backend: str, loop: Loop) -> dict[str, Any]:
    """Claude Code headless on `backend` with `loop` as the model: the file is written, the answer quotes the
    command's output, and the fake saw Claude Code's tools, then the tool result. Claude Code's JSON result."""
    require("@anthropic-ai/claude-code")
    rig.fake.responder = loop
    with workspace() as (home, work):
        argv = [
            str(BIN / "claude"),
            "-p",
            "Write proof.txt and tell me what the command printed.",
            "--model",
            selector(backend),
            "--allowedTools",
            "Bash",
            "--output-format",
            "json",
            "--no-session-persistence",
        ]
        ran = await run(argv, claude_env(rig, backend, home), work)
        assert ran.returncode == 0, outcome(ran)
        assert (work / "proof.txt").read_text() == "written by claude\n"
    result: dict[str, Any] = json.loads(ran.stdout)
    assert result["is_error"] is False and result["subtype"] == "success", ran
    assert result["result"] == f"The command printed: {PRINTED}"

    seen = rig.generations(backend)
    assert len(seen) >= 2, "the fake played both turns"
    first, last = seen[0], seen[-1]
    assert {"Bash", "Read", "Edit", "Write"} <= set(first.tools)
    assert first.tool_results == ()
    assert any(PRINTED in text for text in last.tool_results), last.tool_results
    assert all(view.model == MODEL[backend] for view in seen)
    assert rig.trap.targets == [], "nothing but loopback"
    return result


def outcome(ran: Ran) -> object:
    """Claude Code's own account of a failed run (its `result`, an API error's text), else the whole run."""
    try:
        return json.loads(ran.stdout)["result"]
    except (ValueError, KeyError):
        return ran


def bash_loop(**options: Any) -> Loop:
    return Loop("Bash", {"command": COMMAND, "description": "Write proof.txt"}, MARKER, **options)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_claude_code_runs_a_command_and_quotes_it(rig: Rig, backend: str) -> None:
    result = await claude_loop(rig, backend, bash_loop())
    calls = len(rig.generations(backend))
    usage = result["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (10 * calls, 5 * calls)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_claude_code_usage_is_whole(rig: Rig, backend: str) -> None:
    """Claude Code counts its context from usage: cached tokens reach it from every backend kind."""
    result = await claude_loop(rig, backend, bash_loop(usage=USAGE))
    calls = len(rig.generations(backend))
    usage = result["usage"]
    seen = (usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"])
    assert seen == (60 * calls, 40 * calls, 20 * calls)


async def test_claude_code_on_a_thinking_mode_chat_backend(rig: Rig) -> None:
    """DeepSeek, Kimi, GLM in thinking mode: the second turn must carry the first's reasoning back."""
    await claude_loop(rig, "chat", bash_loop(thinking_mode=True))
    assert rig.generations("chat")[-1].body["messages"][-2]["reasoning_content"] == "Run it, then quote it."
