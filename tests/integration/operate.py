"""Helpers for the operations tests: raw HTTP calls, and `lip serve` as a real subprocess (signals, workers)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import yaml
from aiohttp import web

from lip.config.load import load_file
from lip.process import make_runner
from lip.server import create_app
from tests.harness import free_port

CLIENT_KEY = "lip-client-key-0123456789abcdef"
CHAT = {"model": "local-stub:echo", "messages": [{"role": "user", "content": "hi"}]}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


async def call(
    url: str,
    body: Any = None,
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One request on a fresh connection (a JSON body unless ``body`` is bytes); the whole answer."""
    data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout) as session,
        session.request(method, url, data=data, headers={"content-type": "application/json", **(headers or {})}) as r,
    ):
        return Reply(r.status, r.headers, await r.read())


async def raw_exchange(url: str, data: bytes, read_timeout: float = 5.0) -> bytes:
    """Write ``data`` on a new TCP connection and read until the server closes it or goes quiet."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    out = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), read_timeout)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out and read_timeout < 5:
                break
    except TimeoutError:
        pass
    finally:
        writer.close()
    return out


def sse_data(body: bytes) -> list[str]:
    """The data fields of an SSE body."""
    return [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]


def write_config(path: str, config: Mapping[str, Any]) -> None:
    with open(path, "w") as handle:
        yaml.safe_dump(dict(config), handle)


@asynccontextmanager
async def run_lip_file(config_path: str, env: dict[str, str]) -> AsyncIterator[tuple[web.Application, str]]:
    """lip in this process as `lip serve --config config_path` runs it (so it can reload); (app, url)."""
    settings = load_file(config_path, env)
    app = create_app(settings, env, config_path=config_path)
    runner = make_runner(app, settings)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class LipProcess:
    """A `python -m lip serve` child; stderr is collected line by line."""

    process: asyncio.subprocess.Process
    url: str
    config_path: str
    lines: list[str] = field(default_factory=list)

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    async def wait(self, timeout: float = 20.0) -> int:
        async with asyncio.timeout(timeout):
            return await self.process.wait()

    async def wait_for_log(self, text: str, timeout: float = 10.0, count: int = 1) -> None:
        async with asyncio.timeout(timeout):
            while sum(text in line for line in self.lines) < count:
                await asyncio.sleep(0.05)


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    async for raw in stream:
        lines.append(raw.decode(errors="replace").rstrip())


async def _wait_ready(proc: LipProcess, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if proc.process.returncode is not None:
                raise AssertionError(f"lip exited with {proc.process.returncode}:\n{proc.log}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):  # a loaded machine: slow, not down
                if (await call(proc.url + "/healthz", method="GET", timeout=1.0)).status == 200:
                    return
            await asyncio.sleep(0.1)


@asynccontextmanager
async def lip_process(
    config: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    *,
    ready_timeout: float = 20.0,
) -> AsyncIterator[LipProcess]:
    """Serve ``config`` from a temporary file on a free port; SIGKILL whatever is still running at the end."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("LIP_")}
    child_env.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lip.yaml")
        write_config(path, config)
        command = [sys.executable, "-m", "lip", "serve", "--config", path, "--port", str(port), *args]
        process = await asyncio.create_subprocess_exec(
            *command,
            env=child_env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        proc = LipProcess(process, f"http://127.0.0.1:{port}", path)
        assert process.stderr is not None
        reader = asyncio.ensure_future(_collect(process.stderr, proc.lines))
        try:
            await _wait_ready(proc, ready_timeout)
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):  # the group: workers too
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            await reader
