"""Codex CLI (npm @openai/codex, pinned in .agents/package.json) headless (`codex exec`) through lip to each backend
kind, as the README configures it: a model provider at lip with `wire_api = "responses"` and the selector as model.

The model runs a real command with Codex's `exec_command` tool (it writes a file and prints a marker), then answers
quoting the tool's output. With its default model (no `-m`, lip routing the name by an alias) Codex offers its tools
in an `additional_tools` input item, grouped in namespaces, and runs commands from JavaScript through its freeform
`functions.exec` tool: that loop too. `--disable plugins` keeps Codex from
fetching its plugin catalogue (github.com, chatgpt.com); every run asserts it reached nothing but loopback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.rig import BIN, Loop, Ran, Rig, require, run, running_rig, selector, workspace
from tests.fakes import FakeToolCall, FakeUsage
from tests.integration.matrix import BACKENDS

MARKER = "LIP-AGENT-CODEX"
COMMAND = f"printf 'written by codex\\n' > proof.txt && echo {MARKER}-$(wc -c < proof.txt)"
PRINTED = f"{MARKER}-17"
USAGE = FakeUsage(input_tokens=100, output_tokens=20, cached=40, reasoning=8)


async def codex(rig: Rig, home: Path, work: Path, *model: str) -> Ran:
    """`codex exec` with a throw-away CODEX_HOME, lip as its only provider, commands run without a sandbox (the
    tests run as root in a container, where Codex's own sandbox cannot start)."""
    codex_home = home / ".codex"
    codex_home.mkdir()
    provider = f'{{name="lip", base_url="{rig.lip.url}/v1", env_key="LIP_CLIENT_KEY", wire_api="responses"}}'
    argv = [
        str(BIN / "codex"),
        "exec",
        "--skip-git-repo-check",
        "--json",
        "--sandbox",
        "danger-full-access",
        "-c",
        "model_provider=lip",
        "-c",
        f"model_providers.lip={provider}",
        "-c",
        "analytics.enabled=false",
        "-c",
        "check_for_update_on_startup=false",
        "--disable",
        "plugins",  # else it syncs its plugin catalogue from github.com and chatgpt.com
        *model,
        "Write proof.txt and tell me what the command printed.",
    ]
    env = rig.env(home, {"CODEX_HOME": str(codex_home), "LIP_CLIENT_KEY": "client-key"})
    return await run(argv, env, work)


def events(ran: Ran) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]


def failures(ran: Ran) -> list[str]:
    """What Codex reported as failed (the upstream's or lip's error message), for assertion messages."""
    found = [e.get("message") or e.get("error", {}).get("message") for e in events(ran)]
    kinds = [e.get("type") for e in events(ran)]
    return [str(m) for m, k in zip(found, kinds, strict=True) if k in ("error", "turn.failed")]


def agent_messages(ran: Ran) -> list[str]:
    return [
        e["item"]["text"]
        for e in events(ran)
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]


async def codex_loop(rig: Rig, backend: str, loop: Loop) -> dict[str, Any]:
    """`codex exec` on `backend` with `loop` as the model: the file is written, the answer quotes the command's
    output, the fake saw `exec_command` offered, then its result. The turn's usage as Codex reports it."""
    require("@openai/codex")
    rig.fake.responder = loop
    with workspace() as (home, work):
        ran = await codex(rig, home, work, "--model", selector(backend))
        assert ran.returncode == 0, failures(ran) or ran
        assert (work / "proof.txt").read_text() == "written by codex\n"
    assert agent_messages(ran) == [f"The command printed: {PRINTED}"], ran
    commands = [e["item"] for e in events(ran) if e.get("type") == "item.completed"]
    assert any(i["type"] == "command_execution" and i["exit_code"] == 0 for i in commands)

    seen = rig.generations(backend)
    assert len(seen) == 2, [v.tool_results for v in seen]
    assert "exec_command" in seen[0].tools and seen[0].tool_results == ()
    assert any(PRINTED in text for text in seen[1].tool_results), seen[1].tool_results
    assert rig.trap.targets == [], "nothing but loopback"
    usage: dict[str, Any] = next(e for e in events(ran) if e.get("type") == "turn.completed")["usage"]
    return usage


