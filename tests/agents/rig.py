"""The real-agent suite's rig: the npm-installed clients, one fake provider of each kind behind one lip, a scripted
model that plays an agent loop, and a way to run a CLI headless with nothing but loopback to talk to (its proxy is a
trap on loopback that refuses and records whatever else it tries: the tests assert it tried nothing).

The clients live in `.agents/node_modules` (pinned in `.agents/package.json` and its lock; `.ci/run` installs them,
a developer runs `npm ci --prefix .agents`). Without them every test here skips, saying what to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import Fail, FakeProvider, FakeToolCall, FakeUsage, Turn
from tests.fakes.script import Action
from tests.fakes.view import Protocol, RequestView, request_view
from tests.harness import LipServer, run_lip
from tests.integration.matrix import MODEL, PREFIX, matrix_config

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / ".agents"
BIN = AGENTS / "node_modules" / ".bin"
INSTALL = "npm ci --prefix .agents"
RUN_TIMEOUT = 120.0  # seconds, one CLI run
PROTOCOL: dict[str, Protocol] = {"chat": "chat", "responses": "responses", "anthropic": "messages"}
LOOPBACK = "127.0.0.1,localhost,::1"


def require(*packages: str) -> None:
    """Skip (saying what to run) when an npm package of the suite is not installed."""
    missing = [p for p in packages if not (AGENTS / "node_modules" / p / "package.json").is_file()]
    if not shutil.which("node"):
        pytest.skip(f"node is not installed: install Node.js >= 18 and npm, then run `{INSTALL}`")
    if missing:
        pytest.skip(f"the agent clients are not installed ({', '.join(missing)}): run `{INSTALL}`")


def selector(backend: str) -> str:
    return f"{PREFIX[backend]}:{MODEL[backend]}"


class ProxyTrap:
    """The clients' HTTP(S) proxy on loopback: whatever a client tries to reach beyond loopback ends here, is
    refused (403), and is recorded in `targets` ("host:port" of a CONNECT, or the URL of a plain request)."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> ProxyTrap:
        self._server = await asyncio.start_server(self._refuse, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            line = (await asyncio.wait_for(reader.readline(), 5)).decode(errors="replace").split()
            self.targets.append(line[1] if len(line) > 1 else "?")
            writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        writer.close()


@dataclass
class Rig:
    fake: FakeProvider
    lip: LipServer
    trap: ProxyTrap

    def env(self, home: Path, extra: Mapping[str, str]) -> dict[str, str]:
        """`isolated_env` with this rig's proxy trap."""
        return isolated_env(home, self.trap.url, extra)

    def generations(self, backend: str) -> list[RequestView]:
        """Every generation request the fake got on `backend`'s protocol, as neutral views."""
        suffix = {"chat": "/chat/completions", "responses": "/responses", "anthropic": "/messages"}[backend]
        return [request_view(PROTOCOL[backend], r.body) for r in self.fake.requests_to(suffix)]


@asynccontextmanager
async def running_rig(routing: Mapping[str, Any] | None = None) -> AsyncIterator[Rig]:
    """A fake, a lip with a backend of each kind on it (and `routing`, when given), and a proxy trap."""
    async with FakeProvider() as fake:
        config = matrix_config(fake)  # the conformance matrix's backends: oc (Chat), or (Responses), an (Anthropic)
        if routing is not None:
            config["routing"] = dict(routing)
        async with run_lip(config) as lip, ProxyTrap() as trap:
            yield Rig(fake, lip, trap)


# ---------------------------------------------------------------- the scripted model


@dataclass(frozen=True)
class Loop:
    """One agent loop: the model calls `tool` with `arguments`, then answers quoting the tool's output.

    Any request without the tool on offer (a client's side requests: titles, summaries) gets a short plain answer,
    so the loop does not depend on how many of those a client makes.

    `thinking_mode` plays a Chat model in DeepSeek's thinking mode (Kimi and GLM alike): it always reasons, in
    `reasoning_content`, and refuses with DeepSeek's 400 an assistant tool-call turn sent back without it.
    `usage` is what every answer reports.
    """

    tool: str
    arguments: dict[str, Any]
    marker: str
    quote_prefix: str = "The command printed: "
    thinking_mode: bool = False
    usage: FakeUsage = field(default_factory=FakeUsage)
    call: FakeToolCall | None = None  # the call to make, when not a function call of `tool` with `arguments`

    def __call__(self, view: RequestView) -> Action:
        if self.thinking_mode and view.protocol == "chat":
            refusal = _reasoning_missing(view.body.get("messages") or [])
            if refusal is not None:
                return refusal
        for result in view.tool_results:
            if self.marker in result:
                return Turn(text=self.quote_prefix + _line_with(result, self.marker), chunks=2, usage=self.usage)
        if self.tool in view.tools:
            call = self.call or FakeToolCall(self.tool, json.dumps(self.arguments))
            reasoning = "Run it, then quote it." if view.thinking or self.thinking_mode else None
            return Turn(text="", tool_calls=[call], reasoning=reasoning, usage=self.usage)
        return Turn(text="ok", chunks=1, usage=self.usage)


def _reasoning_missing(messages: list[Any]) -> Fail | None:
    """DeepSeek's answer to a tool loop whose assistant tool-call turn lost its `reasoning_content`."""
    for i, message in enumerate(messages):
        calls = message.get("role") == "assistant" and message.get("tool_calls")
        if calls and not isinstance(message.get("reasoning_content"), str):
            text = (
                f"Missing `reasoning_content` field in the assistant message at message index {i}. For more "
                "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls"
            )
            error = {"message": text, "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}
            return Fail(400, {"error": error})
    return None


def _line_with(text: str, marker: str) -> str:
    return next(line.strip() for line in text.splitlines() if marker in line)


# ---------------------------------------------------------------- running a client


@dataclass(frozen=True)
class Ran:
    """What a client run left: its exit status and output (shown whole in an assertion message)."""

    returncode: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


def isolated_env(home: Path, proxy: str, extra: Mapping[str, str]) -> dict[str, str]:
    """A child environment with a temporary HOME, no provider keys of the developer, and no way out but loopback:
    everything else goes to `proxy` (a `ProxyTrap`)."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        HTTPS_PROXY=proxy,
        HTTP_PROXY=proxy,
        ALL_PROXY=proxy,
        https_proxy=proxy,
        http_proxy=proxy,
        NO_PROXY=LOOPBACK,
        no_proxy=LOOPBACK,
        CI="1",
    )
    env.update(extra)
    return env


async def run(argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = RUN_TIMEOUT) -> Ran:
    """Run a client to completion (stdin closed) in its own process group; kill the group at `timeout`."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        out, err = await process.communicate()
        raise AssertionError(
            f"{argv[0]} did not finish in {timeout:.0f} s:\n{Ran(-9, out.decode(), err.decode())}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever the client left behind
            os.killpg(process.pid, signal.SIGKILL)
    return Ran(process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


@contextlib.contextmanager
def workspace() -> Iterator[tuple[Path, Path]]:
    """A temporary HOME and, inside it, the work directory the agent runs in."""
    with tempfile.TemporaryDirectory(prefix="lip-agent-") as tmp:
        home = Path(tmp)
        work = home / "work"
        work.mkdir()
        yield home, work
