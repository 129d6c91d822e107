"""Model capabilities: what each model accepts, from the preset's table, the row's table and inline items. A
translated request is fitted to its target: reasoning parameters dropped for a model without reasoning (Claude Code
sends a thinking budget on every request; OpenAI refuses reasoning_effort on gpt-4o), max tokens clamped to the
output limit and the limit used where Anthropic requires a value, an image refused for a text-only model; the
context window and output limit are listed in /v1/models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import pytest
import pytest_asyncio

from tests.fakes import FakeProvider
from tests.harness import LipServer, backend_row, run_lip
from tests.integration.matrix import PIXEL_PNG

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT_ONLY = {"native_id": "text-only", "reasoning": False, "vision": False, "max_output_tokens": 1000}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig() -> AsyncIterator[tuple[FakeProvider, LipServer]]:
    async with FakeProvider() as fake:
        base = fake.url + "/v1"
        rows = [
            {"id": "oai", "kind": "openai", "config": {"backend_prefix": "oai", "base_url": base}},
            {"id": "oresp", "kind": "openai-responses", "config": {"backend_prefix": "oresp", "base_url": base}},
            {"id": "an", "kind": "anthropic", "config": {"backend_prefix": "an", "base_url": fake.url}},
            {  # the operator's table goes before the preset's
                "id": "tuned",
                "kind": "openai",
                "config": {
                    "backend_prefix": "tuned",
                    "base_url": base,
                    "capabilities": [{"pattern": "gpt-4o", "reasoning": True}],
                },
            },
            backend_row(
                "cust",
                base,
                models={"source": "inline", "items": [TEXT_ONLY, {"native_id": "big", "context_window": 8000}]},
                capabilities=[{"pattern": "thinker-*", "reasoning": True, "max_output_tokens": 2000}],
            ),
        ]
        async with run_lip({"plugins": {"backends": rows}}) as lip:
            yield fake, lip


@pytest.fixture
def fake(rig: tuple[FakeProvider, LipServer]) -> FakeProvider:
    rig[0].script.clear()
    rig[0].received.clear()
    return rig[0]


@pytest.fixture
def lip(rig: tuple[FakeProvider, LipServer]) -> LipServer:
    return rig[1]


def upstream(fake: FakeProvider) -> dict[str, Any]:
    [got] = [r for r in fake.received if not r.path.endswith("/models")]
    body: dict[str, Any] = got.body
    return body


async def claude_code(lip: LipServer, model: str, **extra: Any) -> None:
    """A Claude Code request: a thinking budget (and effort) on every request, whatever the model."""
    await lip.anthropic().messages.create(
        model=model,
        max_tokens=extra.pop("max_tokens", 32000),
        messages=[{"role": "user", "content": extra.pop("content", "hi")}],
        thinking={"type": "enabled", "budget_tokens": 31999},
        extra_body={"output_config": {"effort": "high"}},
        timeout=60,  # the SDK refuses a large max_tokens without a stream unless the caller sets a timeout
        **extra,
    )


@pytest.mark.parametrize(
    ("model", "effort"),
    [("oai:gpt-4o", None), ("oai:gpt-4o-mini", None), ("oai:gpt-5", "high"), ("tuned:gpt-4o", "high")],
)
async def test_reasoning_parameters_reach_only_a_reasoning_model(
    lip: LipServer, fake: FakeProvider, model: str, effort: str | None
) -> None:
    await claude_code(lip, model)
    assert upstream(fake).get("reasoning_effort") == effort


async def test_a_responses_upstream_gets_no_reasoning_for_a_model_without_it(
    lip: LipServer, fake: FakeProvider
) -> None:
    await claude_code(lip, "oresp:gpt-4.1")
    assert "reasoning" not in upstream(fake)
    fake.received.clear()
    await claude_code(lip, "oresp:o3")
    assert upstream(fake)["reasoning"]["effort"] == "high"


async def test_a_chat_client_on_a_chat_backend_is_relayed_as_it_sent(lip: LipServer, fake: FakeProvider) -> None:
    """Passthrough: the body is the client's own; lip fits translated requests only."""
    await lip.openai().chat.completions.create(
        model="oai:gpt-4o", messages=[{"role": "user", "content": "hi"}], reasoning_effort="low"
    )
    assert upstream(fake)["reasoning_effort"] == "low"


