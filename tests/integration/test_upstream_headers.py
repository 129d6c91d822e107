"""What identifies lip to a provider: one User-Agent, lip's own, unless the operator's static headers name another."""

from __future__ import annotations

from tests.fakes import FakeProvider
from tests.harness import backend_row, run_lip

MESSAGES = [{"role": "user", "content": "hi"}]


async def test_the_upstream_sees_lips_user_agent_on_generation_and_discovery(fake_provider: FakeProvider) -> None:
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1")]}}
    async with run_lip(config) as lip:
        await lip.openai().chat.completions.create(model="p:gpt-4o", messages=MESSAGES)
    [sent] = fake_provider.requests_to("/chat/completions")
    [listed] = fake_provider.requests_to("/models")
    assert sent.headers.getall("User-Agent") == ["lip/0.1"]
    assert listed.headers.getall("User-Agent") == ["lip/0.1"]


async def test_a_static_user_agent_header_replaces_lips_whatever_its_case(fake_provider: FakeProvider) -> None:
    row = backend_row("p", fake_provider.url + "/v1", headers={"user-agent": "team-gateway/2", "X-Team": "blue"})
    async with run_lip({"plugins": {"backends": [row]}}) as lip:
        await lip.openai().chat.completions.create(model="p:gpt-4o", messages=MESSAGES)
    [sent] = fake_provider.requests_to("/chat/completions")
    assert sent.headers.getall("User-Agent") == ["team-gateway/2"]
    assert sent.headers["X-Team"] == "blue"
