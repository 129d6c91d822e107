"""The container recipe, as far as it runs without Docker (not installed here): the Dockerfile's entry command
serves the image's config and its healthcheck command probes /healthz, both run as written (with this machine's
python, a temporary copy of the config and a free port); compose.yaml's two replicas share state through one real
Redis, so a Responses conversation begun on one continues on the other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import yaml

from tests.harness import free_port
from tests.integration.operate import CLIENT_KEY, call
from tests.redisd import RedisServer

ROOT = Path(__file__).parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
IMAGE_CONFIG = "/etc/lip/lip.yaml"


def instruction(name: str) -> str:
    """The arguments of the Dockerfile's last ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]
    assert found, name
    return found[-1]


def exec_form(text: str) -> list[str]:
    words = json.loads(text)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words)
    return words


def entry_command() -> list[str]:
    return exec_form(instruction("ENTRYPOINT")) + exec_form(instruction("CMD"))


def healthcheck_command() -> list[str]:
    return exec_form(instruction("HEALTHCHECK").partition(" CMD ")[2])


def here(command: Sequence[str], config: Path, port: int) -> list[str]:
    """The image's command on this machine: its ``lip`` and ``python``, the config copy, a free port."""
    replaced = {"lip": [sys.executable, "-m", "lip"], "python": [sys.executable]}
    out: list[str] = []
    for index, word in enumerate(command):
        word = word.replace(IMAGE_CONFIG, str(config)).replace("8000", str(port))
        out += replaced.get(word, [word]) if index == 0 else [word]
    return out


def healthy(port: int) -> int:
    command = here(healthcheck_command(), Path(), port)
    return subprocess.run(command, timeout=10, check=False, capture_output=True).returncode


@asynccontextmanager
async def replica(config: Path, env: dict[str, str]) -> AsyncIterator[str]:
    """The image's entry command with ``env``; its URL once the healthcheck command passes."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("LIP_", "OPENAI_", "ANTHROPIC_"))}
    process = await asyncio.create_subprocess_exec(
        *here(entry_command(), config, port),
        env={**child_env, **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(20):
            while await asyncio.to_thread(healthy, port) != 0:
                assert process.returncode is None, "lip exited"
                await asyncio.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        await process.wait()
    assert await asyncio.to_thread(healthy, port) != 0  # the healthcheck fails once lip is gone


def test_the_image_is_slim_runs_as_a_user_and_gets_config_by_mount() -> None:
    assert re.search(r"^FROM python:3\.1\d-slim$", DOCKERFILE, re.MULTILINE)
    assert instruction("USER") not in ("root", "0")
    assert "/healthz" in instruction("HEALTHCHECK")
    assert IMAGE_CONFIG in entry_command() and "0.0.0.0" in entry_command()
    assert "API_KEY" not in instruction("ENV") and "REDIS_URL" not in instruction("ENV")  # secrets by env at run


def test_compose_runs_two_replicas_on_their_own_ports_and_one_redis() -> None:
    services = COMPOSE["services"]
    replicas = [s for s in services.values() if s.get("image") == "lip:local"]
    assert len(replicas) == 2 and "redis" in services
    ports = [p.rsplit(":", 1)[0] for s in replicas for p in s["ports"]]
    assert len(set(ports)) == 2
    for service in replicas:
        assert service["build"] == "."
        assert "@redis:6379" in service["environment"]["LIP_REDIS_URL"]
        mounted = [v.split(":")[0] for v in service["volumes"]]
        assert all((ROOT / m).exists() for m in mounted) and "./deploy/lip.yaml" in mounted


async def test_two_replicas_serve_the_image_config_and_share_state(tmp_path: Path, redis_server: RedisServer) -> None:
    config = tmp_path / "lip.yaml"
    shutil.copy(ROOT / "deploy" / "lip.yaml", config)
    env = {"LIP_API_KEY": CLIENT_KEY, "LIP_REDIS_URL": redis_server.url}
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    async with replica(config, env) as one, replica(config, env) as two:
        first = await call(one + "/v1/responses", {"model": "local-stub:echo", "input": "remember me"}, headers=auth)
        follow = {"model": "local-stub:echo", "input": "and now?", "previous_response_id": first.json().get("id")}
        second = await call(two + "/v1/responses", follow, headers=auth)
        refused = await call(two + "/v1/models", method="GET")
    assert first.status == 200, first.body
    assert second.status == 200, second.body
    assert refused.status == 401  # 0.0.0.0 with a client key: every path but /healthz needs it
