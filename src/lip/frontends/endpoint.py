"""The shared handler: bounded body read -> orjson -> codec -> router -> stream or JSON; errors via the codec."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
from aiohttp import web

from lip.backends.base import EventStream, Opened, RelayBody, RelayStream, Target
from lip.bodylog import TRACE, BodyLog, returned, stream_response
from lip.canonical.collect import Collector
from lip.canonical.events import (
    STOP_REWRITTEN,
    Event,
    ReasoningDelta,
    Repair,
    StreamError,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from lip.canonical.request import Request
from lip.client_body import body_of
from lip.clientkeys import ClientKey
from lip.errors import (
    AdmissionRejected,
    Forbidden,
    InvalidJSON,
    InvalidRequest,
    LipError,
    QuotaExceeded,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from lip.exchange import Exchange
from lip.frontends.keepalive import KeepAlive, interval_for
from lip.frontends.sink import ClientSink
from lip.lifecycle import drain_scope
from lip.middlewares import KEY, client_of
from lip.protocols.codec import Codec, StreamFraming
from lip.protocols.counts import BAD_USAGE
from lip.protocols.fields import MAX_SELECTOR
from lip.protocols.ratelimit import rate_limit_headers
from lip.protocols.registry import forwarded_client_headers
from lip.protocols.relay import RelayWatch, body_usage, fix_body_stop, one_answer
from lip.quotas import Admission
from lip.requestid import id_header, request_id
from lip.routing.affinity import scope_of
from lip.runtime import Runtime, runtime_of

if TYPE_CHECKING:
    from lip.otel import RequestTrace

log = logging.getLogger(__name__)
CLIENT_CLOSED = 499  # nginx's status for a request whose client left before any answer: logged, never sent
DELTAS = frozenset({TextDelta, ReasoningDelta, ToolCallDelta})  # the per-chunk events: content only
MAX_DEPTH = 128  # levels of nesting a request body may have (the body itself is level 1): docs/security.md
ROUTE_HEADER = "X-LIP-Route"
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive"}


@dataclass(slots=True)
class Context:
    """One request's surroundings, handed to the endpoint's hooks and to the router: what is not the request."""

    runtime: Runtime
    exchange: Exchange
    client_headers: dict[str, str]  # the client's headers a same-protocol upstream should see (never its key)
    route: str = ""  # the selector planned: the X-LIP-Route header's, else the body's model
    framing: StreamFraming | None = None  # a stream's framing when the client asked for another than SSE


C = TypeVar("C", bound=Context)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Frontend:
    """One client protocol's handlers, by the operation its codec's routes name (``Route.operation``):
    ``lip.server`` adds a route for each of the codec's ``served`` routes."""

    codec: Codec
    operations: Mapping[str, Handler]


