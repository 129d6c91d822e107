"""A canary secret set as a backend key never appears in any output, log or error: check-config, routes and
inventory output, client error bodies (even when the provider quotes the key), logs at DEBUG during 401/429
rotation, diagnostics, and a base_url that carries a password."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import yaml
from click.testing import CliRunner

from lip.cli import main
from lip.config import ConfigError, load_text
from lip.runtime import describe
from tests.fakes import Fail, FakeProvider, Turn
from tests.harness import CANARY, backend_row, run_lip

KEYS = {"P_KEY": CANARY, "P_KEY_2": CANARY + "-two", "P_KEY_3": CANARY + "-three"}
USER = [{"role": "user", "content": "hi"}]


def config(fake: FakeProvider, **extra: Any) -> dict[str, Any]:
    models = {"source": "inline", "items": [{"native_id": "m"}]}
    return {"plugins": {"backends": [backend_row("p", fake.url + "/v1", key_root="P_KEY", models=models, **extra)]}}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_canary(*texts: object) -> None:
    for text in texts:
        assert CANARY not in str(text), text


async def test_logs_and_errors_during_rotation(
    fake_provider: FakeProvider, debug_logs: pytest.LogCaptureFixture
) -> None:
    quoted = {
        "error": {
            "message": f"Incorrect API key provided: {CANARY}",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    fake_provider.keys = {
        CANARY: Fail(401, quoted),
        CANARY + "-two": Fail(429, {"error": {"message": f"slow down, {CANARY}-two"}}, {"Retry-After": "5"}),
        CANARY + "-three": Fail(403, {"error": {"message": f"forbidden for {CANARY}-three"}}),
    }
    async with run_lip(config(fake_provider), KEYS) as lip:
        with pytest.raises(openai.APIStatusError) as caught:
            await lip.openai().chat.completions.create(model="p:m", messages=USER)
        with pytest.raises(openai.APIStatusError) as again:
            await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=True)
        state = describe(lip.runtime)
        async with aiohttp.ClientSession() as session, session.get(lip.url + "/v1/diagnostics") as response:
            diagnostics = await response.text()
    assert len(fake_provider.requests_to("/chat/completions")) == 4  # every key, then the one still usable
    for error in (caught.value, again.value):
        assert_no_canary(error, error.body, error.response.text, error.response.headers)
    assert_no_canary(state, diagnostics, repr(lip.runtime.backends["p"].keys))
    assert debug_logs.records, "the rotation logged something"
    assert_no_canary(debug_logs.text, *[r.getMessage() for r in debug_logs.records])


async def test_a_successful_exchange_logs_no_key(
    fake_provider: FakeProvider, debug_logs: pytest.LogCaptureFixture
) -> None:
    fake_provider.keys = {CANARY: None}
    fake_provider.queue(Turn(), Turn())
    async with run_lip(config(fake_provider), {"P_KEY": CANARY}) as lip:
        await lip.openai().chat.completions.create(model="p:m", messages=USER)
        stream = await lip.openai().chat.completions.create(model="p:m", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert chunks
    assert_no_canary(debug_logs.text, chunks)


async def test_a_failed_discovery_logs_no_key(
    fake_provider: FakeProvider, debug_logs: pytest.LogCaptureFixture
) -> None:
    fake_provider.keys = {"another-key": None}
    fake_provider.models_behaviour = Fail(401, {"error": {"message": f"bad key {CANARY}"}})
    row = backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")
    async with run_lip({"plugins": {"backends": [row]}}, {"P_KEY": CANARY}) as lip:
        entry = lip.runtime.inventory.by_prefix["p"]
    assert entry.state == "failed"
    assert_no_canary(entry.error, debug_logs.text)


def test_config_errors_never_show_the_secret(tmp_path: Path) -> None:
    rows = [
        backend_row("pw", f"https://user:{CANARY}@api.example.com/v1"),
        backend_row("lit", "https://api.example.com/v1", prefix="lit", api_key=CANARY, api_keys=[CANARY]),
        backend_row("hdr", "https://api.example.com/v1", prefix="hdr", headers={"Authorization": f"Bearer {CANARY}"}),
        backend_row("cred", "https://api.example.com/v1", prefix="cred", credentials={"token": CANARY}),
    ]
    text = yaml.safe_dump({"plugins": {"backends": rows}})
    with pytest.raises(ConfigError) as caught:
        load_text(text, "x.yaml", {"P_KEY": CANARY})
    assert len(caught.value.problems) == 5
    assert_no_canary(caught.value, caught.value.problems, repr(caught.value))
    path = tmp_path / "lip.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert_no_canary(result.output)
    assert "***:***@api.example.com" in result.output


async def test_cli_summaries_never_show_the_secret(tmp_path: Path, fake_provider: FakeProvider) -> None:
    fake_provider.keys = {CANARY: None}
    path = tmp_path / "lip.yaml"
    row = backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")
    path.write_text(yaml.safe_dump({"plugins": {"backends": [row]}}))
    env = {"COLUMNS": "250", **KEYS}
    outputs = []
    for args in (["check-config"], ["routes"], ["inventory"], ["inventory", "--json"]):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, [*args, "--config", str(path)], env=env, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "yes (3 keys from P_KEY)" in outputs[0]
    assert "p:gpt-4o-mini" in outputs[3]  # discovery used the key
    assert_no_canary(*outputs)


def test_settings_and_backends_never_show_the_secret() -> None:
    text = yaml.safe_dump({"plugins": {"backends": [backend_row("p", "https://api.example.com/v1", key_root="P_KEY")]}})
    settings = load_text(text, "x.yaml", KEYS)
    assert_no_canary(repr(settings), settings.backends)


async def test_a_token_in_the_base_url_query_reaches_the_upstream_and_nothing_else(
    tmp_path: Path, fake_provider: FakeProvider, debug_logs: pytest.LogCaptureFixture
) -> None:
    row = backend_row("p", fake_provider.url + f"/v1?key={CANARY}&api-version=1")
    path = tmp_path / "lip.yaml"
    path.write_text(yaml.safe_dump({"plugins": {"backends": [row]}}))
    outputs = []
    for args in (["check-config"], ["routes"], ["inventory"], ["inventory", "--json"]):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, [*args, "--config", str(path)], env={"COLUMNS": "250"}, catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "/v1?key=***&api-version=***" in outputs[1]
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        await lip.openai().chat.completions.create(model="p:m", messages=USER)
        async with aiohttp.ClientSession() as session, session.get(lip.url + "/v1/diagnostics") as response:
            diagnostics = await response.json()
    assert diagnostics["backends"][0]["base_url"] == fake_provider.url + "/v1?key=***&api-version=***"
    assert {r.query["key"] for r in fake_provider.received} == {CANARY}
    assert_no_canary(*outputs, diagnostics, debug_logs.text)
