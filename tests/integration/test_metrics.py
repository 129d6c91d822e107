"""GET /metrics: Prometheus text from a registry of the app's own (requests, latency, TTFB, errors, failovers,
keys, tokens, streams in flight), behind the client key when keys are configured."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row, run_lip
from tests.integration.operate import CHAT, CLIENT_KEY, call

STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels``; None when there is none."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def scrape(url: str, headers: dict[str, str] | None = None) -> str:
    reply = await call(url + "/metrics", method="GET", headers=headers)
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    return reply.body.decode()


async def test_requests_failovers_and_upstream_errors_are_counted(fake_provider_factory: FakeProviderFactory) -> None:
    first, second = await fake_provider_factory(), await fake_provider_factory()
    first.script.append(Fail(500))
    second.script.extend([Turn(), Turn()])
    rows = [backend_row("a", first.url + "/v1"), backend_row("b", second.url + "/v1")]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        failed_over = await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "a:gpt-4o|b:gpt-4o"})
        streamed = await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "b:gpt-4o", "stream": True})
        unknown = await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "nope:x"})
        text = await scrape(lip.url)
    assert (failed_over.status, streamed.status, unknown.status) == (200, 200, 404)
    assert sample(text, "lip_requests_total", frontend="openai_chat", backend="b", status="200") == 2
    assert sample(text, "lip_requests_total", frontend="openai_chat", backend="", status="404") == 1
    assert sample(text, "lip_failovers_total", frontend="openai_chat") == 1
    assert sample(text, "lip_upstream_errors_total", backend="a", error="http_500") == 1
    assert sample(text, "lip_request_duration_seconds_count", frontend="openai_chat") == 3
    assert sample(text, "lip_time_to_first_byte_seconds_count", frontend="openai_chat", backend="b") == 2
    assert sample(text, "lip_http_responses_total", route="/v1/chat/completions", status="404") == 1


async def test_tokens_in_and_out_are_counted() -> None:
    async with run_lip(STUB) as lip:
        await call(lip.url + "/v1/chat/completions", CHAT)
        await call(lip.url + "/v1/chat/completions", {**CHAT, "stream": True})
        text = await scrape(lip.url)
    tokens_in = sample(text, "lip_tokens_total", frontend="openai_chat", backend="local-stub", direction="in")
    tokens_out = sample(text, "lip_tokens_total", frontend="openai_chat", backend="local-stub", direction="out")
    assert tokens_in == 16 and tokens_out == 6  # the stub: 8 per message part in, a token per word out


async def test_key_states_show_cooling_and_disabled_keys() -> None:
    keys = {"key-one-0000": Fail(429, headers={"Retry-After": "120"}), "key-two-0000": Fail(401), "key-three-00": None}
    models = {"source": "inline", "items": [{"native_id": "gpt-4o"}]}
    async with FakeProvider(keys=keys) as fake:
        env = {"P_KEY": "key-one-0000", "P_KEY_2": "key-two-0000", "P_KEY_3": "key-three-00"}
        config = {"plugins": {"backends": [backend_row("p", fake.url + "/v1", key_root="P_KEY", models=models)]}}
        async with run_lip(config, env) as lip:
            reply = await call(lip.url + "/v1/chat/completions", {**CHAT, "model": "p:gpt-4o"})
            text = await scrape(lip.url)
    assert reply.status == 200
    assert sample(text, "lip_backend_keys", backend="p", state="cooling") == 1
    assert sample(text, "lip_backend_keys", backend="p", state="disabled") == 1
    assert sample(text, "lip_backend_keys", backend="p", state="usable") == 1
    for secret in env.values():
        assert secret not in text


async def test_streams_in_flight_are_a_gauge() -> None:
    slow = {"id": "local-stub", "kind": "local-stub", "config": {"chunk_delay_s": 0.3}}
    async with run_lip({"plugins": {"backends": [slow]}}) as lip, aiohttp.ClientSession() as session:
        async with session.post(lip.url + "/v1/chat/completions", json={**CHAT, "stream": True}) as held:
            await held.content.readline()
            during = await scrape(lip.url)
        await held.release()
        after = await scrape(lip.url)
    assert sample(during, "lip_in_flight_streams") == 1
    assert sample(during, "lip_in_flight_requests") == 2  # the stream and this scrape
    assert sample(after, "lip_in_flight_streams") == 0


async def test_metrics_need_the_client_key_when_keys_are_set() -> None:
    async with run_lip({"server": {"allow_no_backends": True}}, {"LIP_API_KEY": CLIENT_KEY}) as lip:
        refused = await call(lip.url + "/metrics", method="GET")
        text = await scrape(lip.url, {"Authorization": f"Bearer {CLIENT_KEY}"})
    assert refused.status == 401
    assert CLIENT_KEY not in text


async def test_each_app_has_its_own_registry() -> None:
    async with run_lip(STUB) as one, run_lip(STUB) as two:
        await call(one.url + "/v1/chat/completions", CHAT)
        first, second = await scrape(one.url), await scrape(two.url)
    assert sample(first, "lip_requests_total", status="200") == 1
    assert sample(second, "lip_requests_total", status="200") is None
