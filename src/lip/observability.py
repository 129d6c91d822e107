"""Metrics (Prometheus text at GET /metrics, one registry per app), the access log, request ids, log formats.

A runtime observer sees each generation request's Exchange once it has ended and feeds both the metrics and the
access log; ``lip.server.gate`` gives every request an id (``X-Request-ID``, accepted or generated, returned on every
response) and logs and counts the requests no frontend saw (401, 429, 404, /healthz, ...). Neither ever
records a prompt, a key or an auth header; bodies go only to ``lip.bodies``, when ``logging.log_bodies`` is on
(see ``lip.bodylog``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lip.bodylog import body_log
from lip.credentials import KeyRing
from lip.errors import UpstreamError
from lip.exchange import Exchange
from lip.inventory import BackendModels
from lip.lifecycle import Lifecycle
from lip.middlewares import client_of
from lip.requestid import assign_request_id as assign_request_id
from lip.requestid import id_header as id_header
from lip.requestid import request_id as request_id
from lip.routing.failover import reason
from lip.runtime import RUNTIME, Runtime, runtime_of
from lip.usage import KeyUsage, cost, price_of

if TYPE_CHECKING:
    from lip.status import StatusBoard
    from lip.store.base import StoreHealth

access_log = logging.getLogger("lip.access")
log = logging.getLogger(__name__)
OBSERVED: web.RequestKey[bool] = web.RequestKey("lip.observed", bool)
PLAIN = re.compile(r"[A-Za-z0-9._:/+=@-]*")
MAX_FIELD_LENGTH = 200
QUIET_PATHS = frozenset({"/healthz", "/metrics"})  # logged at debug level only
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
TTFB_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


# ---------------------------------------------------------------- metrics


KEYS_HELP = "API keys of each backend by state (usable, cooling after a 429, disabled after a 401)"
IN_FLIGHT_HELP = "Requests in flight"
STREAMS_HELP = "Streams being relayed to clients"
WORKERS_HELP = "Worker processes serving this port (lip serve --workers N)"
STORE_UP_HELP = "1 while the shared store (store.kind: redis) answers, 0 while lip serves from its own state"
STORE_FAILED_HELP = "Calls to the shared store that failed and were answered from this process's own state"
STORE_OUTAGES_HELP = "Times the shared store became unreachable"


def key_counts(runtime: Runtime | None) -> Iterator[tuple[str, str, int]]:
    """(backend, state, keys) for each backend with API keys: usable, cooling and disabled."""
    for prefix, backend in (runtime.backends if runtime else {}).items():
        ring = getattr(backend, "keys", None)
        if not isinstance(ring, KeyRing) or not ring.keys:
            continue
        states = ring.describe()
        disabled = sum(1 for s in states if s["disabled"])
        cooling = sum(1 for s in states if not s["disabled"] and s["cooling_s"])
        yield prefix, "usable", len(states) - disabled - cooling
        yield prefix, "cooling", cooling
        yield prefix, "disabled", disabled


class KeyStates(Collector):
    """lip_backend_keys{backend, state}: each backend's API keys by state, read at scrape time."""

    def __init__(self, current: Callable[[], Runtime | None]) -> None:
        self.current = current

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for prefix, state, count in key_counts(self.current()):
            family.add_metric([prefix, state], count)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("lip_backend_keys", KEYS_HELP, labels=["backend", "state"])


def store_health(runtime: Runtime | None) -> StoreHealth | None:
    return runtime.store.health() if runtime is not None else None


class StoreState(Collector):
    """lip_store_up, lip_store_failed_calls_total, lip_store_outages_total, read at scrape time; none of them with
    the in-process store, which cannot fail."""

    def __init__(self, current: Callable[[], Runtime | None]) -> None:
        self.current = current

    def collect(self) -> Iterator[Metric]:
        health = store_health(self.current())
        if health is None:
            return
        yield GaugeMetricFamily("lip_store_up", STORE_UP_HELP, value=int(health.reachable))
        yield CounterMetricFamily("lip_store_failed_calls", STORE_FAILED_HELP, value=health.failed_calls)
        yield CounterMetricFamily("lip_store_outages", STORE_OUTAGES_HELP, value=health.outages)


