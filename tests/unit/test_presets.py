"""Native provider presets are data rows: id and kind suffice, config may override base_url, backend_prefix and
api_key_env_var_root, and the embedded default enables every hosted preset whose standard key is set."""

from __future__ import annotations

import random

import pytest
import yaml

from lip.backends.local_stub import LocalStubBackend
from lip.backends.presets import BY_KIND, RESERVED_PREFIXES
from lip.config import ConfigError, load_default, load_text
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
    ("deepseek", "openai_chat", "https://api.deepseek.com", "DEEPSEEK_API_KEY", False),
    ("deepseek-anthropic", "anthropic_messages", "https://api.deepseek.com/anthropic", "DEEPSEEK_API_KEY", False),
    ("moonshot", "openai_chat", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", False),
    ("moonshot-anthropic", "anthropic_messages", "https://api.moonshot.ai/anthropic", "MOONSHOT_API_KEY", False),
    ("zai", "openai_chat", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", False),
    ("zai-anthropic", "anthropic_messages", "https://api.z.ai/api/anthropic", "ZAI_API_KEY", False),
    ("dashscope", "openai_chat", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", False),
    ("xai", "openai_chat", "https://api.x.ai/v1", "XAI_API_KEY", False),
    ("mistral", "openai_chat", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", False),
    ("groq", "openai_chat", "https://api.groq.com/openai/v1", "GROQ_API_KEY", False),
    ("together", "openai_chat", "https://api.together.xyz/v1", "TOGETHER_API_KEY", False),
    ("fireworks", "openai_chat", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", False),
    ("cerebras", "openai_chat", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", False),
    ("deepinfra", "openai_chat", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", False),
    ("gemini", "gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY", False),
    (
        "gemini-openai",
        "openai_chat",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",
        False,
    ),
]
PROVIDERS = ["deepseek", "moonshot", "zai", "dashscope", "xai", "mistral", "groq", "together", "fireworks"]
PROVIDERS += ["cerebras", "deepinfra", "gemini-openai"]
HOSTED = {"openai", "openai-responses", "anthropic", "openrouter", "nvidia", "gemini", *PROVIDERS} - {"gemini-openai"}


def load_rows(*rows: dict[str, object], env: dict[str, str] | None = None) -> list[BackendSpec]:
    settings = load_text(yaml.safe_dump({"plugins": {"backends": list(rows)}}), "presets.yaml", env or {})
    return list(settings.backends)


@pytest.mark.parametrize(("kind", "protocol", "base_url", "key_root", "from_one"), PRESETS)
def test_each_preset_row(kind: str, protocol: str, base_url: str | None, key_root: str | None, from_one: bool) -> None:
    spec = BY_KIND[kind]
    assert (spec.protocol, spec.base_url, spec.key_root, spec.key_from_one) == (protocol, base_url, key_root, from_one)
    assert spec.hosted == (kind in HOSTED) and not spec.custom
    assert kind in RESERVED_PREFIXES
    assert spec.auth is None  # the protocol's own: Bearer, or x-api-key for Messages


def test_the_gemini_prefix_is_the_native_gemini_backend_and_a_custom_row_may_not_take_it() -> None:
    assert BY_KIND["gemini"].protocol == BY_KIND["custom-gemini-compatible"].protocol == "gemini"
    custom = {"backend_prefix": "gemini", "base_url": "https://gw.example/v1beta"}
    with pytest.raises(ConfigError, match="backend_prefix"):
        load_rows({"id": "g", "kind": "custom-gemini-compatible", "config": custom})
    [row] = load_rows({"id": "g", "kind": "custom-gemini-compatible", "config": {**custom, "backend_prefix": "g2"}})
    assert (row.prefix, row.base_url, row.protocol) == ("g2", "https://gw.example/v1beta", "gemini")


@pytest.mark.parametrize(
    ("kind", "max_tokens_field", "reasoning_field"),
    [
        ("deepseek", "max_tokens", "reasoning_content"),
        ("moonshot", "max_tokens", "reasoning_content"),
        ("zai", "max_tokens", "reasoning_content"),
        ("dashscope", "max_tokens", "reasoning_content"),
        ("fireworks", "max_tokens", "reasoning_content"),
        ("deepinfra", "max_tokens", "reasoning_content"),
        ("xai", "max_tokens", "none"),
        ("mistral", "max_tokens", "none"),
        ("together", "max_tokens", "none"),
        ("gemini-openai", "max_tokens", "none"),
        ("groq", "max_completion_tokens", "none"),
        ("cerebras", "max_completion_tokens", "none"),
        ("azure-openai", "max_completion_tokens", "none"),
    ],
)
def test_each_chat_presets_quirks(kind: str, max_tokens_field: str, reasoning_field: str) -> None:
    [backend] = load_rows({"id": kind, "kind": kind, "config": {"base_url": "https://gw.example/v1"}})
    assert (backend.max_tokens_field, backend.reasoning_field) == (max_tokens_field, reasoning_field)


@pytest.mark.parametrize(
    ("kind", "model", "reasoning", "max_output", "context", "vision"),
    [
        ("deepseek", "deepseek-v4-pro", True, 384_000, 1_000_000, False),
        ("deepseek-anthropic", "deepseek-v4-flash", True, 384_000, 1_000_000, False),
        ("deepseek", "deepseek-chat", False, 384_000, 1_000_000, False),
        ("moonshot", "kimi-k2.5", True, None, 262_144, True),
        ("moonshot", "kimi-k2-0905-preview", False, None, 262_144, False),
        ("zai", "glm-4.6", True, 131_072, 200_000, False),
        ("zai-anthropic", "glm-4.5v", True, 16_384, 65_536, True),
        ("dashscope", "qwen3-coder-plus", False, 65_536, 1_000_000, False),
        ("xai", "grok-4-fast-non-reasoning", False, None, 2_000_000, True),
        ("xai", "grok-4-0709", True, None, 256_000, True),
        ("groq", "openai/gpt-oss-120b", True, 65_536, 131_072, False),
        ("gemini-openai", "models/gemini-2.5-pro", True, 65_536, 1_048_576, True),
        ("azure-openai", "gpt-4o", False, 16_384, 128_000, True),
        ("together", "moonshotai/Kimi-K2-Thinking", True, None, 262_144, False),
    ],
)
def test_preset_capability_tables(
    kind: str, model: str, reasoning: bool, max_output: int | None, context: int | None, vision: bool
) -> None:
    [backend] = load_rows({"id": kind, "kind": kind, "config": {"base_url": "https://gw.example/v1"}})
    found = backend.capabilities_for(model)
    assert (found.reasoning, found.max_output_tokens, found.context_window, found.vision) == (
        reasoning,
        max_output,
        context,
        vision,
    )


def test_a_base_url_variable_moves_a_preset_and_the_config_wins_over_it() -> None:
    env = {"MOONSHOT_BASE_URL": "https://api.moonshot.cn/v1/", "DASHSCOPE_BASE_URL": " "}
    moonshot, dashscope = load_rows({"id": "m", "kind": "moonshot"}, {"id": "d", "kind": "dashscope"}, env=env)
    assert moonshot.base_url == "https://api.moonshot.cn/v1" and dashscope.base_url == BY_KIND["dashscope"].base_url
    [row] = load_rows({"id": "m", "kind": "moonshot", "config": {"base_url": "https://gw.example/kimi"}}, env=env)
    assert row.base_url == "https://gw.example/kimi"


@pytest.mark.parametrize(
    ("env", "base_url"),
    [
        ({"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/"}, "https://res.openai.azure.com/openai/v1"),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/openai/v1/"},
            "https://res.openai.azure.com/openai/v1",
        ),
        (
            {"AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com", "AZURE_OPENAI_API_VERSION": "preview"},
            "https://res.openai.azure.com/openai/v1?api-version=preview",
        ),
    ],
)
def test_azure_takes_its_endpoint_and_api_version_from_the_environment(env: dict[str, str], base_url: str) -> None:
    [backend] = load_rows({"id": "az", "kind": "azure-openai"}, env=env)
    assert (backend.base_url, backend.key_root, backend.kind.auth) == (base_url, "AZURE_OPENAI_API_KEY", "api-key")


def test_azure_without_an_endpoint_says_which_variable_to_set() -> None:
    with pytest.raises(ConfigError) as caught:
        load_rows({"id": "az", "kind": "azure-openai"})
    [problem] = caught.value.problems
    assert "backend 'az'" in problem and "config.base_url" in problem and "AZURE_OPENAI_ENDPOINT=https://" in problem
    with pytest.raises(ConfigError) as caught:
        load_rows({"id": "az", "kind": "azure-openai"}, env={"AZURE_OPENAI_ENDPOINT": "res.openai.azure.com"})
    assert "(from AZURE_OPENAI_ENDPOINT)" in caught.value.problems[0]


@pytest.mark.parametrize(("kind", "protocol", "base_url", "key_root", "from_one"), PRESETS)
def test_id_and_kind_are_enough(
    kind: str, protocol: str, base_url: str | None, key_root: str | None, from_one: bool
) -> None:
    [backend] = load_rows({"id": f"my-{kind}", "kind": kind})
    assert (backend.prefix, backend.base_url, backend.key_root, backend.protocol) == (
        f"my-{kind}",
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
        ({"DEEPSEEK_API_KEY": CANARY, "ZAI_API_KEY_3": CANARY}, {"local-stub", "deepseek"}),  # a gap before _3
        (
            {"AZURE_OPENAI_API_KEY": CANARY, "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"},
            {"local-stub", "azure-openai"},
        ),
        (
            {str(BY_KIND[k].key_root): CANARY for k in HOSTED},
            {"local-stub", *HOSTED},  # each Chat preset of a pair: the -anthropic ones are enabled by a config row
        ),
    ],
)
def test_the_embedded_default_enables_hosted_presets_whose_key_is_set(env: dict[str, str], enabled: set[str]) -> None:
    settings = load_default(env)
    assert {b.prefix for b in settings.backends} == enabled
    for backend in settings.backends:
        assert backend.base_url == BY_KIND[backend.kind.kind].base_url or backend.prefix == "azure-openai"
    assert settings.warnings == ()
    assert [entry.partition(" ")[0] for entry in settings.from_env] == [
        b.prefix for b in settings.backends if b.prefix != "local-stub"
    ]


def test_an_azure_key_without_its_endpoint_enables_nothing_and_says_why() -> None:
    settings = load_default({"AZURE_OPENAI_API_KEY": CANARY, "GEMINI_API_KEY": CANARY})
    assert [b.prefix for b in settings.backends] == ["local-stub", "gemini"]
    assert settings.from_env == ("gemini (GEMINI_API_KEY)",)
    [warning] = settings.warnings
    assert "AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not" in warning and CANARY not in warning


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