def exec_loop(**options: Any) -> Loop:
    return Loop("exec_command", {"cmd": COMMAND}, MARKER, **options)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_codex_runs_a_command_and_quotes_it(rig: Rig, backend: str) -> None:
    usage = await codex_loop(rig, backend, exec_loop())
    assert (usage["input_tokens"], usage["output_tokens"]) == (20, 10)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_codex_usage_is_whole(rig: Rig, backend: str) -> None:
    """Cached and reasoning tokens reach Codex's turn usage from every backend kind (two answers of this usage)."""
    usage = await codex_loop(rig, backend, exec_loop(usage=USAGE))
    assert usage == {
        "input_tokens": 200,
        "cached_input_tokens": 80,
        "cache_write_input_tokens": 0,
        "output_tokens": 40,
        "reasoning_output_tokens": 16,
    }


async def test_codex_on_a_thinking_mode_chat_backend(rig: Rig) -> None:
    """DeepSeek, Kimi, GLM in thinking mode: the second turn must carry the first's reasoning back."""
    await codex_loop(rig, "chat", exec_loop(thinking_mode=True))
    assert rig.generations("chat")[-1].body["messages"][-2]["reasoning_content"] == "Run it, then quote it."


@pytest.mark.parametrize("backend", BACKENDS)
async def test_codex_namespaced_tools_reach_the_backend(rig: Rig, backend: str) -> None:
    """Codex's sub-agent tools come in a `namespace` entry of `tools`; each must reach the model, by any name."""
    require("@openai/codex")
    rig.fake.responder = Loop("none", {}, MARKER)
    with workspace() as (home, work):
        ran = await codex(rig, home, work, "--model", selector(backend))
    assert ran.returncode == 0, failures(ran) or ran
    assert agent_messages(ran) == ["ok"], ran
    (sent,) = rig.generations(backend)
    namespaced = ["close_agent", "resume_agent", "send_input", "spawn_agent", "wait_agent"]
    assert all(any(name.endswith(inner) for name in sent.tools) for inner in namespaced), sent.tools


@pytest.mark.parametrize("backend", BACKENDS)
async def test_codex_default_model_reaches_every_backend(backend: str) -> None:
    """Codex's default model puts every tool in an `additional_tools` input item (namespaces `functions`,
    `collaboration`, ...); lip routes the name Codex sends by an alias, and the backend gets each tool."""
    require("@openai/codex")
    async with running_rig({"model_aliases": [{"pattern": ".*", "replacement": selector(backend)}]}) as rig:
        rig.fake.responder = Loop("none", {}, MARKER)
        with workspace() as (home, work):
            ran = await codex(rig, home, work)
        assert ran.returncode == 0, failures(ran) or ran
        assert agent_messages(ran) == ["ok"], ran
        (sent,) = rig.generations(backend)
        assert rig.trap.targets == []
    for inner in ("exec", "wait", "spawn_agent", "send_message"):
        assert any(name.endswith(inner) for name in sent.tools), sent.tools


@pytest.mark.parametrize("backend", BACKENDS)
async def test_codex_default_model_runs_a_command_in_code_mode(backend: str) -> None:
    """Codex's default model runs commands from JavaScript: its freeform `exec` tool in the `functions` namespace.
    A Responses model calls it as Codex declared it (a `custom_tool_call` with `namespace`); lip hands a Chat or
    Anthropic model `functions__exec`, a function of one string, and returns its call to Codex as the namespaced
    custom tool call. Codex runs the script (and the command in it); its output comes back as the tool result."""
    require("@openai/codex")
    script = f"const r = await tools.exec_command({{cmd: {json.dumps(COMMAND)}}}); text(r.output);"
    if backend == "responses":
        call = FakeToolCall("exec", script, namespace="functions", custom=True)
        loop = Loop("functions.exec", {}, MARKER, call=call)
    else:
        loop = Loop("functions__exec", {"input": script}, MARKER)
    async with running_rig({"model_aliases": [{"pattern": ".*", "replacement": selector(backend)}]}) as rig:
        rig.fake.responder = loop
        with workspace() as (home, work):
            ran = await codex(rig, home, work)
            assert ran.returncode == 0, failures(ran) or ran
            assert (work / "proof.txt").read_text() == "written by codex\n"
        assert agent_messages(ran) == [f"The command printed: {PRINTED}"], ran
        first, second = rig.generations(backend)
        assert rig.trap.targets == []
    assert loop.tool in first.tools and first.tool_results == ()
    assert any(PRINTED in text for text in second.tool_results), second.tool_results
