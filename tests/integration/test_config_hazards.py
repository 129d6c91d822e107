"""Config mistakes through the real commands: `lip check-config` and `lip serve` refuse a config that serves nothing
(unless server.allow_no_backends says so), a SIGHUP with an empty or half-written file leaves the running config
serving, a backend key root that reads lip's own client keys is refused naming file, backend and field (and the key
never goes upstream), and a refused base_url's fragment, userinfo and query are masked."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import CANARY, backend_row
from tests.integration.operate import CLIENT_KEY, call, lip_process, write_config
from tests.integration.test_cli import run, write

CHAT = {"model": "p:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}
URL = "https://api.example.com/v1"


def test_check_config_refuses_an_empty_file(tmp_path: Path) -> None:
    config = write(tmp_path, "")
    result = run("check-config", "--config", config)
    assert result.exit_code == 1
    assert f"{config}: field plugins.backends: no backend is enabled" in result.output
    allowed = write(tmp_path, "server:\n  allow_no_backends: true\n", "allowed.yaml")
    assert run("check-config", "--config", allowed).exit_code == 0


def test_check_config_still_passes_the_embedded_default() -> None:
    result = run("check-config")
    assert result.exit_code == 0, result.output


def test_lip_serve_refuses_to_start_with_an_empty_file(tmp_path: Path) -> None:
    config = write(tmp_path, "")
    done = subprocess.run(
        [sys.executable, "-m", "lip", "serve", "--config", config, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "no backend is enabled" in done.stdout + done.stderr


def test_check_config_refuses_a_key_root_that_reads_lips_client_keys(tmp_path: Path) -> None:
    config = write(tmp_path, {"plugins": {"backends": [backend_row("p1", URL, key_root="LIP_API_KEY")]}})
    result = run("check-config", "--config", config, env={"LIP_API_KEY": CANARY})
    assert result.exit_code == 1
    out = result.output
    assert f"{config}: backend 'p1' (plugins.backends[0]) field config.api_key_env_var_root:" in out
    assert "lip's own variable LIP_API_KEY" in out and CANARY not in out


def test_check_config_warns_on_a_system_variable_as_key_root(tmp_path: Path) -> None:
    config = write(tmp_path, {"plugins": {"backends": [backend_row("p1", URL, key_root="HOME")]}})
    result = run("check-config", "--config", config, env={"HOME": "/home/someone"})
    assert result.exit_code == 0, result.output
    assert "'HOME' looks like a system variable" in result.output and "/home/someone" not in result.output


def test_check_config_masks_a_refused_base_urls_fragment(tmp_path: Path) -> None:
    rows = [backend_row("p1", f"https://api.example.com/v1?token={CANARY}#{CANARY}")]
    config = write(tmp_path, {"plugins": {"backends": rows}})
    result = run("check-config", "--config", config)
    assert result.exit_code == 1 and "config.base_url" in result.output
    assert "'https://api.example.com/v1?token=***#***' must not contain a fragment" in result.output
    assert CANARY not in result.output


async def test_sighup_with_an_empty_or_half_written_file_keeps_serving(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    provider = await fake_provider_factory()
    config = {"plugins": {"backends": [backend_row("p", provider.url + "/v1", models=MODELS)]}}
    async with lip_process(config) as lip:
        for text in ("", "server:\n  port: 8000\n"):  # empty; written up to before plugins:
            Path(lip.config_path).write_text(text)
            lip.signal(signal.SIGHUP)
            await lip.wait_for_log("no backend is enabled", count=1 if not text else 2)
            assert (await call(lip.url + "/v1/chat/completions", CHAT)).status == 200
        write_config(lip.config_path, {"server": {"allow_no_backends": True}})
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("configuration reloaded")
        assert (await call(lip.url + "/v1/chat/completions", CHAT)).status == 404  # what the operator asked for
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    assert lip.log.count("reload rejected") == 2
    assert len(provider.received) == 2


async def test_sighup_with_a_key_root_reading_lips_client_keys_is_rejected_and_no_key_goes_upstream(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    provider = await fake_provider_factory()
    row = backend_row("p", provider.url + "/v1", models=MODELS)
    env = {"LIP_API_KEY": CLIENT_KEY}
    async with lip_process({"plugins": {"backends": [row]}}, env) as lip:
        write_config(
            lip.config_path,
            {"plugins": {"backends": [{**row, "config": {**row["config"], "api_key_env_var_root": "LIP_API_KEY"}}]}},
        )
        lip.signal(signal.SIGHUP)
        await lip.wait_for_log("reload rejected")
        answer = await call(lip.url + "/v1/chat/completions", CHAT, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    assert answer.status == 200
    assert "field config.api_key_env_var_root" in lip.log and "lip's own variable LIP_API_KEY" in lip.log
    assert all(CLIENT_KEY not in str(dict(r.headers)) for r in provider.received)
