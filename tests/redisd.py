"""A real `redis-server` on a free loopback port, in a temporary directory, with a password (the canary).

Tests that need Redis fail, never skip, when `redis-server` is not installed: `.ci/run` installs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from tests.harness import CANARY, free_port

PASSWORD = CANARY  # the Redis URL holds a secret: the canary guard fails any test that logs it


@dataclass
class RedisServer:
    binary: str
    directory: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        config = os.path.join(self.directory, "redis.conf")
        with open(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(f"requirepass {PASSWORD}\n")  # a file, so the password is not in the process list
        command = [self.binary, config, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        self.process = subprocess.Popen(
            [*command, "no", "--dir", self.directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
        )
        async with asyncio.timeout(10):
            while (await self.command("PING")) != b"+PONG":
                if self.process.poll() is not None:
                    raise AssertionError(f"redis-server exited with {self.process.returncode}")
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def command(self, *words: str) -> bytes:
        """One authenticated command over RESP; the first line of its answer (b"" when nothing listens)."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return b""
        try:
            for command in (("AUTH", PASSWORD), words):
                writer.write(f"*{len(command)}\r\n".encode() + b"".join(_bulk(w) for w in command))
            await writer.drain()
            await reader.readline()  # +OK for AUTH
            line = await reader.readline()
            if line.startswith(b"$") and int(line[1:]) >= 0:
                return (await reader.readexactly(int(line[1:]) + 2))[:-2]
            return line.rstrip(b"\r\n")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def info(self, name: str) -> int:
        text = (await self.command("INFO", "all")).decode()
        return int(next(line.split(":")[1] for line in text.splitlines() if line.startswith(name + ":")))


def _bulk(word: str) -> bytes:
    data = word.encode()
    return f"${len(data)}\r\n".encode() + data + b"\r\n"


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)")
    return binary


@asynccontextmanager
async def running_redis() -> AsyncIterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="lip-redis-") as directory:
        server = RedisServer(redis_binary(), directory)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
