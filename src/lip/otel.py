"""OpenTelemetry traces (imported only when tracing is on, see lip.telemetry): one SERVER span per generation
request and one CLIENT span per upstream attempt, with the GenAI semantic conventions, exported over OTLP/HTTP by
the SDK's batch processor (a thread of its own: the event loop never waits for the collector).

A client's W3C ``traceparent``/``tracestate`` makes the request span its child; each attempt's own context is sent
upstream in ``traceparent``. Prompts and answers are never attached unless content capture is on; keys and header
values never are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from lip import __version__
from lip.backends.base import Target
from lip.canonical.events import Usage
from lip.errors import LipError
from lip.routing.failover import reason
from lip.telemetry import TraceSettings

OPERATION = "chat"  # Chat Completions, Responses and Messages are all the GenAI "chat" operation
CONTENT_FIELDS = ("system", "instructions", "messages", "input")  # what a request's prompt is made of
MAX_CONTENT_BYTES = 64 * 1024
OUTCOME = "lip.attempt.outcome"  # on an attempt that neither failed nor answered: cancelled, or not_served


class Tracing:
    """The app's tracer provider and exporter; ``begin`` starts a request's trace."""

    def __init__(self, settings: TraceSettings) -> None:
        self.settings = settings
        resource = Resource.create({"service.name": settings.service_name, "service.version": __version__})
        self.provider = TracerProvider(resource=resource)
        headers = {name: secret.reveal() for name, secret in settings.headers.items()}
        exporter = OTLPSpanExporter(endpoint=settings.traces_url, headers=headers, timeout=10)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("lip", __version__)
        self.propagator = TraceContextTextMapPropagator()

    def begin(self, http: web.Request) -> RequestTrace:
        return RequestTrace(self, http)

    async def aclose(self) -> None:
        """Export what is left (in a thread: the exporter's HTTP call blocks)."""
        await asyncio.to_thread(self.provider.shutdown)


class RequestTrace:
    """One generation request's spans: the request's, and one per upstream attempt, kept by attempt (the legs of a
    race run at once) until it fails, is cancelled (a race's losing leg) or the request ends."""

    __slots__ = ("attempts", "span", "tracing")

    def __init__(self, tracing: Tracing, http: web.Request) -> None:
        self.tracing = tracing
        parent = tracing.propagator.extract(carrier=http.headers)
        attributes = {"gen_ai.operation.name": OPERATION, "http.request.method": http.method, "url.path": http.path}
        self.span: Span = tracing.tracer.start_span(OPERATION, parent, SpanKind.SERVER, attributes)
        self.attempts: dict[int, Span] = {}  # by id() of the attempt's Target, distinct within a request

    def decoded(self, model: str, raw: Mapping[str, Any]) -> None:
        """The request's model is known (and its prompt, attached only with content capture on)."""
        self.span.update_name(f"{OPERATION} {model}")
        self.span.set_attribute("gen_ai.request.model", model)
        if self.tracing.settings.capture_content:
            prompt = {name: raw[name] for name in CONTENT_FIELDS if name in raw}
            text = orjson.dumps(prompt)[:MAX_CONTENT_BYTES].decode(errors="ignore")
            self.span.set_attribute("gen_ai.input.messages", text)

    def attempt(self, target: Target) -> dict[str, str]:
        """Start an upstream attempt's span; the ``traceparent`` (and ``tracestate``) headers to send with it."""
        backend = target.backend
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": OPERATION,
            "gen_ai.request.model": target.model,
            "gen_ai.system": backend.spec.kind.kind,
            "gen_ai.provider.name": backend.spec.kind.kind,
            "lip.backend": backend.prefix,
        }
        address = _server(backend.spec.base_url)
        if address is not None:
            attributes["server.address"], attributes["server.port"] = address
        context = trace.set_span_in_context(self.span)
        span = self.tracing.tracer.start_span(f"{OPERATION} {target.model}", context, SpanKind.CLIENT, attributes)
        self.attempts[id(target)] = span
        carrier: dict[str, str] = {}
        self.tracing.propagator.inject(carrier, trace.set_span_in_context(span))
        return carrier

    def failed(self, target: Target, error: LipError) -> None:
        """``target``'s attempt failed (the request fails over, or ends with its error)."""
        span = self.attempts.pop(id(target), None)
        if span is not None:
            _error(span, reason(error), error)
            span.end()

    def cancelled(self, target: Target) -> None:
        """``target``'s attempt was cancelled: a race's losing leg, or the client left."""
        span = self.attempts.pop(id(target), None)
        if span is not None:
            span.set_attribute(OUTCOME, "cancelled")
            span.end()

    def finish(
        self,
        status: int,
        target: Target | None,
        usage: Usage | None,
        error: LipError | None,
        ttft_s: float | None,
        client: str | None,
    ) -> None:
        """The request has ended: close the answering attempt's span and the request's (and any other attempt's
        still open: a race leg that opened without output and was closed)."""
        answering = self.attempts.pop(id(target), None) if target is not None else None
        for other in self.attempts.values():
            other.set_attribute(OUTCOME, "not_served")
            other.end()
        self.attempts.clear()
        spans = [self.span] if answering is None else [answering, self.span]
        for span in spans:
            if target is not None:
                span.set_attribute("gen_ai.response.model", target.model)
            if usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            if ttft_s is not None:
                span.set_attribute("gen_ai.response.time_to_first_chunk", ttft_s)
            if error is not None:
                _error(span, reason(error), error)
        self.span.set_attribute("http.response.status_code", status)
        if status >= 400 and error is None:
            _error(self.span, str(status), None)
        if target is not None:
            self.span.set_attribute("lip.backend", target.leaf)
        if client is not None:
            self.span.set_attribute("lip.client", client)
        end = time.time_ns()
        for span in spans:
            span.end(end)


def _error(span: Span, kind: str, error: LipError | None) -> None:
    span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR, error.code if error is not None else kind))


def _server(url: str | None) -> tuple[str, int] | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
