"""The canonical request: protocol-neutral conversation, tools and generation parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "developer", "user", "assistant"]
ToolKind = Literal["function", "custom"]


@dataclass(slots=True)
class Text:
    text: str
    extra: dict[str, Any] | None = None  # e.g. Anthropic cache_control; carried when the target understands it


@dataclass(slots=True)
class Image:
    url: str | None = None  # http(s) URL; None when data is set
    data: str | None = None  # base64 payload without the data: prefix
    media_type: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class Document:
    """A file the user attached (a PDF or plain text): inline, by URL, or by the id a provider's Files API gave it.
    ``where`` is the client's part, named in the 400 a backend with no equivalent answers (``protocols/documents``)."""

    data: str | None = None  # base64 payload without the data: prefix
    text: str | None = None  # a plain-text document
    url: str | None = None
    file_id: str | None = None
    file_host: Literal["openai", "anthropic"] | None = None  # whose Files API issued file_id
    media_type: str | None = None
    filename: str | None = None  # Anthropic: the title
    where: str = ""
    extra: dict[str, Any] | None = None  # Anthropic context / citations / cache_control: only an Anthropic target


@dataclass(slots=True)
class Audio:
    """Chat ``input_audio``: base64 audio the user attached; only a Chat backend takes it."""

    data: str
    format: str
    where: str = ""


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text (or free text for custom tools)
    kind: ToolKind = "function"


@dataclass(slots=True)
class ToolResult:
    call_id: str
    content: list[Text | Image]
    is_error: bool = False
    kind: ToolKind = "function"


@dataclass(slots=True)
class Reasoning:
    """Model reasoning; signature / encrypted / redacted payloads are opaque and only go back where they came from."""

    text: str = ""
    signature: str | None = None  # Anthropic thinking signature
    encrypted: str | None = None  # Responses reasoning encrypted_content
    redacted: str | None = None  # Anthropic redacted_thinking data
    id: str | None = None  # Responses reasoning item id


Part = Text | Image | Document | Audio | ToolCall | ToolResult | Reasoning


@dataclass(slots=True)
class Message:
    role: Role
    content: list[Part]


@dataclass(frozen=True, slots=True)
class ToolOrigin:
    """A tool a Responses client grouped in a ``namespace``: the canonical ``ToolSpec.name`` is lip's flat name."""

    namespace: str
    name: str


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON Schema
    kind: ToolKind = "function"
    strict: bool | None = None
    extra: dict[str, Any] | None = None  # e.g. custom tool format, cache_control
    origin: ToolOrigin | None = None  # set when the client declared the tool inside a namespace


@dataclass(slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None  # when mode == "tool"
    parallel: bool | None = None  # parallel tool calls allowed


@dataclass(slots=True)
class Params:
    max_tokens: int | None = None
    output_limit: int | None = None  # the target model's output-token limit: max_tokens where one is required
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    reasoning_effort: str | None = None  # minimal | low | medium | high
    reasoning_budget: int | None = None  # Anthropic thinking budget_tokens
    response_format: dict[str, Any] | None = None  # {"type": "json_schema", "name", "schema", "strict"} | json_object
    n: int | None = None
    user: str | None = None
    seed: int | None = None


@dataclass(slots=True)
class Request:
    model: str
    messages: list[Message]
    system: list[Text] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    params: Params = field(default_factory=Params)
    stream: bool = False
    include_usage: bool = False  # client asked for usage in the stream
    metadata: dict[str, Any] | None = None
    protocol: str = ""  # the wire protocol the request came in
    conversation_field: str = "messages"  # the client's field that holds the turns (Responses: input), for errors
    raw: dict[str, Any] = field(default_factory=dict)  # the untouched original body, for passthrough
    # the decoder's scan of ``raw`` for ``unmodelled``: run only when asked (a debug line), not for every request
    # (not compared: what it finds follows from ``raw``, which is)
    unmodelled_of: Callable[[dict[str, Any]], tuple[str, ...]] | None = field(default=None, repr=False, compare=False)

    @property
    def unmodelled(self) -> tuple[str, ...]:
        """Names of the raw fields with no canonical form: dropped when translating."""
        return self.unmodelled_of(self.raw) if self.unmodelled_of is not None else ()

    def custom_tool_names(self) -> frozenset[str]:
        """Names of freeform tools, whose calls a Chat or Anthropic upstream returns wrapped as ``{"input": ...}``."""
        return frozenset(t.name for t in self.tools if t.kind == "custom")

    def tool_origins(self) -> dict[str, ToolOrigin]:
        """Flat name -> namespace and name, for the tools a Responses client declared inside a namespace."""
        return {t.name: t.origin for t in self.tools if t.origin is not None}