class SharedRender(Protocol):
    """What a worker of ``lip serve --workers N`` scrapes instead of its own registry (``lip.shared_metrics``)."""

    def render(self) -> bytes: ...


class Observability:
    """One app's metrics registry and access log.

    ``shared``: the worker of ``lip serve --workers N`` (N > 1) writes its values to files every worker's scrape
    reads (see ``lip.shared_metrics``); otherwise the gauges are read from this process at scrape time.
    """

    def __init__(
        self, lifecycle: Lifecycle, current: Callable[[], Runtime | None], shared: SharedRender | None = None
    ) -> None:
        self.registry = registry = CollectorRegistry()
        self.shared = shared
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.requests = Counter(
            "lip_requests",
            "Generation requests by frontend, backend and status",
            ["frontend", "backend", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "lip_request_duration_seconds",
            "Generation request latency, to the last byte",
            ["frontend"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ttfb = Histogram(
            "lip_time_to_first_byte_seconds",
            "Time until the upstream's first byte",
            ["frontend", "backend"],
            buckets=TTFB_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            "lip_upstream_errors",
            "Upstream failures by backend and error class",
            ["backend", "error"],
            registry=registry,
        )
        self.failovers = Counter(
            "lip_failovers", "Attempts abandoned for the next one", ["frontend"], registry=registry
        )
        self.tokens = Counter(
            "lip_tokens",
            "Tokens by frontend, backend and direction (in, out)",
            ["frontend", "backend", "direction"],
            registry=registry,
        )
        self.repairs = Counter(
            "lip_stream_repairs",
            "Repairs lip made to an upstream's answer to keep the client's stream valid, by kind and backend",
            ["kind", "backend"],
            registry=registry,
        )
        self.sticky = Counter(
            "lip_affinity_requests",
            "Requests on sticky routes by outcome: hit (the bound leaf served), moved (another leaf served and is "
            "bound now), new (the conversation's first), unidentified (no session or client id)",
            ["outcome"],
            registry=registry,
        )
        self.inventory = Counter(
            "lip_inventory_refreshes",
            "Fetches of a backend's model list (at start and each refresh) by outcome: ok, or failed (the last good "
            "list is kept)",
            ["backend", "outcome"],
            registry=registry,
        )
        self.responses = Counter(
            "lip_http_responses", "Every HTTP response by route and status", ["route", "status"], registry=registry
        )
        self.key_usage = KeyUsage()
        self.board: StatusBoard | None = None  # the status page's record, when ui.enabled (lip.status)
        per_key = ["key", "backend", "model"]
        self.key_requests = Counter(
            "lip_key_requests", "Generation requests by client key name, backend and model", per_key, registry=registry
        )
        self.key_errors = Counter(
            "lip_key_errors",
            "Failed generation requests by client key name, backend and model",
            per_key,
            registry=registry,
        )
        self.key_tokens = Counter(
            "lip_key_tokens",
            "Tokens by client key name, backend, model and kind (input, output, cached, reasoning)",
            [*per_key, "kind"],
            registry=registry,
        )
        self.key_cost = Counter(
            "lip_key_cost_usd",
            "Cost in US dollars from the configured prices, by client key name, backend and model",
            per_key,
            registry=registry,
        )
        if shared is None:
            Gauge("lip_in_flight_requests", IN_FLIGHT_HELP, registry=registry).set_function(
                lambda: len(lifecycle.requests)
            )
            Gauge("lip_in_flight_streams", STREAMS_HELP, registry=registry).set_function(lambda: lifecycle.streams)
            Gauge("lip_workers", WORKERS_HELP, registry=registry).set(1)
            registry.register(KeyStates(current))
            registry.register(StoreState(current))

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: a dict lookup instead of prometheus-client's lock and checks."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def render(self) -> bytes:
        return self.shared.render() if self.shared is not None else generate_latest(self.registry)

    def inventory_fetched(self, prefix: str, entry: BackendModels, ok: bool) -> None:
        """The inventory listener: one backend's model list was fetched (``lip.inventory``)."""
        self._child(self.inventory, prefix, "ok" if ok else "failed").inc()

    def observe(self, http: web.Request, exchange: Exchange) -> None:
        """The runtime observer: one generation request has ended."""
        http[OBSERVED] = True
        backend = exchange.target.backend.prefix if exchange.target else ""
        status = str(exchange.status or 500)
        child, frontend = self._child, exchange.frontend
        child(self.requests, frontend, backend, status).inc()
        child(self.duration, frontend).observe(time.perf_counter() - exchange.started)
        if exchange.first_byte is not None:
            child(self.ttfb, frontend, backend).observe(exchange.first_byte - exchange.started)
        for leaf, why in exchange.attempts:
            child(self.upstream_errors, leaf.partition(":")[0], why).inc()
        if isinstance(exchange.error, UpstreamError) and exchange.target is not None:
            child(self.upstream_errors, backend, reason(exchange.error)).inc()
        failovers = len(exchange.attempts) - (exchange.target is None)
        if failovers > 0:
            child(self.failovers, frontend).inc(failovers)
        if exchange.repairs:
            self._repaired(http, exchange, backend)
        if exchange.sticky_outcome is not None:
            child(self.sticky, exchange.sticky_outcome).inc()
        if exchange.usage is not None:
            child(self.tokens, frontend, backend, "in").inc(exchange.usage.input_tokens)
            child(self.tokens, frontend, backend, "out").inc(exchange.usage.output_tokens)
        runtime = runtime_of(http)
        spent = None
        prices = runtime.settings.config.prices
        if prices and exchange.usage is not None and exchange.target is not None:
            price = price_of(prices, backend, exchange.target.model)
            spent = cost(price, exchange.usage) if price is not None else None
        key = exchange.key
        if key is not None:
            self._key_used(key.name, exchange, backend, spent)
        if self.board is not None:
            self.board.record(exchange, key.name if key is not None else None, time.perf_counter())
        if runtime.settings.config.logging.access_log and access_log.isEnabledFor(logging.INFO):
            _log_access(exchange_fields(http, exchange, spent), logging.INFO)
        if exchange.bodies is not None:
            head = {"request_id": request_id(http), "frontend": frontend, "status": exchange.status or 500}
            _log_access({**head, **exchange.bodies.fields(runtime.secrets())}, logging.INFO, body_log)

    def _key_used(self, name: str, exchange: Exchange, backend: str, spent: float | None) -> None:
        """Usage per client key name, backend and model (the model lip called; empty when none was)."""
        model = exchange.target.model if exchange.target is not None else ""
        failed = exchange.error is not None or (exchange.status or 500) >= 400
        usage, child = exchange.usage, self._child
        child(self.key_requests, name, backend, model).inc()
        if failed:
            child(self.key_errors, name, backend, model).inc()
        if usage is not None:
            for kind, count in (
                ("input", usage.input_tokens),
                ("output", usage.output_tokens),
                ("cached", usage.cached_tokens),
                ("reasoning", usage.reasoning_tokens),
            ):
                if count:
                    child(self.key_tokens, name, backend, model, kind).inc(count)
        if spent:
            child(self.key_cost, name, backend, model).inc(spent)
        self.key_usage.record(name, backend, model, failed, usage, spent or 0.0)

    def _repaired(self, http: web.Request, exchange: Exchange, backend: str) -> None:
        """Count each repair; one warning a request, naming the kinds (never the content)."""
        kinds: dict[str, int] = {}
        for kind in exchange.repairs:
            kinds[kind] = kinds.get(kind, 0) + 1
        for kind, count in kinds.items():
            self._child(self.repairs, kind, backend).inc(count)
        summary = ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items()))
        log.warning("request %s: lip repaired %s's answer: %s", request_id(http), backend or "the upstream", summary)

    def finished(self, http: web.Request, status: int, started: float) -> None:
        """Every request's end (``lip.server.gate``): count its response; log it when no frontend observed it."""
        resource = http.match_info.route.resource
        self._child(self.responses, resource.canonical if resource is not None else "unmatched", str(status)).inc()
        level = logging.DEBUG if http.path in QUIET_PATHS else logging.INFO
        if http.get(OBSERVED) or not runtime_of(http).settings.config.logging.access_log:
            return
        if access_log.isEnabledFor(level):
            _log_access({**_head(http, status), "duration_ms": _ms(time.perf_counter() - started)}, level)


OBSERVABILITY: web.AppKey[Observability] = web.AppKey("lip.observability", Observability)


def current_runtime(app: web.Application) -> Callable[[], Runtime | None]:
    """A function that returns the runtime ``app`` serves new requests with (None before it started)."""

    def current() -> Runtime | None:
        holder = app.get(RUNTIME)
        return holder.current if holder is not None else None

    return current


def install(app: web.Application, lifecycle: Lifecycle, shared: SharedRender | None = None) -> None:
    """Metrics, request ids and GET /metrics on ``app`` (``lip.server.gate`` assigns the ids and reports each end)."""
    app[OBSERVABILITY] = Observability(lifecycle, current_runtime(app), shared)
    server_log = logging.getLogger("aiohttp.server")
    if MALFORMED not in server_log.filters:
        server_log.addFilter(MALFORMED)
    app.router.add_get("/metrics", metrics_endpoint)


async def metrics_endpoint(http: web.Request) -> web.Response:
    body = http.app[OBSERVABILITY].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# ---------------------------------------------------------------- access log


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _clip(value: str) -> str:
    return value[:MAX_FIELD_LENGTH]


def _head(http: web.Request, status: int) -> dict[str, Any]:
    return {
        "request_id": request_id(http),
        "method": http.method,
        "path": _clip(http.path),
        "status": status,
        "client": _clip(client_of(http)),
    }


def exchange_fields(http: web.Request, exchange: Exchange, spent: float | None = None) -> dict[str, Any]:
    """The access-log fields of a generation request: never a prompt, a key or a header value. ``spent``: its cost
    in US dollars from the configured prices."""
    fields = _head(http, exchange.status or 500)
    fields.update(
        frontend=exchange.frontend,
        selector=_clip(exchange.model) or None,
        backend=exchange.target.leaf if exchange.target else None,
        failovers=max(0, len(exchange.attempts) - (exchange.target is None)) or None,
        streamed=exchange.streamed or None,
        ttfb_ms=_ms(exchange.first_byte - exchange.started) if exchange.first_byte is not None else None,
        duration_ms=_ms(time.perf_counter() - exchange.started),
        tokens_in=exchange.usage.input_tokens if exchange.usage else None,
        tokens_out=exchange.usage.output_tokens if exchange.usage else None,
        tokens_cached=exchange.usage.cached_tokens or None if exchange.usage else None,
        tokens_reasoning=exchange.usage.reasoning_tokens or None if exchange.usage else None,
        cost_usd=round(spent, 6) if spent is not None else None,
        error=exchange.error.code if exchange.error else None,
        client_gone=exchange.client_gone or None,
    )
    return fields


def _text(value: object) -> str:
    if type(value) is int or type(value) is float:
        return str(value)  # digits, '.', '-', 'e', inf, nan: always plain
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text if PLAIN.fullmatch(text) else orjson.dumps(text).decode()


class FieldsMessage:
    """An access record's text, ``k=v`` pairs built when a handler formats it (in the log writer's thread), not on
    the event loop."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return " ".join([f"{key}={_text(value)}" for key, value in self.fields.items()])


def _log_access(fields: dict[str, Any], level: int, logger: logging.Logger = access_log) -> None:
    """One record, made directly: the caller's file and line (``findCaller``'s stack walk) say nothing here."""
    if not logger.isEnabledFor(level):
        return
    present = {k: v for k, v in fields.items() if v is not None}
    record = _record(logger, level)
    record.msg, record.fields = FieldsMessage(present), present
    logger.handle(record)


_RECORD_BASES: dict[tuple[str, int], dict[str, Any]] = {}


def _record(logger: logging.Logger, level: int) -> logging.LogRecord:
    """A record as ``logger.makeRecord`` makes it, its time now, copied from one made once a logger, level, thread
    and process: what LogRecord works out anew for each record (level name, file name, thread and process names) is
    the same for every access record, and costs more than the rest of writing one."""
    key = (logger.name, level)
    base = _RECORD_BASES.get(key)
    if base is None or base["thread"] != threading.get_ident() or base["process"] != os.getpid():
        base = _RECORD_BASES[key] = vars(logger.makeRecord(logger.name, level, __file__, 0, "", (), None))
    record = logging.LogRecord.__new__(logging.LogRecord)
    record.__dict__ = base.copy()  # a dict's copy is one block copy; an update inserts key by key
    now = time.time()
    record.created, record.msecs = now, int((now - int(now)) * 1000) + 0.0
    record.relativeCreated = base["relativeCreated"] + (now - base["created"]) * 1000
    return record


# ---------------------------------------------------------------- log formats


class MalformedRequests(logging.Filter):
    """aiohttp logs a malformed request with a traceback that quotes its raw bytes (a key, a prompt): one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "malformed request from %s answered %s (%s)"
            record.args = (peer, error.code, type(error).__name__)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


