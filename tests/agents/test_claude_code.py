"""Claude Code (npm @anthropic-ai/claude-code, pinned in .agents/package.json) headless through lip to each backend
kind: the model runs a real shell command with Claude Code's Bash tool, the command writes a file and prints a
marker, and the final answer quotes what the tool printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agents.rig import BACKENDS, BIN, Loop, Rig, isolated_env, require, run, selector, workspace

MARKER = "LIP-AGENT-CLAUDE"
COMMAND = f"printf 'written by claude\\n' > proof.txt && echo {MARKER}-$(wc -c < proof.txt)"
PRINTED = f"{MARKER}-18"


def claude_env(rig: Rig, backend: str, home: Path) -> dict[str, str]:
    """Claude Code's documented settings: lip as the API, a key of lip's client, no traffic but the API."""
    return isolated_env(
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


@pytest.mark.parametrize("backend", BACKENDS)
async def test_claude_code_runs_a_command_and_quotes_it(rig: Rig, backend: str) -> None:
    require("@anthropic-ai/claude-code")
    rig.fake.responder = Loop("Bash", {"command": COMMAND, "description": "Write proof.txt"}, MARKER)
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
        assert ran.returncode == 0, ran
        assert (work / "proof.txt").read_text() == "written by claude\n"
    result = json.loads(ran.stdout)
    assert result["is_error"] is False and result["subtype"] == "success", ran
    assert result["result"] == f"The command printed: {PRINTED}"

    seen = rig.generations(backend)
    assert len(seen) >= 2, "the fake played both turns"
    first, last = seen[0], seen[-1]
    assert {"Bash", "Read", "Edit", "Write"} <= set(first.tools)
    assert first.tool_results == ()
    assert any(PRINTED in text for text in last.tool_results), last.tool_results
    assert all(view.model == rig_model(backend) for view in seen)
    usage = result["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (10 * len(seen), 5 * len(seen))


def rig_model(backend: str) -> str:
    return selector(backend).split(":", 1)[1]