async def read_json(http: web.Request, limit: int, bodies: BodyLog | None = None) -> Any:
    """The body parsed once with orjson, refusing more than ``limit`` bytes; handed to ``bodies`` when set."""
    raw = await body_of(http, limit)
    if bodies is not None:
        bodies.received(raw)
    if not raw.strip():
        raise InvalidJSON("the request body is empty; send a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"the request body is not valid JSON: {exc}") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:  # else it cannot be that deep: most bodies skip the walk
        check_depth(body)
    return body


def check_depth(body: Any) -> None:
    """A 400 naming the top-level field of a body nested deeper than MAX_DEPTH. orjson reads 1,024 levels but
    writes only 254, so a deeper body would parse and then fail to be sent; the margin leaves room for the levels
    a translation adds around a client's value (a tool's parameters, metadata)."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        stack = [(value, 2)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise InvalidRequest(
                    f"'{key}' is nested more than {MAX_DEPTH} levels deep; lip refuses bodies nested that deep",
                    param=key,
                )
            if isinstance(item, dict):
                stack.extend((child, depth + 1) for child in item.values() if isinstance(child, dict | list))
            elif isinstance(item, list):
                stack.extend((child, depth + 1) for child in item if isinstance(child, dict | list))


def error_response(codec: Codec, error: LipError, headers: dict[str, str] | None = None) -> web.Response:
    extra = dict(headers or {})
    retry_after = getattr(error, "retry_after", None)
    if isinstance(error, AdmissionRejected | UpstreamStatusError) and retry_after is not None:
        extra["Retry-After"] = str(max(1, round(retry_after)))
    return web.Response(
        body=orjson.dumps(codec.error_body(error)),
        status=error.status,
        content_type="application/json",
        headers=extra,
    )


class Endpoint(Generic[C]):
    """One client protocol's POST endpoint: decode -> router -> respond; the protocol's codec does every
    protocol-specific step, and a frontend extends the hooks below (each gets the request's ``Context``)."""

    keeps_content = False  # whether ``completed`` uses the streamed answer (else it is not called mid-stream and
    # content deltas skip the collector)

    def __init__(self, codec: Codec, context: type[C]) -> None:
        self.codec = codec
        self.context = context

    async def handle(self, http: web.Request) -> web.StreamResponse:
        runtime = runtime_of(http)
        exchange = Exchange(self.codec.name, bodies=BodyLog.when_on(runtime.settings.config.logging))
        traced = exchange.bodies is not None and exchange.bodies.trace
        token = TRACE.set(exchange.bodies) if traced else None  # the upstream calls record their bytes there
        if runtime.tracing is not None:
            exchange.trace = runtime.tracing.begin(http)
        key = exchange.key = http.get(KEY) if runtime.keyed else None  # a missing key costs ~1 µs to ask for
        admission: Admission | None = None
        try:
            if key is not None and key.limited:
                admission = await runtime.quotas.admit(key)
            return returned(await self._handle(http, runtime, exchange), exchange.bodies)
        except LipError as exc:
            exchange.error, exchange.status = exc, exc.status
            exc.request_id = request_id(http)
            headers = rate_limit_headers(self.codec.name, exc) if isinstance(exc, QuotaExceeded) else None
            return returned(error_response(self.codec, exc, headers), exchange.bodies)
        except asyncio.CancelledError:  # the client went away before lip answered
            exchange.client_gone = True
            exchange.status = exchange.status or CLIENT_CLOSED
            raise
        finally:
            if token is not None:
                TRACE.reset(token)
            if admission is not None:
                runtime.quotas.settle(admission, exchange.usage)
            if exchange.trace is not None:
                finish_trace(http, exchange, exchange.trace)
            runtime.observe(http, exchange)

    async def _handle(self, http: web.Request, runtime: Runtime, exchange: Exchange) -> web.StreamResponse:
        body = await read_json(http, runtime.settings.config.server.max_body_bytes, exchange.bodies)
        head = self.codec.decode_head(self.arrived(http, body), http.headers)
        exchange.model = head.model
        if exchange.trace is not None:
            exchange.trace.decoded(head.model, head.raw)
        ctx = self.context(runtime, exchange, forwarded_headers(http), route_of(http, head.model))
        if head.stream:
            ctx.framing = self.framing(http)
        request = await self.before(head, ctx)
        router = runtime.router
        exchange.request_bytes = http.content_length
        selector = runtime.planner.selector(ctx.route)
        steers = selector.steers_first
        affinity = runtime.affinity
        scope = scope_of(selector)
        client = client_of(http) if scope == "client" else None
        exchange.sticky = await affinity.identify(scope, http.headers, request.raw, client, steers)
        plan = router.plan(ctx.route, exchange.sticky, first=steers and await affinity.opens(exchange.sticky))
        plan.check_stream(request.stream)
        targets = allowed_targets(exchange.key, plan)
        interval = interval_for(targets) if request.stream else 0.0
        keepalive = KeepAlive(http, interval, SSE_HEADERS, exchange.bodies, ctx.framing)
        try:
            async with drain_scope(http):
                routed = await keepalive.wait(
                    router.open(targets, request, self, ctx, exchange, ctx.client_headers, plan.ttft_s)
                )
        except LipError as exc:
            if keepalive.response is None:
                raise
            exchange.error, exchange.status, exchange.streamed = exc, 200, True
            return await keepalive.fail(self.codec, exc)
        exchange.first_byte = time.perf_counter()
        return await self.respond(http, routed.request, routed.target, routed.opened, ctx, keepalive.response)

    # ---- hooks a frontend may extend

    def arrived(self, http: web.Request, body: Any) -> Any:
        """The parsed body as the codec decodes it (a protocol that puts the model in the path adds it here)."""
        return body

    def framing(self, http: web.Request) -> StreamFraming | None:
        """How a stream is framed for this client, when not as the stream encoder writes it (SSE)."""
        return None

    async def before(self, request: Request, ctx: C) -> Request:
        """Called after decode_head, before planning (e.g. resolve previous_response_id)."""
        return request

    def passthrough_allowed(self, request: Request, ctx: C) -> bool:
        """Whether a same-protocol backend may get the body as is (False when lip must add to it)."""
        return True

    def decode_full(self, head: Request, ctx: C) -> Request:
        """The whole canonical request of ``decode_head``'s head (the router asks, for a leaf that translates)."""
        return self.codec.decode_request(head.raw, ctx.client_headers)

    async def completed(self, request: Request, collector: Collector, ctx: C) -> None:
        """Called when a translated answer ended well (e.g. to store a response for previous_response_id)."""
        return None

    # ---- responding

    async def respond(
        self,
        http: web.Request,
        request: Request,
        target: Target,
        opened: Opened,
        ctx: C,
        prepared: web.StreamResponse | None = None,
    ) -> web.StreamResponse:
        """``prepared``: a stream response to continue (committed by keep-alive comments, or recording bodies)."""
        exchange = ctx.exchange
        headers = {"x-lip-backend": target.leaf}

        def stream() -> web.StreamResponse:
            return prepared or stream_response(
                {**SSE_HEADERS, **headers, **id_header(http)}, exchange.bodies, ctx.framing
            )

        match opened:
            case RelayBody(body=body, content_type=content_type, parsed=parsed):
                exchange.status = 200
                self._relayed_usage(exchange, body_usage(self.codec.relay, parsed))
                if one_answer(self.codec.relay, request.raw) and fix_body_stop(self.codec.relay, parsed):
                    body = orjson.dumps(parsed)
                    exchange.repairs.append(STOP_REWRITTEN)
                return web.Response(body=body, status=200, headers={**headers, "Content-Type": content_type})
            case RelayStream():
                return await self._relay(http, request, opened, exchange, stream())
            case EventStream() if request.stream:
                return await self._stream_events(http, request, opened, ctx, stream())
            case EventStream():
                async with drain_scope(http):
                    return await self._collect(request, opened, headers, ctx)
        raise AssertionError(opened)

    async def _relay(
        self,
        http: web.Request,
        request: Request,
        opened: RelayStream,
        exchange: Exchange,
        response: web.StreamResponse,
    ) -> web.StreamResponse:
        exchange.status, exchange.streamed = 200, True
        watch = RelayWatch(self.codec.relay, opened.redact, fix_stop=one_answer(self.codec.relay, request.raw))
        try:
            await response.prepare(http)
            await response.write(watch.feed(opened.first))  # sends the headers too
            try:
                async with drain_scope(http, stream=True):
                    # aiohttp's own response only: a body log records its writes, a framing rewrites them
                    if opened.splice is not None and type(response) is web.StreamResponse:
                        await opened.splice(ClientSink(http, response, watch))
                    else:
                        async for chunk in opened.rest:
                            await response.write(watch.feed(chunk))
                if not watch.complete:
                    raise UpstreamProtocolError("the upstream stream ended before its final event")
            except LipError as exc:
                exchange.error = exc
                await response.write(self.codec.error_frame(exc))
            await response.write_eof()
        except ConnectionResetError:
            exchange.client_gone = True
        finally:
            self._relayed_usage(exchange, watch.usage())
            if watch.stop_fixed:
                exchange.repairs.append(STOP_REWRITTEN)
            await opened.close()
        return response

    @staticmethod
    def _relayed_usage(exchange: Exchange, report: tuple[Usage | None, bool]) -> None:
        exchange.usage, dropped = report
        if dropped:
            exchange.repairs.append(BAD_USAGE)

    async def _stream_events(
        self,
        http: web.Request,
        request: Request,
        opened: EventStream,
        ctx: C,
        response: web.StreamResponse,
    ) -> web.StreamResponse:
        exchange = ctx.exchange
        encoder = self.codec.stream_encoder(request)
        collector = Collector()
        exchange.status, exchange.streamed = 200, True
        stored = False
        try:
            await response.prepare(http)
            try:
                async with drain_scope(http, stream=True):
                    keep = self.keeps_content
                    async for batch in _batches(opened, exchange.bodies):
                        out = bytearray()
                        for event in batch:
                            if keep or type(event) not in DELTAS:
                                collector.feed(event)
                                if type(event) is Repair:
                                    continue  # counted by the collector, never encoded
                            out += encoder.encode(event)
                            if collector.error is not None:
                                break  # an error event ends the stream: nothing may follow it
                        if keep and collector.ended and not stored and collector.error is None:
                            stored = True  # before the client sees the end: its next turn may reach another process
                            await self.completed(request, collector, ctx)
                        if out:
                            await response.write(bytes(out))
                        if collector.error is not None:
                            break
            except LipError as exc:  # the drain timeout ended the stream
                collector.feed(StreamError(exc))
                await response.write(encoder.encode(StreamError(exc)))
            tail = encoder.finish()
            if tail:
                await response.write(tail)
            await response.write_eof()
        except ConnectionResetError:
            exchange.client_gone = True
        finally:
            await opened.close()
        exchange.usage, exchange.error = collector.response.usage, collector.error
        exchange.repairs += collector.repairs
        if collector.error is None and not exchange.client_gone and not stored:
            await self.completed(request, collector, ctx)
        return response

    async def _collect(
        self, request: Request, opened: EventStream, headers: dict[str, str], ctx: C
    ) -> web.StreamResponse:
        exchange = ctx.exchange
        collector = Collector()
        try:
            async for batch in _batches(opened, exchange.bodies):
                for event in batch:
                    collector.feed(event)
        finally:
            await opened.close()
            exchange.repairs += collector.repairs
        if collector.error is not None:
            raise collector.error
        exchange.usage, exchange.status = collector.response.usage, 200
        await self.completed(request, collector, ctx)
        body = self.codec.encode_response(collector.response, request)
        return web.Response(body=orjson.dumps(body), status=200, content_type="application/json", headers=headers)


async def _batches(opened: EventStream, bodies: BodyLog | None) -> AsyncIterator[Sequence[Event]]:
    """The stream's batches; each also handed to the body log when ``logging.trace_streams`` is on."""
    trace = bodies if bodies is not None and bodies.trace else None
    if opened.first:
        if trace is not None:
            trace.translated(opened.first)
        yield opened.first
    try:
        async for batch in opened.rest:
            if trace is not None:
                trace.translated(batch)
            yield batch
    except LipError as exc:
        if trace is not None:
            trace.translated([StreamError(exc)])
        yield [StreamError(exc)]


def finish_trace(http: web.Request, exchange: Exchange, trace: RequestTrace) -> None:
    ttft = exchange.first_byte - exchange.started if exchange.first_byte is not None else None
    key, status = exchange.key, exchange.status or 500
    trace.finish(status, exchange.target, exchange.usage, exchange.error, ttft, key.name if key else None)


def allowed_targets(key: ClientKey | None, targets: Sequence[Target]) -> Sequence[Target]:
    """The attempts the request's client key may use (all without a key or with a key that lists no models); a 403
    when none is left, so a model allowed to one key is not reachable with another."""
    if key is None or not key.models:
        return targets
    kept = [target for target in targets if key.allows(target.backend.prefix, target.model)]
    if not kept:
        model = targets[0].leaf if targets else "?"
        raise Forbidden(f"the client key {key.name!r} may not use the model {model!r}")
    return kept


def route_of(http: web.Request, model: str) -> str:
    """The selector to plan: the ``X-LIP-Route`` header's when the client sent one (it wins over the body's
    model, so a client that cannot change its model name can still choose a route), else ``model``."""
    route = http.headers.get(ROUTE_HEADER)
    if route is None:
        return model
    route = route.strip()
    if not route:
        raise InvalidRequest(f"the {ROUTE_HEADER} header is empty; send a model selector or leave it out")
    if len(route) > MAX_SELECTOR:
        raise InvalidRequest(f"the {ROUTE_HEADER} header is longer than {MAX_SELECTOR} characters")
    return route


def forwarded_headers(http: web.Request) -> dict[str, str]:
    """Client headers a same-protocol upstream should see (the codecs' dialects name them); never the client's own
    credentials."""
    out: dict[str, str] = {}
    for name in forwarded_client_headers():
        value = http.headers.get(name)
        if value:
            out[name] = value
    return out
