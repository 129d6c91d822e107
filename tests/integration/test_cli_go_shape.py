"""The lip command as in the Go project: ``--config`` before or after the subcommand (the last wins),
``check-config --strict``, ``routes --json``, ``inventory --json`` and ``inspect`` in its documented shapes (the
compatible-backend rows), and never a secret in any of them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result

from lip.backends.presets import KINDS
from lip.cli import main
from lip.protocols.registry import codecs
from tests.fakes import FakeProvider
from tests.harness import CANARY, backend_row

EXAMPLES = Path(__file__).parent.parent / "data" / "go_project" / "config" / "examples"
COMPATIBLE_KEYS = [
    "origin",
    "instance_id",
    "factory_kind",
    "enabled",
    "prefix",
    "endpoint_identity",
    "auth_configured",
    "tokenizer_id",
    "concurrency_policy",
    "inventory_state",
    "model_count",
    "config_error",
]


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "250", **(env or {})}, catch_exceptions=False)


def write(tmp_path: Path, data: dict[str, Any], name: str = "lip.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def stub(name: str) -> dict[str, Any]:
    return {"plugins": {"backends": [{"id": name, "kind": "local-stub"}]}}


@pytest.mark.parametrize(
    "where",
    [
        lambda a, b: ["--config", a, "routes", "--json"],
        lambda a, b: ["routes", "--config", a, "--json"],
        lambda a, b: ["--config", b, "routes", "--config", a, "--json"],
        lambda a, b: ["--config", b, "--config", a, "routes", "--json"],
    ],
    ids=["before", "after", "after-wins", "last-of-two-before"],
)
def test_config_before_or_after_the_command_last_wins(tmp_path: Path, where: Any) -> None:
    a, b = write(tmp_path, stub("alpha"), "a.yaml"), write(tmp_path, stub("bravo"), "b.yaml")
    result = run(*where(a, b))
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in orjson.loads(result.stdout)["backends"]] == ["alpha"]


@pytest.mark.parametrize("command", ["check-config", "routes", "inventory", "inspect"])
def test_a_missing_config_before_the_command_is_a_usage_error(command: str) -> None:
    result = run("--config", "/does/not/exist.yaml", command)
    assert result.exit_code == 2 and "does not exist" in result.output


def test_check_config_lists_the_go_settings_as_warnings_and_strict_makes_them_errors() -> None:
    config = str(EXAMPLES / "custom-openai-legacy-compatible.yaml")
    env = {"PROVIDER123_API_KEY": CANARY}
    relaxed = run("check-config", "--config", config, env=env)
    assert relaxed.exit_code == 0, relaxed.output
    for key in ("continuity", "diagnostics", "hooks", "plugins.features", "plugins.frontends"):
        assert f"warning: {config}: field {key}: a setting of the Go project that lip does not use" in relaxed.output
    strict = run("check-config", "--config", config, "--strict", env=env)
    assert strict.exit_code == 1
    assert "configuration invalid (5 problem(s))" in strict.output
    assert "field hooks: a setting of the Go project that lip does not use" in strict.output
    assert CANARY not in relaxed.output + strict.output


def test_strict_passes_a_config_without_warnings(tmp_path: Path) -> None:
    assert run("check-config", "--strict", "--config", write(tmp_path, stub("s"))).exit_code == 0


def test_routes_json_in_the_go_shape() -> None:
    config = str(EXAMPLES / "custom-openai-legacy-compatible.yaml")
    result = run("routes", "--json", "--config", config, env={"PROVIDER123_API_KEY": CANARY})
    assert result.exit_code == 0, result.output
    routes = orjson.loads(result.stdout)
    assert routes["effective_default_route"] == "provider123:provider123/model-a"
    assert routes["credential_posture"] == "live_provider" and routes["max_attempts"] == 3
    assert routes["model_aliases"] == []
    backends = {row["id"]: row for row in routes["backends"]}
    assert backends["provider123"] == {
        "id": "provider123",
        "kind": "custom-openai-legacy-compatible",
        "enabled": True,
        "prefix": "provider123",
        "protocol": "openai_chat",
    }
    assert list(backends) == ["provider123"]
    [row] = routes["compatible_backends"]
    assert list(row) == COMPATIBLE_KEYS
    assert row == {
        "origin": "built_in_compatible",
        "instance_id": "provider123",
        "factory_kind": "custom-openai-legacy-compatible",
        "enabled": True,
        "prefix": "provider123",
        "endpoint_identity": "https://api.provider123.example/v1",
        "auth_configured": True,
        "tokenizer_id": "cl100k_base",
        "concurrency_policy": "limit:4",
        "inventory_state": "static_inline",
        "model_count": 1,
        "config_error": None,
    }


def test_the_stub_examples_have_the_go_credential_posture() -> None:
    routes = orjson.loads(run("routes", "--json", "--config", str(EXAMPLES / "dogfood-local-stub.yaml")).stdout)
    assert routes["credential_posture"] == "all_local_stub" and routes["compatible_backends"] == []
    assert routes["effective_default_route"] == "dogfood-local:stub-default"
    listed = [(row["id"], row["enabled"]) for row in routes["backends"]]
    assert ("openai-responses", False) in listed and ("dogfood-local", True) in listed  # disabled rows too
    assert "bedrock" not in dict(listed)  # a kind lip lacks: ignored, with a warning


async def test_inventory_json_counts_discovered_models_in_the_compatible_rows(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    fake_provider.models = ["m1", "m2", "m3"]
    rows = [
        backend_row("disc", fake_provider.url + "/v1", key_root="DISC_KEY"),
        {**backend_row("off", "https://off.example/v1"), "enabled": False},
        {"id": "stub", "kind": "local-stub"},
    ]
    config = write(tmp_path, {"plugins": {"backends": rows}})
    result = await asyncio.to_thread(run, "inventory", "--json", "--config", config, env={"DISC_KEY": CANARY})
    assert result.exit_code == 0, result.output
    snapshot = orjson.loads(result.stdout)
    assert [f["id"] for f in snapshot["frontends"]] == [codec.name for codec in codecs()]
    assert {"openai_chat", "openai_responses", "anthropic_messages"} <= {f["id"] for f in snapshot["frontends"]}
    backends = {row["id"]: row for row in snapshot["backends"]}
    assert backends["disc"] == {
        "id": "disc",
        "factory_kind": "custom-openai-legacy-compatible",
        "enabled": True,
        "prefix": "disc",
        "source": "discovery",
        "state": "ready",
        "error": None,
        "models": ["disc:m1", "disc:m2", "disc:m3"],
    }
    assert (backends["off"]["enabled"], backends["off"]["state"], backends["off"]["models"]) == (False, "disabled", [])
    compatible = {row["instance_id"]: row for row in snapshot["compatible_backends"]}
    assert (compatible["disc"]["inventory_state"], compatible["disc"]["model_count"]) == ("remote", 3)
    assert (compatible["off"]["enabled"], compatible["off"]["model_count"]) == (False, 0)
    assert "stub" not in compatible  # not a compatible kind
    assert CANARY not in result.output


def test_inspect_lists_the_built_in_kinds_and_the_configured_rows(tmp_path: Path) -> None:
    rows = [backend_row("p", "https://p.example/v1"), {"id": "stub", "kind": "local-stub", "enabled": False}]
    result = run("inspect", "--config", write(tmp_path, {"plugins": {"backends": rows}}))
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    built_in = [e for e in report["entries"] if e["state"] == "builtin"]
    assert [e["kind"] for e in built_in] == [k.kind for k in KINDS]
    assert {e["source"] for e in built_in if e["kind"].startswith("custom-")} == {"built_in_compatible"}
    configured = [e for e in report["entries"] if "instance_id" in e]
    assert [(e["instance_id"], e["source"], e["state"]) for e in configured] == [
        ("p", "built_in_compatible", "configured"),
        ("stub", "configured", "disabled"),
    ]
    assert [row["instance_id"] for row in report["compatible_backends"]] == ["p"]


@pytest.mark.parametrize("command", [["routes", "--json"], ["inventory", "--json"], ["inspect"], ["check-config"]])
def test_no_secret_reaches_any_output(tmp_path: Path, command: list[str]) -> None:
    """The key (from its variable) and a token in the base URL's query are never printed."""
    row = backend_row(
        "p", f"https://p.example/v1?token={CANARY}", key_root="P_KEY", models={"items": [{"native_id": "m"}]}
    )
    config = write(tmp_path, {"plugins": {"backends": [row]}})
    result = run(*command, "--config", config, env={"P_KEY": CANARY})
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    if command[0] != "check-config":  # the one that prints no URL
        assert "token=***" in result.output


def test_keys_take_the_config_given_before_the_command(tmp_path: Path) -> None:
    config = write(tmp_path, {**stub("s"), "server": {"client_keys_file": "keys.yaml"}})
    made = run("--config", config, "keys", "add", "team-a")
    assert made.exit_code == 0, made.output
    listed = run("--config", config, "keys", "list")
    assert listed.exit_code == 0 and "team-a" in listed.output
    assert (tmp_path / "keys.yaml").exists()
