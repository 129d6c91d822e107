"""OpenTelemetry traces, received by an in-test OTLP/HTTP endpoint that decodes them with the official
``opentelemetry-proto`` messages: one server span per request (a child of the client's ``traceparent``), one client
span per upstream attempt with the GenAI attributes, the attempt's context sent upstream; no prompt unless content
capture is on; and nothing of OpenTelemetry loaded when tracing is off."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from lip.config.models import TelemetryConfig
from lip.telemetry import trace_settings
from tests.fakes import Fail, FakeProvider, Stall, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import CANARY, backend_row, free_port, run_lip
from tests.integration.operate import call

MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
PROMPT = "a secret prompt about zebras"


@dataclass
class Collector:
    """An OTLP/HTTP traces endpoint: every span it received, with its service name, and the raw bodies."""

    url: str
    spans: list[tuple[str, Span]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def named(self, kind: int) -> list[Span]:
        return [span for _, span in self.spans if span.kind == kind]


@pytest_asyncio.fixture
async def collector() -> AsyncIterator[Collector]:
    port = free_port()
    found = Collector(f"http://127.0.0.1:{port}")

    async def traces(http: web.Request) -> web.Response:
        assert http.content_type == "application/x-protobuf"
        body = await http.read()
        found.bodies.append(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = attrs(resource_spans.resource.attributes)["service.name"]
            for scope in resource_spans.scope_spans:
                found.spans.extend((service, span) for span in scope.spans)
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield found
    await runner.cleanup()


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attrs(attributes: Any) -> dict[str, Any]:
    return {a.key: value(a.value) for a in attributes}


def chat(model: str = "p:gpt-4o", stream: bool = False) -> dict[str, Any]:
    return {"model": model, "stream": stream, "messages": [{"role": "user", "content": PROMPT}]}


async def test_a_request_and_its_attempts_are_spans_in_the_clients_trace(
    collector: Collector, fake_provider_factory: FakeProviderFactory
) -> None:
    broken, good = await fake_provider_factory(), await fake_provider_factory()
    broken.script.append(Fail(500))
    good.script.append(Turn(text="one two three"))
    rows = [backend_row("a", broken.url + "/v1", models=MODELS), backend_row("p", good.url + "/v1", models=MODELS)]
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "gateway-test"}
    async with run_lip({"plugins": {"backends": rows}}, env) as lip:
        reply = await call(
            lip.url + "/v1/chat/completions",
            chat("a:gpt-4o|p:gpt-4o"),
            headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"},
        )
    assert reply.status == 200
    (server,) = collector.named(Span.SPAN_KIND_SERVER)
    failed, answered = sorted(collector.named(Span.SPAN_KIND_CLIENT), key=lambda s: s.start_time_unix_nano)
    assert {service for service, _ in collector.spans} == {"gateway-test"}
    assert server.trace_id.hex() == CLIENT_TRACE and server.parent_span_id.hex() == CLIENT_SPAN
    assert server.name == "chat a:gpt-4o|p:gpt-4o"
    request = attrs(server.attributes)
    assert request["gen_ai.operation.name"] == "chat"
    assert request["gen_ai.request.model"] == "a:gpt-4o|p:gpt-4o"
    assert request["gen_ai.response.model"] == "gpt-4o"
    assert request["gen_ai.usage.input_tokens"] == 10 and request["gen_ai.usage.output_tokens"] == 5
    assert request["http.response.status_code"] == 200 and request["lip.backend"] == "p:gpt-4o"
    assert 0 < request["gen_ai.response.time_to_first_chunk"] < 5
    for attempt in (failed, answered):
        assert attempt.trace_id == server.trace_id and attempt.parent_span_id == server.span_id
        assert attempt.name == "chat gpt-4o"
    first, second = attrs(failed.attributes), attrs(answered.attributes)
    assert first["error.type"] == "http_500" and failed.status.code == failed.status.STATUS_CODE_ERROR
    assert second["gen_ai.system"] == "custom-openai-legacy-compatible"
    assert second["server.address"] == "127.0.0.1" and second["server.port"] == int(good.url.rsplit(":", 1)[1])
    assert second["gen_ai.usage.output_tokens"] == 5 and "error.type" not in second
    # each upstream call carried its own attempt's context, in the client's trace
    sent = [fake.received[-1].headers for fake in (broken, good)]
    assert [h["traceparent"] for h in sent] == [
        f"00-{CLIENT_TRACE}-{failed.span_id.hex()}-01",
        f"00-{CLIENT_TRACE}-{answered.span_id.hex()}-01",
    ]
    assert sent[1]["tracestate"] == "vendor=1"
    assert b"zebras" not in b"".join(collector.bodies)  # no content capture by default


async def test_each_leg_of_a_race_has_its_own_span_and_the_losers_end_cancelled(
    collector: Collector, fake_provider_factory: FakeProviderFactory
) -> None:
    slow, fast = await fake_provider_factory(), await fake_provider_factory()
    slow.script.append(Stall(30))  # never answers: cancelled when the other leg has output
    fast.script.append(Turn(text="one two three"))
    rows = [backend_row("a", slow.url + "/v1", models=MODELS), backend_row("p", fast.url + "/v1", models=MODELS)]
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
    async with run_lip({"plugins": {"backends": rows}}, env) as lip:
        reply = await call(lip.url + "/v1/chat/completions", chat("a:gpt-4o!p:gpt-4o", stream=True))
    assert reply.status == 200 and reply.headers["x-lip-backend"] == "p:gpt-4o"
    (server,) = collector.named(Span.SPAN_KIND_SERVER)
    legs = {attrs(s.attributes)["lip.backend"]: s for s in collector.named(Span.SPAN_KIND_CLIENT)}
    assert set(legs) == {"a", "p"}  # both legs' spans were ended (and so exported)
    lost, won = attrs(legs["a"].attributes), attrs(legs["p"].attributes)
    assert lost["lip.attempt.outcome"] == "cancelled" and "gen_ai.response.model" not in lost
    assert "lip.attempt.outcome" not in won and won["gen_ai.response.model"] == "gpt-4o" and "error.type" not in won
    assert all(s.parent_span_id == server.span_id for s in legs.values())
    assert attrs(server.attributes)["lip.backend"] == "p:gpt-4o"


async def test_content_capture_attaches_the_prompt_and_errors_are_typed(collector: Collector) -> None:
    config = {
        "plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]},
        "telemetry": {"endpoint": collector.url, "capture_content": True, "service_name": "lip-capture"},
    }
    async with run_lip(config, {"OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{CANARY}"}) as lip:
        ok = await call(lip.url + "/v1/chat/completions", chat("local-stub:echo"))
        missing = await call(lip.url + "/v1/chat/completions", chat("nope:x"))
    assert (ok.status, missing.status) == (200, 404)
    spans = {attrs(s.attributes)["gen_ai.request.model"]: s for s in collector.named(Span.SPAN_KIND_SERVER)}
    captured = attrs(spans["local-stub:echo"].attributes)["gen_ai.input.messages"]
    assert PROMPT in captured
    failed = attrs(spans["nope:x"].attributes)
    assert failed["error.type"] == "unknown_backend" and failed["http.response.status_code"] == 404
    assert CANARY.encode() not in b"".join(collector.bodies)


async def test_tracing_off_means_no_tracer_and_no_trace_headers_upstream(fake_provider: FakeProvider) -> None:
    fake_provider.script.append(Turn())
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1", models=MODELS)]}}
    async with run_lip(config, {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) as lip:
        reply = await call(lip.url + "/v1/chat/completions", chat(), headers={"traceparent": TRACEPARENT})
        assert lip.runtime.tracing is None
    assert reply.status == 200 and "traceparent" not in fake_provider.received[-1].headers


def test_with_tracing_off_opentelemetry_is_never_imported() -> None:
    script = (
        "import sys, asyncio\n"
        "from lip.config.load import load_default\n"
        "from lip.server import create_app\n"
        "from aiohttp.test_utils import TestClient, TestServer\n"
        "async def main():\n"
        "    app = create_app(load_default({}), {})\n"
        "    async with TestClient(TestServer(app)) as client:\n"
        "        body = {'model': 'local-stub:echo', 'messages': [{'role': 'user', 'content': 'hi'}]}\n"
        "        assert (await client.post('/v1/chat/completions', json=body)).status == 200\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_check_config_refuses_tracing_without_the_sdk(tmp_path: Any) -> None:
    """Simulated by hiding the SDK from a child's import path: the message says what to install."""
    script = (
        "import sys, importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name.startswith('opentelemetry') else real(name, *a)\n"
        "from lip.config.load import load_text, ConfigError\n"
        "try:\n"
        "    load_text('telemetry: {enabled: true}\\nplugins: {backends: [{id: s, kind: local-stub}]}', 'x.yaml', {})\n"
        "except ConfigError as e:\n"
        "    print(e.problems)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "x.yaml: field telemetry" in done.stdout and "pip install 'lip[otel]'" in done.stdout, done.stderr


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}, "http://c:4318/v1/traces"),
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:9/t", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"},
            "http://c:9/t",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, None),
        ({}, None),
    ],
)
def test_the_standard_environment_decides(env: dict[str, str], url: str | None) -> None:
    found = trace_settings(TelemetryConfig(), env)
    assert (found.traces_url if found else None) == url
