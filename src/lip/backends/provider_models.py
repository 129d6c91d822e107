"""What the hosted providers' current models accept, as capability tables for their presets (lip.backends.presets).

Published limits, December 2026: context window, output limit, reasoning, vision. A field the provider does not
publish clearly is left unknown (None), so lip neither clamps nor drops anything for it. The more specific pattern
comes first; every matching rule is read and the first that states a field wins (lip.capabilities.resolve).
"""

from __future__ import annotations

from lip.capabilities import Capabilities, CapabilityRule


def rule(
    pattern: str, reasoning: bool | None, max_output: int | None, context: int | None, vision: bool | None = True
) -> CapabilityRule:
    return CapabilityRule(pattern, Capabilities(reasoning, max_output, context, vision))


# deepseek-chat and deepseek-reasoner are kept as the non-thinking and thinking modes of deepseek-v4-flash
DEEPSEEK_MODELS: tuple[CapabilityRule, ...] = (
    rule("deepseek-v4*", True, 384_000, 1_000_000, vision=False),
    rule("deepseek-reasoner*", True, 384_000, 1_000_000, vision=False),
    rule("deepseek-chat*", False, 384_000, 1_000_000, vision=False),
)
MOONSHOT_MODELS: tuple[CapabilityRule, ...] = (
    rule("kimi-k2.[5-9]*", True, None, 262_144),
    rule("kimi-k2-thinking*", True, None, 262_144, vision=False),
    rule("kimi-k2*", False, None, 262_144, vision=False),
)
ZAI_MODELS: tuple[CapabilityRule, ...] = (
    rule("glm-4.5v*", True, 16_384, 65_536),  # the vision models
    rule("glm-4.6v*", True, None, 131_072),
    rule("glm-*v*", True, None, None),
    rule("glm-5*", True, 131_072, 200_000, vision=False),
    rule("glm-4.[67]*", True, 131_072, 200_000, vision=False),
    rule("glm-4.5*", True, 98_304, 131_072, vision=False),
)
QWEN_MODELS: tuple[CapabilityRule, ...] = (
    rule("qwen3-vl*", True, 32_768, 262_144),
    rule("qwen3-coder*", False, 65_536, 1_000_000, vision=False),
    rule("qwen3-max*", True, 65_536, 262_144, vision=False),
    rule("qwen-plus*", True, 32_768, 1_000_000, vision=False),
    rule("qwen-flash*", True, 32_768, 1_000_000, vision=False),
)
XAI_MODELS: tuple[CapabilityRule, ...] = (
    rule("grok-4-fast-non-reasoning*", False, None, 2_000_000),
    rule("grok-4-1-fast-non-reasoning*", False, None, 2_000_000),
    rule("grok-4*fast*", True, None, 2_000_000),
    rule("grok-4*", True, None, 256_000),
    rule("grok-code-fast*", True, None, 256_000, vision=False),
    rule("grok-3-mini*", True, None, 131_072, vision=False),
)
MISTRAL_MODELS: tuple[CapabilityRule, ...] = (
    rule("magistral*", True, None, 128_000),
    rule("devstral*", False, None, 256_000, vision=False),
    rule("codestral*", False, None, 256_000, vision=False),
    rule("mistral-large*", False, None, 256_000),
    rule("mistral-medium*", False, None, 128_000),
)
GROQ_MODELS: tuple[CapabilityRule, ...] = (
    rule("openai/gpt-oss*", True, 65_536, 131_072, vision=False),
    rule("moonshotai/kimi-k2*", False, 16_384, 262_144, vision=False),
    rule("qwen/qwen3-32b*", True, 40_960, 131_072, vision=False),
    rule("llama-3.3-70b*", False, 32_768, 131_072, vision=False),
)
CEREBRAS_MODELS: tuple[CapabilityRule, ...] = (
    rule("gpt-oss*", True, None, 131_072, vision=False),
    rule("zai-glm*", True, None, 131_072, vision=False),
    rule("qwen-3*", None, None, 131_072, vision=False),
    rule("llama*", False, None, None, vision=False),
)
# The aggregators serve open-weight models under their makers' names; the families below keep their traits there.
OPEN_WEIGHT_MODELS: tuple[CapabilityRule, ...] = (
    rule("*[Dd]eep[Ss]eek-[Vv]4*", True, None, None, vision=False),
    rule("*[Kk]imi-[Kk]2*[Tt]hinking*", True, None, 262_144, vision=False),
    rule("*gpt-oss*", True, None, 131_072, vision=False),
)
GEMINI_MODELS: tuple[CapabilityRule, ...] = (  # the OpenAI-compatible endpoint lists them as models/<name>
    rule("*gemini-3*", True, 65_536, 1_048_576),
    rule("*gemini-2.5*", True, 65_536, 1_048_576),
    rule("*gemini-2.0-flash*", False, 8_192, 1_048_576),
)
