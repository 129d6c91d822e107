"""`lip schema`: the JSON Schema of the config from the pydantic models. The shipped copy equals it, every shipped
config validates against it and names it for editors, and what lip rejects the schema rejects too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from lip.cli import main
from lip.config.schema import config_schema

ROOT = Path(__file__).parents[2]
SHIPPED = ROOT / "config" / "lip.schema.json"
EXAMPLES = sorted((ROOT / "config" / "examples").glob("*.yaml"))
CONFIGS = [ROOT / "config" / "config.yaml", *EXAMPLES, ROOT / "deploy" / "lip.yaml"]  # the image's too


def validator() -> jsonschema.Draft202012Validator:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_lip_schema_prints_the_shipped_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == config_schema()
    assert json.loads(SHIPPED.read_text()) == config_schema(), (
        "config/lip.schema.json is stale: run `lip schema > config/lip.schema.json`"
    )


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates_and_names_the_schema(path: Path) -> None:
    text = path.read_text()
    validator().validate(yaml.safe_load(text))
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.partition("$schema=")[2]).resolve() == SHIPPED


@pytest.mark.parametrize(
    "bad",
    [
        {"server": {"port": 70000}},
        {"server": {"hots": "0.0.0.0"}},
        {"logging": {"format": "xml"}},
        {"plugins": {"backends": [{"id": "a", "kind": "openai", "config": {"base_ulr": "https://x"}}]}},
        {"plugins": {"backends": [{"id": "a", "kind": "openai", "config": {"timeouts": {"idle_s": -1}}}]}},
        {"prices": {"m": {"input_per_mtok": 1}}},
    ],
)
def test_what_lip_rejects_the_schema_rejects(bad: dict[str, Any]) -> None:
    assert list(validator().iter_errors(bad))
