"""``routing.max_attempts`` (the Go project's field): a request tries at most that many leaves of its plan; the last
one tried answers when all of them fail."""

from __future__ import annotations

import openai
import pytest

from tests.fakes import Fail, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.harness import backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}


@pytest.mark.parametrize(("max_attempts", "tried"), [(None, 3), (2, 2), (1, 1)])
async def test_at_most_max_attempts_leaves_are_tried(
    fake_provider_factory: FakeProviderFactory, max_attempts: int | None, tried: int
) -> None:
    a, b, c = await fake_provider_factory(), await fake_provider_factory(), await fake_provider_factory()
    a.queue(Fail(503))
    b.queue(Fail(502))
    c.queue(Turn(text="charlie"))
    rows = [backend_row(n, f.url + "/v1", models=MODELS) for n, f in (("a", a), ("b", b), ("c", c))]
    routing = {"max_attempts": max_attempts} if max_attempts else {}
    async with run_lip({"routing": routing, "plugins": {"backends": rows}}) as lip:
        client = lip.openai()
        if tried == 3:
            answer = await client.chat.completions.create(model="a:m|b:m|c:m", messages=MESSAGES)
            assert answer.choices[0].message.content == "charlie"
        else:
            with pytest.raises(openai.APIStatusError) as caught:
                await client.chat.completions.create(model="a:m|b:m|c:m", messages=MESSAGES)
            assert caught.value.status_code == 502  # an upstream 5xx, as lip answers it
    assert [len(f.requests_to("/chat/completions")) for f in (a, b, c)] == [1, int(tried > 1), int(tried > 2)]
