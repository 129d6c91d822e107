"""Routing a request's model: prefix:model split at the first ':', canonical ids, aliases first, bare names by
inventory or the default route, unknown prefixes as 404 listing the known ones; the upstream gets the native name."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes import Fail, FakeProvider
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import LipServer, backend_row, run_lip


def inline(*items: dict[str, Any]) -> dict[str, Any]:
    return {"source": "inline", "items": list(items)}


async def ask(lip: LipServer, model: str) -> str | None:
    completion = await lip.openai().chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return completion.choices[0].message.content


def sent_models(fake: FakeProvider) -> list[str]:
    return [r.body["model"] for r in fake.requests_to("/chat/completions")]


@pytest.mark.parametrize(
    ("selector", "native"),
    [
        ("p:deepseek-chat", "deepseek-chat"),
        ("p:llama3:8b", "llama3:8b"),
        ("p:openai/gpt-4o", "openai/gpt-4o"),
        ("p:org/model:Q4_K_M", "org/model:Q4_K_M"),
    ],
)
async def test_the_upstream_receives_the_native_model(fake_provider: FakeProvider, selector: str, native: str) -> None:
    async with run_lip({"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}) as lip:
        assert await ask(lip, selector) == "Hello from fake"
    assert sent_models(fake_provider) == [native]


async def test_the_canonical_id_form_resolves_to_the_native_id(fake_provider: FakeProvider) -> None:
    models = inline({"canonical_id": "provider123/deepseek-chat", "native_id": "deepseek-chat"})
    row = backend_row("provider123", fake_provider.url + "/v1", models=models)
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        await ask(lip, "provider123:provider123/deepseek-chat")
        await ask(lip, "provider123:deepseek-chat")
    assert sent_models(fake_provider) == ["deepseek-chat", "deepseek-chat"]


async def test_regex_aliases_apply_first_and_match_the_whole_name(fake_provider_factory: FakeProviderFactory) -> None:
    target = await fake_provider_factory()
    other = await fake_provider_factory()
    config = {
        "routing": {
            "default_route": "other:fallback-model",
            "model_aliases": [
                {"pattern": "^gpt-4o(-mini)?$", "replacement": "provider123:deepseek-chat"},
                {"pattern": "claude-(.*)", "replacement": r"provider123:ds-\1"},
                {"pattern": "other:.*", "replacement": "provider123:rewritten"},
            ],
        },
        "plugins": {"backends": [backend_row("provider123", target.url + "/v1"), backend_row("other", other.url)]},
    }
    async with run_lip(config) as lip:
        for model in ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "other:x"):
            await ask(lip, model)
        await ask(lip, "gpt-4o-mini-2024")  # no full match: a bare name, so the default route
    assert sent_models(target) == ["deepseek-chat", "deepseek-chat", "ds-sonnet", "rewritten"]
    assert sent_models(other) == ["fallback-model"]


async def test_map_aliases_match_exact_names(fake_provider: FakeProvider) -> None:
    config = {
        "routing": {"model_aliases": {"fast": "p:small-model", "gpt-4.1": "p:big-model"}},
        "plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]},
    }
    async with run_lip(config) as lip:
        await ask(lip, "fast")
        await ask(lip, "gpt-4.1")  # the '.' is literal
        with pytest.raises(openai.NotFoundError):
            await ask(lip, "gpt-401")
    assert sent_models(fake_provider) == ["small-model", "big-model"]


async def test_a_bare_name_goes_to_the_single_backend_that_lists_it(fake_provider_factory: FakeProviderFactory) -> None:
    a = await fake_provider_factory(models=["alpha-model", "shared"])
    b = await fake_provider_factory(models=["beta-model", "shared"])
    config = {
        "routing": {"default_route": "a:default-model"},
        "plugins": {
            "backends": [
                backend_row("a", a.url + "/v1"),
                backend_row("b", b.url + "/v1", models=inline({"native_id": "beta-native", "canonical_id": "beta"})),
            ]
        },
    }
    async with run_lip(config) as lip:
        await ask(lip, "beta")  # b's static inventory has it as a canonical id
        await ask(lip, "alpha-model")  # a discovered it
        await ask(lip, "unlisted")  # nobody lists it: the default route
    assert sent_models(b) == ["beta-native"]
    assert sent_models(a) == ["alpha-model", "default-model"]


async def test_a_bare_name_listed_twice_goes_to_the_listing_backends_in_config_order(
    fake_provider_factory: FakeProviderFactory,
) -> None:
    """docs/routing.md: every backend that lists a bare name, in config order (the next one on failover)."""
    a = await fake_provider_factory(models=["shared"])
    b = await fake_provider_factory(models=["shared"])
    a.queue(Fail(503))
    config = {
        "routing": {"default_route": "b:chosen"},
        "plugins": {"backends": [backend_row("a", a.url + "/v1"), backend_row("b", b.url + "/v1")]},
    }
    async with run_lip(config) as lip:
        await ask(lip, "shared")
    assert sent_models(a) == ["shared"] and sent_models(b) == ["shared"]


async def test_a_bare_name_without_a_default_route_is_a_404(fake_provider: FakeProvider) -> None:
    async with run_lip({"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}) as lip:
        with pytest.raises(openai.NotFoundError) as caught:
            await ask(lip, "unlisted-model")
    assert isinstance(caught.value.body, dict)
    assert "unlisted-model" in caught.value.body["message"] and "prefix:model" in caught.value.body["message"]
    assert sent_models(fake_provider) == []


async def test_an_unknown_prefix_is_a_404_listing_the_known_prefixes(fake_provider: FakeProvider) -> None:
    rows = [backend_row("alpha", fake_provider.url + "/v1"), backend_row("beta", fake_provider.url + "/v1")]
    async with run_lip({"plugins": {"backends": rows}}) as lip:
        with pytest.raises(openai.NotFoundError) as caught:
            await ask(lip, "gamma:some-model")
    assert caught.value.status_code == 404
    body = caught.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    assert "'gamma'" in body["message"] and "alpha" in body["message"] and "beta" in body["message"]
    assert sent_models(fake_provider) == []
