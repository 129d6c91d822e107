"""The lip command: check-config (exit 0 with a summary, 1 with every problem, 2 for usage errors, no network),
routes, inventory [--json], and serve's validation before it binds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result

from lip.cli import main
from tests.fakes import FakeProvider, HtmlErrorPage
from tests.harness import CANARY, backend_row

WIDE = {"COLUMNS": "250"}  # rich wraps table cells at the terminal width


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**WIDE, **(env or {})}, catch_exceptions=False)


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "lip.yaml") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(path)


def two_backends(url: str) -> dict[str, Any]:
    return {
        "routing": {
            "default_route": "provider123:deepseek-chat",
            "model_aliases": [{"pattern": "^gpt-4o(-mini)?$", "replacement": "provider123:deepseek-chat"}],
        },
        "plugins": {
            "backends": [
                backend_row(
                    "provider123",
                    url + "/v1",
                    key_root="PROVIDER123_API_KEY",
                    models={"source": "inline", "items": [{"native_id": "deepseek-chat"}]},
                ),
                backend_row("claude", url, kind="custom-anthropic-compatible", prefix="claude-proxy"),
                {"id": "stub", "kind": "local-stub"},
            ]
        },
    }


def test_check_config_valid_prints_a_summary(tmp_path: Path) -> None:
    config = write(tmp_path, two_backends("https://api.example.com"))
    result = run("check-config", "--config", config, env={"PROVIDER123_API_KEY": CANARY, "PROVIDER123_API_KEY_2": "k2"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{config}: valid" in out
    for text in (
        "provider123",
        "claude-proxy",
        "local-stub",
        "custom-openai-legacy-compatible",
        "custom-anthropic-compatible",
        "yes (2 keys from PROVIDER123_API_KEY)",
        "inline",
        "discovery",
        "stub",
        "3 enabled backend(s)",
        "127.0.0.1:8000",
    ):
        assert text in out, text
    assert "auth configured" in out
    assert CANARY not in out and "k2" not in out.replace("PROVIDER123_API_KEY_2", "")


def test_check_config_shows_unauthenticated_backends_and_the_warning(tmp_path: Path) -> None:
    config = write(tmp_path, two_backends("https://api.example.com"))
    result = run("check-config", "--config", config)
    assert result.exit_code == 0
    assert "no (PROVIDER123_API_KEY not set)" in result.output
    assert "warning:" in result.output and "without an API key" in result.output


def test_check_config_without_a_file_checks_the_embedded_default() -> None:
    result = run("check-config")
    assert result.exit_code == 0, result.output
    assert "<embedded default>: valid" in result.output and "local-stub" in result.output


def test_check_config_invalid_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        {
            "routing": {"default_route": "ghost:m"},
            "plugins": {
                "backends": [
                    backend_row("bad-prefix", "https://api.example.com", prefix="open/ai"),
                    backend_row("bad-url", f"https://user:{CANARY}@api.example.com"),
                    backend_row("literal", "https://api.example.com", prefix="lit", api_key=CANARY),
                    backend_row("typo", "https://api.example.com", prefix="typo", bse_url="x"),
                    backend_row("reserved", "https://api.example.com", prefix="openai"),
                ]
            },
        },
    )
    result = run("check-config", "--config", config)
    assert result.exit_code == 1
    out = result.output
    assert "configuration invalid (6 problem(s))" in out
    for backend_id, field in [
        ("bad-prefix", "config.backend_prefix"),
        ("bad-url", "config.base_url"),
        ("literal", "config.api_key"),
        ("typo", "config.bse_url"),
        ("reserved", "config.backend_prefix"),
    ]:
        assert f"{config}: backend '{backend_id}' (plugins.backends" in out and f"field {field}:" in out
    assert f"{config}: field routing.default_route" in out
    assert out.count("Fix:") == 6
    assert CANARY not in out


@pytest.mark.parametrize(
    "args",
    [
        ["check-config", "--config"],
        ["check-config", "--nope"],
        ["check-config", "--config", "/does/not/exist.yaml"],
        ["check-config", "extra-argument"],
        ["routes", "--config", "/does/not/exist.yaml"],
        ["inventory", "--config", "/does/not/exist.yaml"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output or "Error:" in result.output


def test_a_directory_as_config_is_a_usage_error(tmp_path: Path) -> None:
    assert run("check-config", "--config", str(tmp_path)).exit_code == 2


def test_yaml_syntax_errors_exit_1_naming_the_line(tmp_path: Path) -> None:
    config = write(tmp_path, "plugins:\n  backends: [\n    - id\n")
    result = run("check-config", "--config", config)
    assert result.exit_code == 1 and "line" in result.output and config in result.output


async def test_check_config_never_touches_the_network(tmp_path: Path, fake_provider: FakeProvider) -> None:
    config = write(tmp_path, two_backends(fake_provider.url))
    result = await asyncio.to_thread(run, "check-config", "--config", config)
    assert result.exit_code == 0
    assert fake_provider.received == []


def test_serve_validates_before_it_binds(tmp_path: Path) -> None:
    config = write(tmp_path, {"plugins": {"backends": [backend_row("x", "ftp://nowhere")]}})
    result = run("serve", "--config", config, "--port", "0")
    assert result.exit_code == 1
    assert "configuration invalid" in result.output and "config.base_url" in result.output


def test_routes_show_prefixes_aliases_and_the_default_route(tmp_path: Path) -> None:
    data = two_backends("https://api.example.com")
    data["routing"]["model_aliases"] = {"fast": "provider123:deepseek-chat"}
    result = run("routes", "--config", write(tmp_path, data))
    assert result.exit_code == 0, result.output
    out = result.output
    for text in (
        "provider123:<model>",
        "claude-proxy:<model>",
        "stub:<model>",  # a built-in row routes by its id
        "https://api.example.com/v1",
        "(no network)",
        "fast",
        "default route",
        "provider123:deepseek-chat",
    ):
        assert text in out, text


def test_routes_show_regex_aliases(tmp_path: Path) -> None:
    result = run("routes", "--config", write(tmp_path, two_backends("https://api.example.com")))
    assert "^gpt-4o(-mini)?$" in result.output


async def test_inventory_json_lists_models_per_backend_with_source_and_state(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    fake_provider.models = ["claude-test"]
    config = write(tmp_path, two_backends(fake_provider.url))
    result = await asyncio.to_thread(run, "inventory", "--config", config, "--json")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in orjson.loads(result.stdout)["backends"]}
    assert rows["provider123"] == {
        "id": "provider123",
        "factory_kind": "custom-openai-legacy-compatible",
        "enabled": True,
        "prefix": "provider123",
        "source": "inline",
        "state": "ready",
        "error": None,
        "models": ["provider123:deepseek-chat"],
    }
    assert rows["claude"]["source"] == "discovery" and rows["claude"]["state"] == "ready"
    assert rows["claude"]["models"] == ["claude-proxy:claude-test"]
    assert rows["stub"]["models"] == ["stub:echo", "stub:hello"]
    assert [r.path for r in fake_provider.received] == ["/v1/models"]  # only the discovering backend asked
    assert fake_provider.received[0].headers["anthropic-version"]


async def test_inventory_text_shows_failed_discovery(tmp_path: Path, fake_provider: FakeProvider) -> None:
    fake_provider.models_behaviour = HtmlErrorPage(503)
    config = write(tmp_path, {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}})
    result = await asyncio.to_thread(run, "inventory", "--config", config)
    assert result.exit_code == 0, result.output
    assert "p (prefix p, source discovery, failed:" in result.output and "503" in result.output


def test_the_installed_entry_point(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "config" / "examples" / "local-unauthenticated.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "lip", "check-config", "--config", str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


@pytest.mark.parametrize("command", ["check-config", "routes"])
def test_the_embedded_default_names_the_presets_the_environment_enabled(command: str) -> None:
    """Which presets a key variable turned on, by the variable's name; never a key, and Azure without its endpoint
    is a warning (check-config) instead of a backend."""
    env = {"DEEPSEEK_API_KEY": CANARY, "GROQ_API_KEY": CANARY, "GROQ_API_KEY_2": CANARY, "AZURE_OPENAI_API_KEY": CANARY}
    result = run(command, env={**env, "AZURE_OPENAI_ENDPOINT": ""})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "presets enabled by the environment: " in out
    assert "deepseek (DEEPSEEK_API_KEY)" in out and "groq (GROQ_API_KEY, GROQ_API_KEY_2)" in out
    assert "azure-openai (" not in out and CANARY not in out
    if command == "check-config":
        assert "AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not" in out


def test_a_config_file_lists_no_environment_presets(tmp_path: Path) -> None:
    config = write(tmp_path, {"plugins": {"backends": [{"id": "deepseek", "kind": "deepseek"}]}})
    result = run("check-config", "--config", config, env={"DEEPSEEK_API_KEY": CANARY})
    assert result.exit_code == 0, result.output
    assert "enabled by the environment" not in result.output and "yes (1 key from DEEPSEEK_API_KEY)" in result.output
