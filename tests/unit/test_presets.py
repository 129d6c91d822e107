"""Native provider presets are data rows: id and kind suffice, config may override base_url, backend_prefix and
api_key_env_var_root, and the embedded default enables every hosted preset whose standard key is set."""

from __future__ import annotations

import random

import pytest
import yaml

from lip.backends.local_stub import LocalStubBackend
from lip.backends.presets import BY_KIND, RESERVED_PREFIXES
from lip.config import load_default, load_text
from lip.config.load import BackendSpec
from lip.inventory import Inventory, ModelEntry
from lip.routing.plan import Planner
from tests.harness import CANARY

# kind, protocol, default base URL, key root, numbered from _1
PRESETS = [
    ("openai", "openai_chat", "https://api.openai.com/v1", "OPENAI_API_KEY", False),
    ("openai-responses", "openai_responses", "https://api.openai.com/v1", "OPENAI_API_KEY", False),
    ("anthropic", "anthropic_messages", "https://api.anthropic.com", "ANTHROPIC_API_KEY", False),
    ("openrouter", "openai_chat", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", True),
    ("nvidia", "openai_chat", "https://integrate.api.nvidia.com/v1", "NVIDIA_API_KEY", True),
    ("ollama", "openai_chat", "http://127.0.0.1:11434/v1", None, False),
    ("lmstudio", "openai_chat", "http://127.0.0.1:1234/v1", None, False),
    ("llamacpp", "openai_chat", "http://127.0.0.1:8080/v1", None, False),
    ("vllm", "openai_chat", "http://127.0.0.1:8000/v1", None, False),
    ("local-stub", "local", None, None, False),
]
HOSTED = {"openai", "openai-responses", "anthropic", "openrouter", "nvidia"}


def load_rows(*rows: dict[str, object], env: dict[str, str] | None = None) -> list[BackendSpec]:
    settings = load_text(yaml.safe_dump({"plugins": {"backends": list(rows)}}), "presets.yaml", env or {})
    return list(settings.backends)


@pytest.mark.parametrize(("kind", "protocol", "base_url", "key_root", "from_one"), PRESETS)
def test_each_preset_row(kind: str, protocol: str, base_url: str | None, key_root: str | None, from_one: bool) -> None:
    spec = BY_KIND[kind]
    assert (spec.protocol, spec.base_url, spec.key_root, spec.key_from_one) == (protocol, base_url, key_root, from_one)
    assert spec.hosted == (kind in HOSTED) and not spec.custom
    assert kind in RESERVED_PREFIXES


@pytest.mark.parametrize(("kind", "protocol", "base_url", "key_root", "from_one"), PRESETS)
def test_id_and_kind_are_enough(
    kind: str, protocol: str, base_url: str | None, key_root: str | None, from_one: bool
) -> None:
    [backend] = load_rows({"id": f"my-{kind}", "kind": kind})
    assert (backend.prefix, backend.base_url, backend.key_root, backend.protocol) == (
        kind,
        base_url,
        key_root,
        protocol,
    )


def test_a_preset_row_may_override_url_prefix_and_key_root() -> None:
    row = {
        "id": "work-router",
        "kind": "openrouter",
        "config": {
            "base_url": "https://gw.example/openrouter/v1/",
            "backend_prefix": "wr",
            "api_key_env_var_root": "WORK_ROUTER_KEY",
        },
    }
    [backend] = load_rows(row, env={"WORK_ROUTER_KEY_1": CANARY})
    assert (backend.prefix, backend.base_url, backend.key_root) == (
        "wr",
        "https://gw.example/openrouter/v1",
        "WORK_ROUTER_KEY",
    )


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, {"local-stub"}),
        ({"OPENAI_API_KEY": CANARY}, {"local-stub", "openai", "openai-responses"}),
        ({"ANTHROPIC_API_KEY": CANARY}, {"local-stub", "anthropic"}),
        ({"OPENROUTER_API_KEY_1": CANARY}, {"local-stub", "openrouter"}),  # numbered from _1
        ({"NVIDIA_API_KEY": CANARY, "NVIDIA_API_KEY_1": CANARY}, {"local-stub", "nvidia"}),
        ({"OPENAI_API_KEY": " ", "OPENROUTER_API_KEY_2": CANARY}, {"local-stub"}),  # blank, or a gap before _2
        (
            {k: CANARY for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "NVIDIA_API_KEY")},
            {"local-stub", *HOSTED},
        ),
    ],
)
def test_the_embedded_default_enables_hosted_presets_whose_key_is_set(env: dict[str, str], enabled: set[str]) -> None:
    settings = load_default(env)
    assert {b.prefix for b in settings.backends} == enabled
    for backend in settings.backends:
        assert backend.base_url == BY_KIND[backend.kind.kind].base_url
    assert settings.warnings == ()


def test_with_openai_api_key_a_bare_model_name_reaches_openai() -> None:
    settings = load_default({"OPENAI_API_KEY": CANARY})
    backends = {spec.prefix: LocalStubBackend(spec) for spec in settings.backends}
    inventory = Inventory(backends.values())
    for prefix in ("openai", "openai-responses"):  # what discovery finds at api.openai.com
        inventory.by_prefix[prefix].models = [ModelEntry("gpt-4o")]
    planner = Planner(settings, backends, inventory, random.Random(0))
    assert [t.leaf for t in planner.plan("gpt-4o")] == ["openai:gpt-4o", "openai-responses:gpt-4o"]
    assert [t.leaf for t in planner.plan("openai:gpt-4o-mini")] == ["openai:gpt-4o-mini"]
    assert [t.leaf for t in planner.plan("anything-else")] == ["local-stub:echo"]
