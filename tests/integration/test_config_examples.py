"""Every shipped config passes `lip check-config`: config/config.yaml, each config/examples/*.yaml, and the full
YAML configs shown in the README and the configuration docs. The unauthenticated local example really serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from lip.cli import main
from tests.harness import CANARY, run_lip

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "config" / "examples").glob("*.yaml"))
CONFIGS = [ROOT / "config" / "config.yaml", *EXAMPLES]
DOCS = [ROOT / "README.md", ROOT / "docs" / "configuration.md", ROOT / "docs" / "custom-compatible-backends.md"]
CUSTOM_KINDS = ("custom-openai-legacy-compatible", "custom-openai-responses-compatible", "custom-anthropic-compatible")


def check(path: Path, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)], env={"COLUMNS": "250", **(env or {})})
    assert result.exit_code == 0, result.output
    return result.output


def test_there_is_one_example_per_custom_kind_and_an_unauthenticated_local_one() -> None:
    kinds: dict[str, list[Path]] = {}
    for path in EXAMPLES:
        for row in yaml.safe_load(path.read_text())["plugins"]["backends"]:
            kinds.setdefault(row["kind"], []).append(path)
    assert all(kinds.get(kind) for kind in CUSTOM_KINDS)
    assert any(
        "api_key_env_var_root" not in row.get("config", {}) and row["kind"] != "local-stub"
        for path in EXAMPLES
        for row in yaml.safe_load(path.read_text())["plugins"]["backends"]
    )


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_check_config_accepts_every_shipped_config(path: Path) -> None:
    out = check(path)
    assert f"{path}: valid" in out.replace("\n", "")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_with_every_key_set_print_no_secret(path: Path) -> None:
    roots = re.findall(r"api_key_env_var_root:\s*(\w+)", path.read_text())
    env = {root: CANARY for root in roots} | {f"{root}_2": CANARY for root in roots}
    out = check(path, env)
    assert CANARY not in out
    assert "warning" not in out


def yaml_configs(doc: Path) -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)
    return [b for b in blocks if re.search(r"^plugins:", b, re.M)]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_full_configs_in_the_docs_are_valid(doc: Path, tmp_path: Path) -> None:
    blocks = yaml_configs(doc)
    assert blocks, f"{doc.name} shows no complete config"
    for i, block in enumerate(blocks):
        path = tmp_path / f"block{i}.yaml"
        path.write_text(block)
        check(path)


async def test_the_local_unauthenticated_example_serves() -> None:
    path = ROOT / "config" / "examples" / "local-unauthenticated.yaml"
    async with run_lip(path.read_text()) as lip:
        completion = await lip.openai().chat.completions.create(
            model="stub:echo", messages=[{"role": "user", "content": "ping"}]
        )
        listing = [m.id async for m in lip.openai().models.list()]
    assert completion.choices[0].message.content == "You said: ping"
    assert "stub:echo" in listing
