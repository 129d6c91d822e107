"""Whether lip exports OpenTelemetry traces, and where: the ``telemetry:`` section or the standard ``OTEL_*``
environment. Off by default; when off, nothing of OpenTelemetry is imported and no request does any tracing work
(``Runtime.tracing`` is None). The SDK side (spans, GenAI attributes, export) is ``lip.otel``.

Environment read (from lip's environment mapping): ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the whole URL) or
``OTEL_EXPORTER_OTLP_ENDPOINT`` (a base; ``/v1/traces`` is added), ``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` or
``OTEL_EXPORTER_OTLP_HEADERS`` (``k=v,k2=v2``, URL-encoded values; secrets), ``OTEL_SERVICE_NAME``,
``OTEL_SDK_DISABLED=true`` and ``OTEL_TRACES_EXPORTER=none`` (both turn tracing off),
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` (content capture).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from lip.config.models import TelemetryConfig
from lip.credentials import Secret

TRUE = frozenset({"true", "1", "yes", "on"})


@dataclass(frozen=True, slots=True)
class TraceSettings:
    traces_url: str
    service_name: str
    capture_content: bool
    headers: dict[str, Secret] = field(default_factory=dict)  # an exporter's auth header is a secret


def _base(url: str) -> str:
    return url.rstrip("/") + "/v1/traces"


def parse_headers(text: str) -> dict[str, Secret]:
    """The OTLP headers variable: ``name=value`` pairs separated by commas, values URL-encoded."""
    found: dict[str, Secret] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            found[name.strip().lower()] = Secret(unquote(value.strip()))
    return found


def trace_settings(config: TelemetryConfig, env: Mapping[str, str]) -> TraceSettings | None:
    """Where to export, or None when tracing is off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in TRUE:
        return None
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if config.endpoint:
        url = _base(config.endpoint)
    elif traces:
        url = traces
    elif base:
        url = _base(base)
    elif config.enabled:
        url = _base("http://localhost:4318")  # the OTLP/HTTP default
    else:
        return None
    capture = config.capture_content or (
        env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() in TRUE
    )
    headers = env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or env.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    name = config.service_name or env.get("OTEL_SERVICE_NAME", "").strip() or "lip"
    return TraceSettings(url, name, capture, parse_headers(headers))
