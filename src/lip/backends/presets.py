"""Backend kinds as data rows: the four custom kinds, the native provider presets and the local stub.

A preset needs only ``id`` and ``kind`` in YAML; its ``config`` may override ``base_url``, ``backend_prefix`` and
``api_key_env_var_root``. A new provider that speaks a known protocol is a new row here, not a new class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lip.backends import provider_models as models
from lip.backends.provider_models import rule as _rule
from lip.capabilities import CapabilityRule

Protocol = Literal["openai_chat", "openai_responses", "anthropic_messages", "gemini", "local"]
# Chat kinds: the assistant-message field a translated request carries the assistant's reasoning back in
ReasoningField = Literal["reasoning_content", "reasoning", "none"]

OPENAI_CHAT: Protocol = "openai_chat"
OPENAI_RESPONSES: Protocol = "openai_responses"
ANTHROPIC_MESSAGES: Protocol = "anthropic_messages"
GEMINI: Protocol = "gemini"
LOCAL: Protocol = "local"


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: str
    protocol: Protocol
    base_url: str | None = None  # default; None means the row must give one
    key_root: str | None = None  # default env root; None means unauthenticated unless the row sets one
    key_from_one: bool = False  # keys numbered ROOT_1, ROOT_2, ... as well as ROOT
    custom: bool = False  # operator-added compatible provider: prefix and base_url required
    hosted: bool = False  # a hosted provider that the embedded default enables when its key is set
    description: str = ""
    max_tokens_field: str = "max_tokens"  # Chat: OpenAI's reasoning models take only max_completion_tokens
    # Chat: where reasoning goes back (DeepSeek, Kimi, GLM refuse a tool loop without it; OpenAI refuses the field)
    reasoning_field: ReasoningField = "reasoning_content"
    think_tags: bool = False  # text a model leaks inside <think>...</think> at the start of its answer is reasoning
    prompt_cache_key: bool = False  # OpenAI protocols: a conversation's name goes up as prompt_cache_key (OpenAI's)
    capabilities: tuple[CapabilityRule, ...] = ()  # what the provider's known models accept (the operator's go first)
    auth: str | None = None  # instead of the protocol's own: "api-key" (Azure's header)
    url_env: str | None = None  # a variable that may give the base URL (a region, a gateway, an Azure resource)
    url_path: str = ""  # appended to url_env's value (Azure: the resource endpoint, then /openai/v1)
    version_env: str | None = None  # a variable that may give the ?api-version= query (Azure)


# Published limits of each provider's current models (December 2026); the more specific pattern comes first.
OPENAI_MODELS: tuple[CapabilityRule, ...] = (
    _rule("gpt-5*-chat*", False, 16_384, 128_000),
    _rule("gpt-5*", True, 128_000, 400_000),
    _rule("gpt-4.1*", False, 32_768, 1_047_576),
    _rule("gpt-4o*", False, 16_384, 128_000),
    _rule("chatgpt-4o*", False, 16_384, 128_000),
    _rule("gpt-4-turbo*", False, 4_096, 128_000),
    _rule("gpt-3.5-turbo*", False, 4_096, 16_385, vision=False),
    _rule("o1-mini*", True, 65_536, 128_000, vision=False),
    _rule("o3-mini*", True, 100_000, 200_000, vision=False),
    _rule("o[134]*", True, 100_000, 200_000),
    _rule("codex-mini*", True, 100_000, 200_000),
)
ANTHROPIC_MODELS: tuple[CapabilityRule, ...] = (
    _rule("claude-opus-4-[5-9]*", True, 64_000, 200_000),
    _rule("claude-opus-4*", True, 32_000, 200_000),
    _rule("claude-sonnet-4*", True, 64_000, 200_000),
    _rule("claude-haiku-4*", True, 64_000, 200_000),
    _rule("claude-3-7-sonnet*", True, 64_000, 200_000),
    _rule("claude-3-5-sonnet*", False, 8_192, 200_000),
    _rule("claude-3-5-haiku*", False, 8_192, 200_000),
    _rule("claude-3-haiku*", False, 4_096, 200_000),
)


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        "custom-openai-legacy-compatible",
        OPENAI_CHAT,
        custom=True,
        description="any OpenAI Chat Completions compatible provider (<base_url>/chat/completions)",
    ),
    KindSpec(
        "custom-openai-responses-compatible",
        OPENAI_RESPONSES,
        custom=True,
        description="any OpenAI Responses compatible provider (<base_url>/responses)",
    ),
    KindSpec(
        "custom-anthropic-compatible",
        ANTHROPIC_MESSAGES,
        custom=True,
        description="any Anthropic Messages compatible provider (<base_url>/v1/messages)",
    ),
    KindSpec(
        "custom-gemini-compatible",
        GEMINI,
        custom=True,
        description="any Gemini generateContent compatible provider (<base_url>/models/<model>:generateContent)",
    ),
    KindSpec(
        "openai",
        OPENAI_CHAT,
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        hosted=True,
        description="OpenAI, Chat Completions",
        prompt_cache_key=True,
        max_tokens_field="max_completion_tokens",
        reasoning_field="none",
        capabilities=OPENAI_MODELS,
    ),
    KindSpec(
        "openai-legacy",
        OPENAI_CHAT,
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        description="OpenAI, Chat Completions (alias of openai)",
        prompt_cache_key=True,
        max_tokens_field="max_completion_tokens",
        reasoning_field="none",
        capabilities=OPENAI_MODELS,
    ),
    KindSpec(
        "openai-responses",
        OPENAI_RESPONSES,
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        hosted=True,
        description="OpenAI, Responses",
        prompt_cache_key=True,
        capabilities=OPENAI_MODELS,
    ),
    KindSpec(
        "anthropic",
        ANTHROPIC_MESSAGES,
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
        hosted=True,
        description="Anthropic, Messages",
        capabilities=ANTHROPIC_MODELS,
    ),
    KindSpec(
        "openrouter",
        OPENAI_CHAT,
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        key_from_one=True,
        hosted=True,
        description="OpenRouter, Chat Completions",
        reasoning_field="reasoning",
    ),
    KindSpec(
        "nvidia",
        OPENAI_CHAT,
        "https://integrate.api.nvidia.com/v1",
        "NVIDIA_API_KEY",
        key_from_one=True,
        hosted=True,
        description="NVIDIA NIM, Chat Completions",
    ),
    KindSpec(
        "ollama-cloud",
        OPENAI_CHAT,
        "https://ollama.com/v1",
        "OLLAMA_API_KEY",
        description="Ollama Cloud, Chat Completions",
        reasoning_field="reasoning",
    ),
    KindSpec(
        "ollama",
        OPENAI_CHAT,
        "http://127.0.0.1:11434/v1",
        description="local Ollama",
        reasoning_field="reasoning",
        think_tags=True,
    ),
    KindSpec("lmstudio", OPENAI_CHAT, "http://127.0.0.1:1234/v1", description="local LM Studio", think_tags=True),
    KindSpec(
        "llamacpp", OPENAI_CHAT, "http://127.0.0.1:8080/v1", description="local llama.cpp server", think_tags=True
    ),
    KindSpec("vllm", OPENAI_CHAT, "http://127.0.0.1:8000/v1", description="local vLLM server", think_tags=True),
    # Hosted providers that speak Chat Completions (and, for three of them, Anthropic Messages as well)
    KindSpec(
        "deepseek",
        OPENAI_CHAT,
        "https://api.deepseek.com",
        "DEEPSEEK_API_KEY",
        hosted=True,
        description="DeepSeek, Chat Completions",
        capabilities=models.DEEPSEEK_MODELS,
        url_env="DEEPSEEK_BASE_URL",
    ),
    KindSpec(
        "deepseek-anthropic",
        ANTHROPIC_MESSAGES,
        "https://api.deepseek.com/anthropic",
        "DEEPSEEK_API_KEY",
        description="DeepSeek, Anthropic Messages (relays Claude Code untranslated)",
        capabilities=models.DEEPSEEK_MODELS,
    ),
    KindSpec(
        "moonshot",
        OPENAI_CHAT,
        "https://api.moonshot.ai/v1",
        "MOONSHOT_API_KEY",
        hosted=True,
        description="Moonshot (Kimi), Chat Completions",
        capabilities=models.MOONSHOT_MODELS,
        url_env="MOONSHOT_BASE_URL",
    ),
    KindSpec(
        "moonshot-anthropic",
        ANTHROPIC_MESSAGES,
        "https://api.moonshot.ai/anthropic",
        "MOONSHOT_API_KEY",
        description="Moonshot (Kimi), Anthropic Messages",
        capabilities=models.MOONSHOT_MODELS,
    ),
    KindSpec(
        "zai",
        OPENAI_CHAT,
        "https://api.z.ai/api/paas/v4",
        "ZAI_API_KEY",
        hosted=True,
        description="Z.ai (Zhipu GLM), Chat Completions",
        capabilities=models.ZAI_MODELS,
        url_env="ZAI_BASE_URL",
    ),
    KindSpec(
        "zai-anthropic",
        ANTHROPIC_MESSAGES,
        "https://api.z.ai/api/anthropic",
        "ZAI_API_KEY",
        description="Z.ai (Zhipu GLM), Anthropic Messages",
        capabilities=models.ZAI_MODELS,
    ),
    KindSpec(
        "dashscope",
        OPENAI_CHAT,
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "DASHSCOPE_API_KEY",
        hosted=True,
        description="Alibaba Cloud DashScope (Qwen), Chat Completions, international endpoint",
        capabilities=models.QWEN_MODELS,
        url_env="DASHSCOPE_BASE_URL",
    ),
    KindSpec(
        "xai",
        OPENAI_CHAT,
        "https://api.x.ai/v1",
        "XAI_API_KEY",
        hosted=True,
        description="xAI (Grok), Chat Completions",
        reasoning_field="none",
        capabilities=models.XAI_MODELS,
        url_env="XAI_BASE_URL",
    ),
    KindSpec(
        "mistral",
        OPENAI_CHAT,
        "https://api.mistral.ai/v1",
        "MISTRAL_API_KEY",
        hosted=True,
        description="Mistral AI, Chat Completions",
        reasoning_field="none",  # refuses a message field it does not define (422)
        capabilities=models.MISTRAL_MODELS,
        url_env="MISTRAL_BASE_URL",
    ),
    KindSpec(
        "groq",
        OPENAI_CHAT,
        "https://api.groq.com/openai/v1",
        "GROQ_API_KEY",
        hosted=True,
        description="Groq, Chat Completions",
        max_tokens_field="max_completion_tokens",  # max_tokens is deprecated there
        reasoning_field="none",  # "property 'reasoning_content' is unsupported"
        capabilities=models.GROQ_MODELS,
        url_env="GROQ_BASE_URL",
    ),
    KindSpec(
        "together",
        OPENAI_CHAT,
        "https://api.together.xyz/v1",
        "TOGETHER_API_KEY",
        hosted=True,
        description="Together AI, Chat Completions",
        reasoning_field="none",
        capabilities=models.OPEN_WEIGHT_MODELS,
        url_env="TOGETHER_BASE_URL",
    ),
    KindSpec(
        "fireworks",
        OPENAI_CHAT,
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        hosted=True,
        description="Fireworks AI, Chat Completions",
        capabilities=models.OPEN_WEIGHT_MODELS,
        url_env="FIREWORKS_BASE_URL",
    ),
    KindSpec(
        "cerebras",
        OPENAI_CHAT,
        "https://api.cerebras.ai/v1",
        "CEREBRAS_API_KEY",
        hosted=True,
        description="Cerebras, Chat Completions",
        max_tokens_field="max_completion_tokens",
        reasoning_field="none",  # "property 'messages.N.assistant.reasoning_content' is unsupported"
        capabilities=models.CEREBRAS_MODELS,
        url_env="CEREBRAS_BASE_URL",
    ),
    KindSpec(
        "deepinfra",
        OPENAI_CHAT,
        "https://api.deepinfra.com/v1/openai",
        "DEEPINFRA_API_KEY",
        hosted=True,
        description="DeepInfra, Chat Completions",
        capabilities=models.OPEN_WEIGHT_MODELS,
        url_env="DEEPINFRA_BASE_URL",
    ),
    KindSpec(
        "gemini",
        GEMINI,
        "https://generativelanguage.googleapis.com/v1beta",
        "GEMINI_API_KEY",
        hosted=True,
        description="Google Gemini API (Generative Language API), generateContent",
        capabilities=models.GEMINI_MODELS,
        url_env="GEMINI_BASE_URL",
    ),
    KindSpec(
        "gemini-openai",
        OPENAI_CHAT,
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "GEMINI_API_KEY",  # the embedded default enables the native `gemini` preset for this key instead
        description="Google Gemini, its OpenAI-compatible Chat Completions endpoint",
        reasoning_field="none",  # Google refuses an unknown field ("Invalid JSON payload received. Unknown name")
        capabilities=models.GEMINI_MODELS,
    ),
    KindSpec(
        "azure-openai",
        OPENAI_CHAT,
        None,  # the resource's endpoint: config.base_url, or AZURE_OPENAI_ENDPOINT + /openai/v1
        "AZURE_OPENAI_API_KEY",
        hosted=True,
        description="Azure OpenAI (v1 API), Chat Completions; model = the deployment name",
        max_tokens_field="max_completion_tokens",
        reasoning_field="none",
        capabilities=OPENAI_MODELS,
        auth="api-key",
        url_env="AZURE_OPENAI_ENDPOINT",
        url_path="/openai/v1",
        version_env="AZURE_OPENAI_API_VERSION",
    ),
    KindSpec("local-stub", LOCAL, description="no-network deterministic replies, for smoke tests and the default"),
)

# Prefixes a custom row may not take: the presets' own plus ones reserved for kinds to come.
RESERVED_PREFIXES: frozenset[str] = frozenset(
    {
        "openai",
        "openai-legacy",
        "openai-responses",
        "anthropic",
        "gemini",
        "bedrock",
        "acp",
        "openrouter",
        "nvidia",
        "ollama",
        "ollama-cloud",
        "llamacpp",
        "lmstudio",
        "vllm",
        "local-stub",
        "deepseek",
        "deepseek-anthropic",
        "moonshot",
        "moonshot-anthropic",
        "zai",
        "zai-anthropic",
        "dashscope",
        "xai",
        "mistral",
        "groq",
        "together",
        "fireworks",
        "cerebras",
        "deepinfra",
        "gemini-openai",
        "azure-openai",
    }
)

BY_KIND: dict[str, KindSpec] = {spec.kind: spec for spec in KINDS}