MALFORMED = MalformedRequests()


class JsonFormatter(logging.Formatter):
    """One JSON object per line; an access record's fields become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` with the date and time formatted once a second, not once a record (the writer thread formats
    an access record per request, on the proxy's core)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp, self._second = time.strftime(self.default_time_format, self.converter(second)), second
        return f"{self._stamp},{int(record.msecs):03d}"


WRITE_INTERVAL_S = 0.02  # the writer thread writes what gathered this often: one write per batch, no handoffs


class BackgroundHandler(logging.Handler):
    """Gathers records for a thread that formats and writes them in batches: a slow stderr never blocks the event
    loop, and logging a record costs the loop one deque append (no lock hand-off to a waiting thread)."""

    def __init__(self, target: logging.StreamHandler[Any]) -> None:
        super().__init__()
        self.target = target
        self._records: deque[logging.LogRecord] = deque()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = threading.Thread(target=self._run, name="lip-log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def handle(self, record: logging.LogRecord) -> bool:
        """No handler lock: appending to a deque is atomic."""
        if not self.filter(record):
            return False
        self._records.append(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)

    def _run(self) -> None:
        while not self._closing.wait(WRITE_INTERVAL_S):
            self._write()
        self._write()

    def _write(self) -> None:
        target, lines, last = self.target, [], None
        while self._records:
            last = record = self._records.popleft()
            if record.levelno < target.level or not target.filter(record):
                continue
            try:
                lines.append(target.format(record) + target.terminator)
            except Exception:  # logging's contract: report it, never raise
                target.handleError(record)
        if not lines or last is None:
            return
        with target.lock or contextlib.nullcontext():
            try:
                target.stream.write("".join(lines))
                target.flush()
            except Exception:  # logging's contract: report it, never raise
                target.handleError(last)

    def close(self) -> None:
        """Write what is gathered, then stop the thread (idempotent)."""
        if self._thread is not None:
            self._closing.set()
            self._thread.join()
            self._thread = None
        atexit.unregister(self.close)
        super().close()


def configure_logging(level: str, log_format: str) -> None:
    """The root logger writes to stderr at ``level``, as text or JSON lines (``logging.format``)."""
    stream = logging.StreamHandler()
    stream.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [BackgroundHandler(stream)]
    root.setLevel(level.upper())
