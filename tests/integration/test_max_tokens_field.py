"""config.max_tokens_field on a Chat row: a translated request carries its max tokens in the field the row names;
a Chat client's own body is relayed as sent (passthrough), as for the openai presets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import FakeProvider
from tests.harness import backend_row, run_lip

USER = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}


def config(fake: FakeProvider, field: str | None, kind: str = "custom-openai-legacy-compatible") -> dict[str, Any]:
    extra = {} if field is None else {"max_tokens_field": field}
    prefix = "p" if kind.startswith("custom") else kind
    return {
        "plugins": {"backends": [backend_row("p", fake.url + "/v1", kind=kind, prefix=prefix, models=MODELS, **extra)]}
    }


def sent_tokens(fake: FakeProvider) -> list[dict[str, Any]]:
    """The max-tokens fields of each Chat request the upstream received."""
    fields = ("max_tokens", "max_completion_tokens")
    return [{k: v for k, v in r.body.items() if k in fields} for r in fake.requests_to("/chat/completions")]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (None, "max_tokens"),
        ("max_tokens", "max_tokens"),
        ("max_completion_tokens", "max_completion_tokens"),
    ],
)
async def test_translated_requests_use_the_rows_field(
    fake_provider: FakeProvider, field: str | None, expected: str
) -> None:
    async with run_lip(config(fake_provider, field)) as lip:
        await lip.anthropic().messages.create(model="p:m", max_tokens=300, messages=USER)
        await lip.openai().responses.create(model="p:m", input="hi", max_output_tokens=200)
    assert sent_tokens(fake_provider) == [{expected: 300}, {expected: 200}]


async def test_a_row_may_turn_a_presets_field_back_to_max_tokens(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, "max_tokens", kind="openai"), {"OPENAI_API_KEY": "k"}) as lip:
        await lip.anthropic().messages.create(model="openai:m", max_tokens=300, messages=USER)
    assert sent_tokens(fake_provider) == [{"max_tokens": 300}]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_passthrough_relays_the_clients_own_field(fake_provider: FakeProvider, field: str) -> None:
    async with run_lip(config(fake_provider, field)) as lip:
        client = lip.openai()
        await client.chat.completions.create(model="p:m", messages=USER, max_tokens=300)
        await client.chat.completions.create(model="p:m", messages=USER, max_completion_tokens=200)
    assert sent_tokens(fake_provider) == [{"max_tokens": 300}, {"max_completion_tokens": 200}]
