"""Sticky routes through a real lip: with ``{affinity=session}`` a conversation's weighted pick stays the same across
its requests, moves (and stays moved) when its leaf fails before output, follows a Responses chain by
``previous_response_id`` alone, and holds across two lip processes sharing a real Redis; ``{affinity=client}``
sticks per client key; the metric counts hits. The fakes record which leaf and which API key each request reached."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from tests.fakes import Fail, FakeProvider, Turn
from tests.fakes.fixtures import FakeProviderFactory
from tests.fakes.view import RequestView
from tests.harness import LipServer, backend_row, run_lip
from tests.integration.operate import call, lip_process
from tests.integration.test_metrics import sample, scrape
from tests.redisd import RedisServer

STATIC = {"source": "inline", "items": [{"native_id": "m"}]}
KEYS = {"A_KEY": "a-one", "A_KEY_2": "a-two", "A_KEY_3": "a-three", "B_KEY": "b-one", "B_KEY_2": "b-two"}
EVEN = "{affinity=session}[weight=1]a:m^[weight=1]b:m"
HEAVY_A = "{affinity=session}[weight=1000]a:m^[weight=1]b:m"  # without a binding, A is drawn first


class Leaf:
    """A fake provider that answers with its own name, or fails with 503 while ``down``."""

    def __init__(self, fake: FakeProvider, name: str) -> None:
        self.fake = fake
        self.name = name
        self.down = False
        fake.responder = self.answer

    def answer(self, view: RequestView) -> Any:
        return Fail(503) if self.down else Turn(text=self.name)

    def keys(self) -> list[str]:
        return [r.headers["Authorization"].removeprefix("Bearer ") for r in self.fake.requests_to("/chat/completions")]


@pytest.fixture
async def leaves(fake_provider_factory: FakeProviderFactory) -> tuple[Leaf, Leaf]:
    return Leaf(await fake_provider_factory(), "A"), Leaf(await fake_provider_factory(), "B")


def config(a: Leaf, b: Leaf, **extra: Any) -> dict[str, Any]:
    rows = [
        backend_row("a", a.fake.url + "/v1", key_root="A_KEY", models=STATIC),
        backend_row("b", b.fake.url + "/v1", key_root="B_KEY", models=STATIC),
    ]
    return {"plugins": {"backends": rows}, **extra}


async def ask(lip: LipServer, model: str, session: str | None, **kwargs: Any) -> str:
    headers = {"X-LIP-Session-Id": session} if session else {}
    client = lip.openai(**kwargs)
    answer = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], extra_headers=headers
    )
    return answer.choices[0].message.content or ""


async def test_each_session_keeps_its_weighted_pick_and_its_key(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    sessions = [f"session-{n}" for n in range(12)]
    async with run_lip(config(a, b), KEYS) as lip:
        served = {s: [await ask(lip, EVEN, s) for _ in range(4)] for s in sessions}
        text = await scrape(lip.url)
    assert all(len(set(answers)) == 1 for answers in served.values()), served  # every session on one leaf
    assert {answers[0] for answers in served.values()} == {"A", "B"}, "the weights still spread the sessions"
    for leaf in (a, b):  # each session kept one API key: a leaf's keys come in runs of four
        used = leaf.keys()
        assert all(len(set(used[i : i + 4])) == 1 for i in range(0, len(used), 4)), used
    assert sample(text, "lip_affinity_requests_total", outcome="new") == len(sessions)
    assert sample(text, "lip_affinity_requests_total", outcome="hit") == 3 * len(sessions)
    assert sample(text, "lip_affinity_requests_total", outcome="moved") is None


async def test_without_affinity_the_same_session_is_drawn_anew(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    async with run_lip(config(a, b), KEYS) as lip:
        answers = {await ask(lip, "[weight=1]a:m^[weight=1]b:m", "one") for _ in range(30)}
    assert answers == {"A", "B"}


async def test_a_session_whose_leaf_fails_moves_and_stays_moved(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    async with run_lip(config(a, b), KEYS) as lip:
        assert await ask(lip, HEAVY_A, "s") == "A"
        a.down = True
        assert await ask(lip, HEAVY_A, "s") == "B"  # failed over before output: B is bound now
        a.down = False
        assert [await ask(lip, HEAVY_A, "s") for _ in range(3)] == ["B"] * 3
        text = await scrape(lip.url)
    assert sample(text, "lip_affinity_requests_total", outcome="moved") == 1
    assert sample(text, "lip_affinity_requests_total", outcome="hit") == 3


async def test_a_request_without_a_session_is_served_unsticky_or_refused(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    async with run_lip(config(a, b), KEYS) as lip:
        assert await ask(lip, HEAVY_A, None) == "A"
        text = await scrape(lip.url)
    assert sample(text, "lip_affinity_requests_total", outcome="unidentified") == 1
    strict = config(a, b, routing={"affinity": {"missing_identity": "fail_closed"}})
    async with run_lip(strict, KEYS) as lip:
        with pytest.raises(openai.BadRequestError) as refused:
            await ask(lip, HEAVY_A, None)
        assert await ask(lip, HEAVY_A, "named") == "A"
    assert refused.value.body["param"] == "model"  # type: ignore[index]
    assert "X-LIP-Session-Id" in refused.value.body["message"]  # type: ignore[index]


async def test_client_affinity_sticks_per_client_key(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    env = {**KEYS, **{f"LIP_API_KEY{'' if n == 1 else f'_{n}'}": f"client-{n}" for n in range(1, 9)}}
    async with run_lip(config(a, b), env) as lip:
        served = {
            n: {await ask(lip, "{client_sticky}a:m^b:m", None, api_key=f"client-{n}") for _ in range(3)}
            for n in range(1, 9)
        }
    assert all(len(answers) == 1 for answers in served.values()), served
    assert set.union(*served.values()) == {"A", "B"}


async def test_a_responses_chain_sticks_by_previous_response_id_alone(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    async with run_lip(config(a, b), KEYS) as lip:
        client = lip.openai()
        a.down = True
        first = await client.responses.create(model=HEAVY_A, input="one")
        a.down = False
        previous, served = first.id, [first.output_text]
        for turn in range(3):
            reply = await client.responses.create(model=HEAVY_A, input=f"turn {turn}", previous_response_id=previous)
            previous = reply.id
            served.append(reply.output_text)
    assert served == ["B"] * 4


async def test_two_lip_processes_share_a_sessions_binding_through_redis(
    leaves: tuple[Leaf, Leaf], redis_server: RedisServer
) -> None:
    a, b = leaves
    shared = config(a, b, store={"kind": "redis", "prefix": "affinity:", "timeout_s": 2})
    env = {**KEYS, "LIP_REDIS_URL": redis_server.url}
    body = {"model": HEAVY_A, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"X-LIP-Session-Id": "across"}
    async with lip_process(shared, env, ready_timeout=60) as one, lip_process(shared, env, ready_timeout=60) as two:
        a.down = True  # the first request fails over to B, which is bound in Redis
        first = await call(one.url + "/v1/chat/completions", body, headers=headers)
        a.down = False
        rest = await asyncio.gather(
            *(call(lip.url + "/v1/chat/completions", body, headers=headers) for lip in (two, one, two, two))
        )
    answers = [r.json()["choices"][0]["message"]["content"] for r in (first, *rest)]
    assert answers == ["B"] * 5  # the other process would have drawn A without the shared binding
    assert len(set(b.keys())) == 1  # and every process started from the same key


FIRST_B = "[first]b:m^[weight=1000]a:m"  # a session's first request goes to B, every later one is drawn (A)


async def test_first_steers_each_sessions_first_request_once_it_opened(leaves: tuple[Leaf, Leaf]) -> None:
    a, b = leaves
    async with run_lip(config(a, b), KEYS) as lip:
        one = [await ask(lip, FIRST_B, "one") for _ in range(3)]
        two = [await ask(lip, FIRST_B, "two") for _ in range(2)]
        unnamed = {await ask(lip, FIRST_B, None) for _ in range(5)}  # no session: never steered
        b.down = True
        failed_over = await ask(lip, FIRST_B, "three")  # [first] failed before output: not consumed
        b.down = False
        three = [await ask(lip, FIRST_B, "three") for _ in range(2)]
        text = await scrape(lip.url)
    assert (one, two, unnamed) == (["B", "A", "A"], ["B", "A"], {"A"})
    assert (failed_over, three) == ("A", ["B", "A"])
    assert sample(text, "lip_affinity_requests_total", outcome="unidentified") is None  # no affinity asked


async def test_two_lip_processes_share_a_sessions_first_request_through_redis(
    leaves: tuple[Leaf, Leaf], redis_server: RedisServer
) -> None:
    a, b = leaves
    shared = config(a, b, store={"kind": "redis", "prefix": "first:", "timeout_s": 2})
    env = {**KEYS, "LIP_REDIS_URL": redis_server.url}
    body = {"model": FIRST_B, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"X-LIP-Session-Id": "across"}
    async with lip_process(shared, env, ready_timeout=60) as one, lip_process(shared, env, ready_timeout=60) as two:
        first = await call(one.url + "/v1/chat/completions", body, headers=headers)
        rest = [await call(lip.url + "/v1/chat/completions", body, headers=headers) for lip in (two, one, two)]
    answers = [r.json()["choices"][0]["message"]["content"] for r in (first, *rest)]
    assert answers == ["B", "A", "A", "A"]  # the second process would have steered its own first request to B
