"""Helpers for config unit tests: build YAML in the seed's shape, load it with an injected env, collect problems."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from lip.config import ConfigError, Settings, load_text
from tests.harness import backend_row

SOURCE = "/etc/lip/test-config.yaml"
__all__ = ["SOURCE", "backend_row", "config_of", "load", "problems_of"]


def config_of(*rows: dict[str, Any], **top: Any) -> str:
    return yaml.safe_dump({**top, "plugins": {"backends": list(rows)}})


def load(text: str, env: Mapping[str, str] | None = None, base_dir: Path | None = None) -> Settings:
    return load_text(text, SOURCE, env or {}, base_dir)


def problems_of(text: str, env: Mapping[str, str] | None = None, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, env, base_dir)
    assert caught.value.problems, "a ConfigError lists at least one problem"
    return caught.value.problems
