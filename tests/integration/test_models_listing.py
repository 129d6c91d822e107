"""Models: discovered from each provider at start-up without delaying serving (and with a timeout), or taken from
a static inventory; GET /v1/models lists them all as prefix:native_id in the OpenAI list shape."""

from __future__ import annotations

import aiohttp

from tests.fakes import Fail, FakeProvider, HtmlErrorPage, Stall
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row, run_lip
from tests.integration.operate import call

ANTHROPIC = "custom-anthropic-compatible"
RESPONSES = "custom-openai-responses-compatible"


async def test_models_of_every_backend_are_listed_with_their_prefix(fake_provider_factory: FakeProviderFactory) -> None:
    chat = await fake_provider_factory(models=["deepseek-chat", "deepseek-reasoner"])
    responses = await fake_provider_factory(models=["gpt-4o"])
    anthropic = await fake_provider_factory(models=["claude-test"])
    rows = [
        backend_row("provider123", chat.url + "/v1"),
        backend_row("resp", responses.url + "/v1", kind=RESPONSES),
        backend_row("ant", anthropic.url, kind=ANTHROPIC),
        backend_row(
            "static",
            chat.url + "/v1",
            models={
                "source": "inline",
                "items": [
                    {
                        "native_id": "llama3:8b",
                        "canonical_id": "static/llama3",
                        "owned_by": "meta",
                        "created": 1700000000,
                    }
                ],
            },
        ),
    ]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        page = await lip.openai().models.list()
    ids = [m.id for m in page.data]
    assert ids == [
        "provider123:deepseek-chat",
        "provider123:deepseek-reasoner",
        "resp:gpt-4o",
        "ant:claude-test",
        "static:llama3:8b",
    ]
    assert page.object == "list"
    assert all(m.object == "model" and isinstance(m.created, int) and m.owned_by for m in page.data)
    static = page.data[-1]
    assert (static.owned_by, static.created) == ("meta", 1700000000)
    assert [r.path for r in chat.requests_to("/models")] == ["/v1/models"]  # the static row asked nothing
    assert [r.path for r in responses.requests_to("/models")] == ["/v1/models"]
    assert [r.path for r in anthropic.requests_to("/models")] == ["/v1/models"]


async def test_the_raw_list_shape(fake_provider: FakeProvider) -> None:
    fake_provider.models = ["m1"]
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}
    async with (
        run_lip(config) as lip,
        aiohttp.ClientSession() as session,
        session.get(lip.url + "/v1/models") as response,
    ):
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert set(body) == {"object", "data"} and body["object"] == "list"
    [model] = body["data"]
    assert set(model) == {"id", "object", "created", "owned_by"}
    assert model["id"] == "p:m1" and model["object"] == "model"


async def test_a_static_inventory_replaces_discovery(fake_provider: FakeProvider) -> None:
    models = {"source": "inline", "items": [{"native_id": "only-this"}]}
    row = backend_row("p", fake_provider.url + "/v1", models=models)
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        page = await lip.openai().models.list()
        entry = lip.runtime.inventory.by_prefix["p"]
    assert [m.id for m in page.data] == ["p:only-this"]
    assert (entry.source, entry.state) == ("inline", "ready")
    assert fake_provider.requests_to("/models") == []


async def test_a_stalled_provider_does_not_delay_serving(fake_provider_factory: FakeProviderFactory) -> None:
    slow = await fake_provider_factory()
    slow.models_behaviour = Stall(30)
    fast = await fake_provider_factory(models=["quick"])
    rows = [
        backend_row("slow", slow.url + "/v1", discovery_timeout_s=1.0),
        backend_row("fast", fast.url + "/v1"),
    ]
    async with run_lip({"plugins": {"backends": rows}}, wait_discovery=False) as lip:
        client = lip.openai()
        completion = await client.chat.completions.create(
            model="slow:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        assert completion.choices[0].message.content == "Hello from fake"
        assert lip.runtime.inventory.by_prefix["slow"].state == "pending"  # served while discovery still waits
        await lip.runtime.wait_discovery()  # bounded by discovery_timeout_s, not by the 30 s stall
        slow_entry = lip.runtime.inventory.by_prefix["slow"]
        page = await client.models.list()
    assert slow_entry.state == "failed" and slow_entry.error and "timed out" in slow_entry.error
    assert [m.id for m in page.data] == ["fast:quick"]


async def test_a_failed_discovery_leaves_the_backend_serving(fake_provider_factory: FakeProviderFactory) -> None:
    broken = await fake_provider_factory()
    broken.models_behaviour = HtmlErrorPage(502)
    refused = await fake_provider_factory()
    refused.models_behaviour = Fail(404)
    rows = [backend_row("broken", broken.url + "/v1"), backend_row("refused", refused.url + "/v1")]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        client = lip.openai()
        page = await client.models.list()
        states = {p: (e.state, e.error) for p, e in lip.runtime.inventory.by_prefix.items()}
        completion = await client.chat.completions.create(
            model="broken:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert page.data == []
    assert states["broken"][0] == "failed" and "502" in (states["broken"][1] or "")
    assert states["refused"][0] == "failed" and "404" in (states["refused"][1] or "")
    assert completion.choices[0].message.content == "Hello from fake"


async def test_disabled_backends_are_not_listed_nor_asked(fake_provider: FakeProvider) -> None:
    off = {**backend_row("off", fake_provider.url + "/v1"), "enabled": False}
    config = {"server": {"allow_no_backends": True}, "plugins": {"backends": [off]}}
    async with run_lip(config) as lip:
        page = await lip.openai().models.list()
    assert page.data == [] and fake_provider.received == []


async def test_models_at_the_root_path_too(fake_provider: FakeProvider) -> None:
    fake_provider.models = ["m1"]
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}
    async with run_lip(config) as lip, aiohttp.ClientSession() as session, session.get(lip.url + "/models") as response:
        body = await response.json()
    assert [m["id"] for m in body["data"]] == ["p:m1"]


async def test_an_anthropic_listing_is_read_page_by_page(fake_provider: FakeProvider) -> None:
    fake_provider.models = [f"claude-{i}" for i in range(5)]
    fake_provider.models_page_limit = 2  # five models come back in three pages
    row = backend_row("ant", fake_provider.url + "?tenant=t1", kind=ANTHROPIC)  # a base_url query stays
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        reply = await call(lip.url + "/v1/models", method="GET")
    listed = [m["id"] for m in reply.json()["data"]]
    assert sorted(listed) == sorted(f"ant:claude-{i}" for i in range(5))
    pages = [dict(r.query) for r in fake_provider.requests_to("/models")]
    assert [p.get("after_id") for p in pages] == [None, "claude-3", "claude-1"]
    assert all(p["tenant"] == "t1" and p["limit"] == "1000" for p in pages)
