"""What a validated config resolves to: each enabled backend's spec, the aliases and the whole settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lip.backends.presets import KindSpec
from lip.capabilities import UNKNOWN, Capabilities, CapabilityRule, resolve
from lip.clientkeys import ClientKey
from lip.config.models import BackendSettings, Config, ModelCapabilities, ModelItem

DEFAULT_SOURCE = "<embedded default>"


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """One enabled backend instance, resolved: what the registry needs to build it."""

    id: str
    kind: KindSpec
    prefix: str
    base_url: str | None
    key_root: str | None
    settings: BackendSettings
    static_models: tuple[ModelItem, ...] | None  # None: discover from the provider
    models_source: str  # inline | file | discovery | stub
    capability_rules: tuple[CapabilityRule, ...] = ()  # the row's table, then the kind's

    def capabilities_for(self, model: str, known: Capabilities = UNKNOWN) -> Capabilities:
        """What ``model`` accepts: its static item, the capability tables, then ``known`` (from discovery)."""
        item = next((m for m in self.static_models or () if model in (m.native_id, m.canonical_id)), None)
        own = capabilities_of(item) if item is not None else UNKNOWN
        return resolve(item.native_id if item is not None else model, own, self.capability_rules).or_else(known)

    @property
    def protocol(self) -> str:
        return self.kind.protocol

    @property
    def tokenizer(self) -> str | None:
        """The row's ``tokenizer`` (a ``lip.tokenizer.SUPPORTED`` name), or None for lip.tokenizer's default."""
        return self.settings.tokenizer

    @property
    def max_tokens_field(self) -> str:
        """Chat: where a translated request's max tokens go; the row's choice, else the kind's."""
        return self.settings.max_tokens_field or self.kind.max_tokens_field

    @property
    def reasoning_field(self) -> str:
        """Chat: the assistant-message field a translated request's reasoning goes back in ("none": dropped)."""
        return self.settings.reasoning_field or self.kind.reasoning_field

    @property
    def prompt_cache_key(self) -> bool:
        """OpenAI protocols: whether a conversation's name goes up as ``prompt_cache_key`` (lip.routing.affinity);
        a row of another protocol cannot set it (its dialect does not read it)."""
        return self.kind.prompt_cache_key if self.settings.prompt_cache_key is None else self.settings.prompt_cache_key

    @property
    def think_tags(self) -> bool:
        """Whether ``<think>...</think>`` at the start of the answer's text is taken as reasoning."""
        return self.kind.think_tags if self.settings.think_tags is None else self.settings.think_tags


def capabilities_of(item: ModelCapabilities) -> Capabilities:
    return Capabilities(item.reasoning, item.max_output_tokens, item.context_window, item.vision)


@dataclass(frozen=True, slots=True)
class AliasSpec:
    pattern: re.Pattern[str]
    replacement: str


@dataclass(frozen=True, slots=True)
class Settings:
    source: str
    config: Config
    backends: tuple[BackendSpec, ...]
    aliases: tuple[AliasSpec, ...]
    warnings: tuple[str, ...] = ()
    from_env: tuple[str, ...] = ()  # the embedded default: each preset its key enabled, as "kind (VARIABLE, ...)"
    client_keys: tuple[ClientKey, ...] = ()  # from server.client_keys_file (lip.clientkeys)
    keys_file: Path | None = None
    disabled: tuple[BackendSpec, ...] = ()  # the rows with enabled: false, resolved (for routes, inventory, inspect)

    def backend_for_prefix(self, prefix: str) -> BackendSpec | None:
        return next((b for b in self.backends if b.prefix == prefix), None)
