"""Scenarios, targets, and what each target is sent in each scenario."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fixtures

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"

UPSTREAM_PORT = 18000
LIP_PORT = 18080
LITELLM_PORT = 18090
BARE_PORT = 18070
LITELLM_VERSION = "1.108.7"


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    client: str  # chat-json | chat-sse | anthropic-sse | responses-sse
    upstream: str  # chat-json | chat-sse | anthropic-sse | chat-paced (Chat SSE, one event every 20 ms)
    connections: int
    workers: int = 0  # >0: lip only, `lip serve --workers N`, proxy and wrk unpinned

    @property
    def paced(self) -> bool:
        """Streams from the paced upstream (one event every 20 ms): reported per chunk and per open stream."""
        return self.upstream == "chat-paced"


SCENARIOS = [
    Scenario("S0", "Chat stream, 1 connection (added latency)", "chat-sse", "chat-sse", 1),
    Scenario("S1", "Chat non-stream, 32 connections", "chat-json", "chat-json", 32),
    Scenario("S2", "Chat stream 50 chunks, 32 connections", "chat-sse", "chat-sse", 32),
    Scenario("S3", "Chat stream 50 chunks, 256 connections", "chat-sse", "chat-sse", 256),
    Scenario("S4", "Anthropic client -> Chat upstream, stream, 32 conns", "anthropic-sse", "chat-sse", 32),
    Scenario("S5", "Chat client -> Anthropic upstream, stream, 32 conns", "chat-sse", "anthropic-sse", 32),
    Scenario("S6", "Responses client -> Chat upstream, stream, 32 conns", "responses-sse", "chat-sse", 32),
    Scenario("S7", "Chat stream paced 20 ms/event, 1,000 conns", "chat-sse", "chat-paced", 1000),
    Scenario("S8", "Chat stream paced 20 ms/event, 2,000 conns", "chat-sse", "chat-paced", 2000),
    Scenario("S7A", "Anthropic client -> Chat paced, 1,000 conns", "anthropic-sse", "chat-paced", 1000),
    Scenario("S8A", "Anthropic client -> Chat paced, 2,000 conns", "anthropic-sse", "chat-paced", 2000),
    Scenario("W1", "S2 with lip serve --workers 1, unpinned", "chat-sse", "chat-sse", 32, workers=1),
    Scenario("W2", "S2 with lip serve --workers 2, unpinned", "chat-sse", "chat-sse", 32, workers=2),
]


@dataclass(frozen=True)
class Call:
    """One request as the load generator and the check send it."""

    path: str
    body: bytes
    headers: dict[str, str]
    check: str  # decoder in checks.DECODERS, or "exact"
    exact: bytes | None = None


UPSTREAM_PATHS = {
    "chat-sse": "/stream/v1/chat/completions",
    "chat-json": "/json/v1/chat/completions",
    "anthropic-sse": "/anthropic/v1/messages",
    "chat-paced": fixtures.PACED_PATH,
}
AUTH = {"Authorization": "Bearer sk-bench"}
ANTHROPIC_AUTH = {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01"}


def client_call(client: str, model: str) -> Call:
    if client == "chat-json":
        return Call("/v1/chat/completions", fixtures.chat_request(model, stream=False), AUTH, client)
    if client == "chat-sse":
        return Call("/v1/chat/completions", fixtures.chat_request(model, stream=True), AUTH, client)
    if client == "anthropic-sse":
        return Call("/v1/messages", fixtures.anthropic_request(model), ANTHROPIC_AUTH, client)
    if client == "responses-sse":
        return Call("/v1/responses", fixtures.responses_request(model), AUTH, client)
    raise ValueError(client)


@dataclass
class Target:
    name: str
    port: int
    model_for: Callable[[Scenario], str | None]
    command: Callable[[Scenario], list[str]] | None = None  # None: the shared upstream, already running
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 60.0
    client_key: str = "sk-bench"  # what clients send as their API key

    def call(self, scenario: Scenario, upstream_bodies: dict[str, bytes]) -> Call | None:
        model = self.model_for(scenario)
        if model is None:
            return None
        if self.command is None:
            path = UPSTREAM_PATHS[scenario.upstream]
            body = fixtures.chat_request(model, stream=scenario.upstream != "chat-json")
            return Call(path, body, {}, "exact", upstream_bodies[path])
        call = client_call(scenario.client, model)
        auth = {"Authorization": f"Bearer {self.client_key}"} | (
            {"x-api-key": self.client_key} if "x-api-key" in call.headers else {}
        )
        return Call(call.path, call.body, {**call.headers, **auth}, call.check, call.exact)


def lip_model(scenario: Scenario) -> str:
    if scenario.upstream == "chat-json":
        return "upjson:bench-model"
    if scenario.upstream == "anthropic-sse":
        return "ant:bench-model"
    if scenario.paced:
        return "paced:bench-model"
    return "up:bench-model"


def litellm_model(scenario: Scenario) -> str | None:
    if scenario.workers:
        return None
    if scenario.upstream == "chat-json":
        return "bench-model-json"
    if scenario.upstream == "anthropic-sse":
        return "bench-claude"
    if scenario.paced:
        return "bench-model-paced"
    if scenario.client == "responses-sse":
        return "bench-model-responses"
    return "bench-model"


def render(template: str, dest: Path, **values: int | str) -> Path:
    text = (BENCH / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


def lip_target(lip_cmd: list[str]) -> Target:
    config = render("lip.yaml.template", WORK / "lip.yaml", PORT=LIP_PORT, UPSTREAM=UPSTREAM_PORT)

    def command(scenario: Scenario) -> list[str]:
        cmd = [*lip_cmd, "serve", "--config", str(config)]
        return [*cmd, "--workers", str(scenario.workers)] if scenario.workers else cmd

    return Target("lip", LIP_PORT, lip_model, command, env={"PYTHONUNBUFFERED": "1"}, ready_timeout=30.0)


def bare_model(scenario: Scenario) -> str | None:
    """The bare relay forwards the body untouched, so it measures the same-protocol Chat scenarios only."""
    same = scenario.client == scenario.upstream or (scenario.client == "chat-sse" and scenario.paced)
    same = same and scenario.id in ("S0", "S1", "S2", "S7", "S8")
    return fixtures.MODEL if same else None


def bare_target(python: str) -> Target:
    """The stack's ceiling: bench/bare_relay.py (aiohttp web on uvloop, one pooled aiohttp client session)."""

    def command(scenario: Scenario) -> list[str]:
        upstream = f"http://127.0.0.1:{UPSTREAM_PORT}{UPSTREAM_PATHS[scenario.upstream]}"
        return [python, str(BENCH / "bare_relay.py"), str(BARE_PORT), upstream]

    return Target("bare", BARE_PORT, bare_model, command, env={"PYTHONUNBUFFERED": "1"}, ready_timeout=30.0)