@pytest.mark.parametrize(
    ("model", "asked", "sent"),
    [
        ("an:claude-sonnet-4-5-20250929", None, 64000),  # the model's limit, not 4096
        ("an:claude-opus-4-1-20250805", None, 32000),
        ("an:claude-3-5-haiku-20241022", None, 8192),
        ("an:claude-unknown", None, 4096),  # nothing known: lip's fallback
        ("an:claude-sonnet-4-5-20250929", 100000, 64000),  # clamped
        ("an:claude-sonnet-4-5-20250929", 2000, 2000),
    ],
)
async def test_max_tokens_towards_anthropic(
    lip: LipServer, fake: FakeProvider, model: str, asked: int | None, sent: int
) -> None:
    """Codex sends no max_output_tokens; Anthropic requires max_tokens: the model's output limit is the default."""
    extra = {} if asked is None else {"max_output_tokens": asked}
    await lip.openai().responses.create(model=model, input="write the patch", **extra)
    assert upstream(fake)["max_tokens"] == sent


async def test_a_thinking_budget_fits_under_the_output_limit(lip: LipServer, fake: FakeProvider) -> None:
    await lip.openai().responses.create(
        model="an:claude-3-7-sonnet-20250219", input="think hard", reasoning={"effort": "high"}
    )
    body = upstream(fake)
    assert body["max_tokens"] == 64000 and body["thinking"]["budget_tokens"] < 64000


@pytest.mark.parametrize(("model", "sent"), [("oai:gpt-4o", 16384), ("cust:thinker-1", 2000), ("cust:big", 32000)])
async def test_max_tokens_are_clamped_to_the_output_limit(
    lip: LipServer, fake: FakeProvider, model: str, sent: int
) -> None:
    await claude_code(lip, model)
    body = upstream(fake)
    assert body.get("max_completion_tokens", body.get("max_tokens")) == sent


async def test_an_image_to_a_text_only_model_is_refused_naming_the_part(lip: LipServer, fake: FakeProvider) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG}}
    content = [{"type": "text", "text": "what is this?"}, image]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await claude_code(lip, "cust:text-only", content=content)
    error = caught.value
    assert error.status_code == 400 and error.body["type"] == "error"  # type: ignore[index]
    message = error.body["error"]["message"]  # type: ignore[index]
    assert "message 1 of the conversation, part 2, is an image" in message
    assert "'text-only'" in message and "'cust'" in message
    assert [r for r in fake.received if not r.path.endswith("/models")] == []


async def test_an_image_in_a_tool_result_is_named_too(lip: LipServer, fake: FakeProvider) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        await lip.anthropic().messages.create(
            model="cust:text-only",
            max_tokens=100,
            messages=[
                {"role": "user", "content": "look"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [image]}]},
            ],
            tools=[{"name": "shot", "input_schema": {"type": "object"}}],
            timeout=60,
        )
    assert "message 3 of the conversation, part 1, is a tool result holding an image" in str(caught.value)


async def test_an_image_to_a_vision_model_goes_through(lip: LipServer, fake: FakeProvider) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG}}
    await claude_code(lip, "cust:big", content=[{"type": "text", "text": "what is this?"}, image])
    assert upstream(fake)["messages"][0]["content"][1]["type"] == "image_url"


async def test_the_listing_carries_context_window_and_output_limit(lip: LipServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(lip.url + "/v1/models") as response:
            openai_shape = {m["id"]: m for m in (await response.json())["data"]}
        async with http.get(lip.url + "/v1/models", headers={"anthropic-version": "2023-06-01"}) as response:
            anthropic_shape = {m["id"]: m for m in (await response.json())["data"]}
    assert openai_shape["oai:gpt-4o"]["context_window"] == 128000
    assert openai_shape["oai:gpt-4o"]["max_output_tokens"] == 16384
    assert openai_shape["cust:big"]["context_window"] == 8000 and "max_output_tokens" not in openai_shape["cust:big"]
    assert openai_shape["cust:text-only"]["max_output_tokens"] == 1000
    assert anthropic_shape["oai:gpt-4o"]["max_input_tokens"] == 128000
    assert anthropic_shape["oai:gpt-4o"]["max_tokens"] == 16384
    assert anthropic_shape["cust:big"]["max_tokens"] is None
    anthropic.types.ModelInfo.model_validate(anthropic_shape["oai:gpt-4o"])  # the SDK's own type
