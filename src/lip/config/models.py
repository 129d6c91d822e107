"""Typed configuration: pydantic v2 models, ``extra="forbid"`` so a misspelled key is an error, not a no-op."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from lip.config.durations import Duration
from lip.tokenizer import SUPPORTED as TOKENIZERS
from lip.tokenizer import normalize as normalize_tokenizer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelCapabilities(Strict):
    """What a model accepts (docs/configuration.md#model-capabilities); an absent field is unknown."""

    reasoning: bool | None = None  # false: reasoning parameters are dropped before the request goes upstream
    max_output_tokens: int | None = Field(default=None, gt=0)  # clamp, and max_tokens where one is required
    context_window: int | None = Field(default=None, gt=0)  # input plus output tokens; listed in /v1/models
    vision: bool | None = None  # false: a request with an image gets a 400 naming the part


class ModelItem(ModelCapabilities):
    native_id: str = Field(min_length=1)
    canonical_id: str | None = None
    display_name: str | None = None
    owned_by: str | None = None
    created: int | None = None


class CapabilityRuleConfig(ModelCapabilities):
    """One row of a backend's ``capabilities`` table: the capabilities of every model whose name matches."""

    pattern: str = Field(min_length=1)  # a glob on the native model name: *, ?, [...]


class ModelsConfig(Strict):
    """A static model list. ``source`` may be left out, as in the Go project: ``path`` alone means file, else
    inline; ``static_inline`` and ``static_file`` are its other spellings."""

    source: Literal["inline", "file"] | None = None
    items: list[ModelItem] | None = None
    path: str | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return {"static_inline": "inline", "static_file": "file"}.get(value, value)
        return value

    @property
    def effective_source(self) -> Literal["inline", "file"]:
        if self.source is not None:
            return self.source
        return "file" if self.path and not self.items else "inline"


class Timeouts(Strict):
    """Seconds; 0 disables a phase. First byte is generous: long-thinking models take minutes."""

    connect_s: float = Field(default=10.0, ge=0)
    first_byte_s: float = Field(default=300.0, ge=0)
    idle_s: float = Field(default=120.0, ge=0)
    total_s: float = Field(default=1800.0, ge=0)


class BackendSettings(Strict):
    """A backend row's ``config``. Custom kinds require prefix and base_url; presets fill them in."""

    backend_prefix: str | None = None
    base_url: str | None = None
    api_key_env_var_root: str | None = None
    # tiktoken encoding for this backend's prompt estimates (lip.tokenizer); any case; None: lip.tokenizer.DEFAULT
    tokenizer: str | None = None
    models: ModelsConfig | None = None
    max_concurrent_requests: int = Field(default=0, ge=0)
    admission_wait_s: float = Field(default=2.0, ge=0)
    timeouts: Timeouts = Timeouts()
    headers: dict[str, str] = Field(default_factory=dict)  # extra static headers (never secrets: use env roots)
    discovery_timeout_s: float = Field(default=10.0, gt=0)
    keepalive_s: float = Field(default=0.0, ge=0)  # SSE keep-alive comment interval while waiting; 0 = off
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown_s: float = Field(default=30.0, ge=0)
    max_event_bytes: int = Field(default=16 * 1024 * 1024, ge=0)  # one SSE event of a translated stream; 0 = no cap
    # Chat kinds only: the field a translated request's max tokens goes in (None: the kind's own choice)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = None
    # what models accept, by glob on the native name; before the preset's own table, after inline items
    capabilities: list[CapabilityRuleConfig] = Field(default_factory=list)
    # Chat kinds only: the assistant-message field reasoning goes back in; "none" drops it (None: the kind's choice)
    reasoning_field: Literal["reasoning_content", "reasoning", "none"] | None = None
    # any kind: an answer that starts with <think>...</think> in its text gives that part as reasoning
    think_tags: bool | None = None
    # OpenAI protocols: send a conversation's name as prompt_cache_key (None: the kind's choice; on for OpenAI's)
    prompt_cache_key: bool | None = None
    # local-stub only (the Go project's stub fields: text, input_tokens, output_tokens, tool_name, tool_args)
    reply: str | None = Field(default=None, validation_alias=AliasChoices("reply", "text"))
    chunk_delay_s: float = Field(default=0.0, ge=0)
    input_tokens: int | None = Field(default=None, ge=0)  # the usage it reports (None: counted from the request)
    output_tokens: int | None = Field(default=None, ge=0)
    tool_name: str | None = Field(default=None, min_length=1)  # it answers with a call of this tool after the text
    tool_args: str = "{}"  # the call's arguments, as sent (the Go project's repair examples send broken JSON)

    @field_validator("tokenizer")
    @classmethod
    def _tokenizer(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = normalize_tokenizer(value)
        if name is None:
            raise ValueError(f"unknown tokenizer {value!r} (supported: {', '.join(TOKENIZERS)})")
        return name


class BackendRow(Strict):
    id: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)


class Plugins(Strict):
    backends: list[BackendRow] = Field(default_factory=list)


class AliasRule(Strict):
    pattern: str
    replacement: str


class AffinityConfig(Strict):
    """Sticky routes ({affinity=session|client}): lip.routing.affinity."""

    store: Literal["memory"] = "memory"  # the Go project's key; lip keeps the bindings where store.kind says
    missing_identity: Literal["ignore", "fail_closed"] = "ignore"  # a sticky route for a request without an id
    ttl_s: float = Field(default=86400.0, gt=0)  # a binding lasts this long after the conversation's last request


class RoutingConfig(Strict):
    default_route: str | None = None
    max_attempts: int | None = Field(default=None, ge=1)  # backends tried for one request (None: every leaf)
    model_aliases: list[AliasRule] | dict[str, str] = Field(default_factory=list)
    affinity: AffinityConfig = AffinityConfig()


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    body_timeout_s: float = Field(default=60.0, ge=0)  # a request body must arrive within this; 0 = no limit
    head_timeout_s: float = Field(default=60.0, ge=0)  # a request head too (lip.connections); 0 = no limit
    max_pending_heads: int = Field(default=512, ge=0)  # connections waiting for a head at once; 0 = unlimited
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_in_flight: int = Field(default=1024, ge=0)  # 0 = unlimited
    max_per_client: int = Field(default=0, ge=0)  # concurrent requests per client key/address; 0 = unlimited
    drain_timeout_s: float = Field(default=30.0, ge=0)
    client_api_key_env_var_root: str = "LIP_API_KEY"
    client_keys_file: str | None = None  # named client keys by SHA-256, with limits (lip.clientkeys); relative to
    # the config file's directory
    allow_no_backends: bool = False  # serve with no enabled backend (every request a 404) instead of refusing to

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("host must not be empty")
        return value


MIN_REFRESH_S = 3600.0  # the Go project's minimum refresh interval (1h)


class ModelInventoryConfig(Strict):
    """Discovered model lists: refreshed every ``refresh_interval`` (at least 1h, as in the Go project; a failed
    refresh keeps the last good list); ``fetch_timeout`` bounds each backend's list call where the row sets no
    ``discovery_timeout_s``. Durations are seconds or Go duration strings (``90s``, ``1h``)."""

    refresh_enabled: bool = True
    refresh_interval: Duration = Field(default=MIN_REFRESH_S, gt=0)
    fetch_timeout: Duration | None = Field(default=None, gt=0)

    @property
    def refresh_s(self) -> float:
        """The interval lip uses: ``refresh_interval``, raised to the 1h minimum."""
        return max(self.refresh_interval, MIN_REFRESH_S)


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    access_log: bool = True
    log_bodies: bool = False  # one lip.bodies record per request with both bodies: user data, see security.md
    log_bodies_max_bytes: int = Field(default=64 * 1024, gt=0)  # each body is cut after this many bytes
    trace_streams: bool = False  # the body log's record also holds the upstream's bytes and the canonical events


class StoreConfig(Strict):
    """Where state shared between lip processes lives (see lip.store): this process (memory) or Redis."""

    kind: Literal["memory", "redis"] = "memory"
    url_env: str = "LIP_REDIS_URL"  # the environment variable holding the Redis URL (it may hold a password)
    prefix: str = Field(default="lip:", max_length=64)  # before every Redis key; one per deployment
    timeout_s: float = Field(default=0.5, gt=0)  # every Redis call (seconds)
    sync_interval_s: float = Field(default=1.0, gt=0)  # how often a process reads the others' key and circuit state
    response_ttl_s: float = Field(default=86400.0, gt=0)  # how long a conversation stays usable as previous_response_id
    max_local_items: int = Field(default=2048, ge=1)  # this process's own copy (the whole store, for memory)


class TelemetryConfig(Strict):
    """OpenTelemetry traces over OTLP/HTTP (lip.telemetry); also on when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set."""

    enabled: bool = False
    endpoint: str | None = None  # the collector's OTLP/HTTP base URL (http://collector:4318); else the OTEL_* env
    service_name: str | None = None  # else OTEL_SERVICE_NAME, else "lip"
    capture_content: bool = False  # attach the request's messages to its span: user data, see docs/security.md


class UiConfig(Strict):
    """The live status page, GET /ui (lip.status): off unless enabled; admin keys only when keys are set."""

    enabled: bool = False
    recent_requests: int = Field(default=50, ge=1, le=1000)  # how many of the last requests it shows


class ModelPrice(Strict):
    """What the operator pays per million tokens of one model (lip ships no price list: it would go stale)."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(default=None, ge=0)  # cached input tokens (None: the input price)


class Config(Strict):
    server: ServerConfig = ServerConfig()
    routing: RoutingConfig = RoutingConfig()
    plugins: Plugins = Plugins()
    logging: LoggingConfig = LoggingConfig()
    store: StoreConfig = StoreConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    ui: UiConfig = UiConfig()
    prices: dict[str, ModelPrice] = Field(default_factory=dict)  # by "prefix:model" or the native model name
    model_inventory: ModelInventoryConfig = ModelInventoryConfig()