LITELLM_OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PYTHONUNBUFFERED": "1",
}


def litellm_target(venv: Path) -> Target:
    """LiteLLM refuses to start without a master key, so each run makes a throwaway one for its clients."""
    config = render("litellm.yaml.template", WORK / "litellm.yaml", UPSTREAM=UPSTREAM_PORT)
    key = f"sk-bench-{secrets.token_hex(16)}"

    def command(scenario: Scenario) -> list[str]:
        litellm = str(venv / "bin" / "litellm")
        return [
            litellm,
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(LITELLM_PORT),
            "--num_workers",
            "1",
        ]

    env = {**LITELLM_OFFLINE_ENV, "LITELLM_MASTER_KEY": key}
    return Target("LiteLLM", LITELLM_PORT, litellm_model, command, env=env, ready_timeout=180.0, client_key=key)


def upstream_target() -> Target:
    return Target("upstream", UPSTREAM_PORT, lambda s: None if s.workers else fixtures.MODEL)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a target: ours minus proxies, secrets-looking variables and DB URLs, plus `extra`."""
    drop = ("_PROXY", "_proxy", "DATABASE_URL", "API_KEY", "_TOKEN", "REDIS_")
    env = {k: v for k, v in os.environ.items() if not any(d in k for d in drop)}
    env.update(extra)
    return env
