"""Run a real lip server on a loopback port for integration tests, and make SDK clients that talk to it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import yaml
from aiohttp import web
from google import genai
from google.genai import types as genai_types

from lip.config.load import Settings, load_default, load_text
from lip.runtime import RUNTIME, Runtime
from lip.server import create_app

CANARY = "sk-CANARY-7f3a9c1e5b2d4f60"  # a secret that must never appear in any output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LipServer:
    """A running lip; SDK clients made here are closed when the server stops."""

    app: web.Application
    url: str  # http://127.0.0.1:PORT
    settings: Settings
    clients: list[openai.AsyncOpenAI | anthropic.AsyncAnthropic] = field(default_factory=list)
    google_clients: list[genai.Client] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        return self.app[RUNTIME].current

    def openai(self, **kwargs: Any) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(
            base_url=self.url + "/v1", api_key=kwargs.pop("api_key", "client-key"), max_retries=0, **kwargs
        )
        self.clients.append(client)
        return client

    def anthropic(self, **kwargs: Any) -> anthropic.AsyncAnthropic:
        client = anthropic.AsyncAnthropic(
            base_url=self.url, api_key=kwargs.pop("api_key", "client-key"), max_retries=0, **kwargs
        )
        self.clients.append(client)
        return client

    def gemini(self, api_key: str = "client-key", **options: Any) -> genai.Client:
        """google-genai pointed at lip (it calls ``/v1/models/...``; ``api_version="v1beta"`` for the beta paths)."""
        client = genai.Client(api_key=api_key, http_options=genai_types.HttpOptions(base_url=self.url, **options))
        self.google_clients.append(client)
        return client


def backend_row(
    backend_id: str,
    base_url: str,
    *,
    kind: str = "custom-openai-legacy-compatible",
    prefix: str | None = None,
    key_root: str | None = None,
    **config: Any,
) -> dict[str, Any]:
    """A backend row in the seed's YAML shape."""
    row_config: dict[str, Any] = {"backend_prefix": prefix or backend_id, "base_url": base_url, **config}
    if key_root:
        row_config["api_key_env_var_root"] = key_root
    return {"id": backend_id, "kind": kind, "enabled": True, "config": row_config}


@asynccontextmanager
async def run_lip(
    config: Mapping[str, Any] | str | None,
    env: Mapping[str, str] | None = None,
    *,
    wait_discovery: bool = True,
) -> AsyncIterator[LipServer]:
    """Validate ``config`` exactly as ``lip serve`` does (None: the embedded default, as ``lip serve`` without
    ``--config``), serve it on a free loopback port, yield, shut down."""
    if config is None:
        settings = load_default(env or {})
    else:
        text = config if isinstance(config, str) else yaml.safe_dump(dict(config))
        settings = load_text(text, "test-config.yaml", env or {})
    app = create_app(settings, env or {})
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = LipServer(app, f"http://127.0.0.1:{port}", settings)
    try:
        if wait_discovery:
            await server.runtime.wait_discovery()
        yield server
    finally:
        for client in server.clients:
            await client.close()
        for google in server.google_clients:
            await google.aio.aclose()
        await runner.cleanup()
