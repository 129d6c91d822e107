"""Upstream text on its way to a client or a log passes one redaction point: a provider that quotes the backend's key
(the canary) in an error sent with status 200, in an error event of a stream, or in an error body of any status and
any framing (JSON, text, SSE) never gets it to the client or the logs, relayed or translated, streamed or not. A
successful answer that quotes the key is the model's output: it reaches the client as it is."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
import pytest_asyncio

from tests.fakes import Action, ErrorMidStream, Fail, FakeProvider, OkWithErrorBody, SSEFramedError, Turn
from tests.fakes.errors import ApiError, error_body
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.matrix import BACKENDS, CLIENTS, KIND, PREFIX, Ask, Rig, ask, matrix_params, raw_call, user

pytestmark = pytest.mark.asyncio(loop_scope="module")
QUOTED = f"your key {CANARY} is not allowed to do that"
SEEN = "your key [redacted] is not allowed to do that"
SSE_LABEL = "text/event-stream; charset=utf-8"
AFTER = {"chat": 2, "responses": 5, "anthropic": 4}  # stream events each fake sends before its error event


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def keyed_rig() -> AsyncIterator[Rig]:
    """The matrix's three backend kinds, each with the canary as its key (the fake accepts only that key)."""
    async with FakeProvider(keys={CANARY: None}) as fake:
        rows = []
        for backend in BACKENDS:
            base = fake.url if backend == "anthropic" else fake.url + "/v1"
            rows.append(
                backend_row(PREFIX[backend], base, kind=KIND[backend], key_root="UP_KEY", circuit_failures=10**5)
            )
        async with run_lip({"plugins": {"backends": rows}}, {"UP_KEY": CANARY}) as lip:
            yield Rig(fake, lip)


@pytest.fixture
def keyed(keyed_rig: Rig, caplog: pytest.LogCaptureFixture) -> Rig:
    keyed_rig.reset()
    caplog.set_level(logging.DEBUG)
    return keyed_rig


def family(backend: str) -> str:
    return "anthropic" if backend == "anthropic" else "openai"


async def failed(rig: Rig, client: str, backend: str, stream: bool, action: Action) -> Any:
    rig.fake.queue(action)
    with pytest.raises((openai.APIStatusError, anthropic.APIStatusError)) as caught:
        await ask(rig, client, backend, stream, Ask([user("hi")]))
    return caught.value


@matrix_params()
async def test_an_error_in_a_200_quoting_the_key(
    keyed: Rig, client: str, backend: str, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    error = await failed(keyed, client, backend, stream, OkWithErrorBody(message=QUOTED))
    assert error.status_code == 502
    assert CANARY not in error.response.text and SEEN in error.response.text
    warnings = [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(warnings) == 1 and SEEN in warnings[0]  # the failover warning quotes the upstream, redacted
    assert CANARY not in caplog.text


@pytest.mark.parametrize("gap", [0.0, 0.02], ids=["burst", "paced"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_an_error_event_quoting_the_key(keyed: Rig, client: str, backend: str, gap: float) -> None:
    """``paced``: the error event arrives after a gap, so a relay reads it from the upstream connection's own
    callback (lip.backends.splice)."""
    turn = Turn(text="Once upon a time", chunks=4, delay_between_chunks=gap)
    keyed.fake.queue(ErrorMidStream(AFTER[backend], 500, QUOTED, turn=turn))
    status, raw = await raw_call(keyed, client, backend, True, Ask([user("a story")]))
    assert status == 200
    assert CANARY.encode() not in raw and SEEN.encode() in raw


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_a_bare_json_error_labelled_sse_quoting_the_key(
    keyed: Rig, client: str, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 200 labelled ``text/event-stream`` whose body is the protocol's JSON error without ``data:`` framing: the
    client gets the upstream's message, redacted, in its own shape (not "the stream ended before its final
    event"), relayed or translated."""
    error = await failed(keyed, client, backend, True, OkWithErrorBody(message=QUOTED, content_type=SSE_LABEL))
    assert error.status_code == 502
    assert CANARY not in error.response.text and SEEN in error.response.text
    assert "the upstream answered HTTP 200 with an error" in error.response.text
    assert CANARY not in caplog.text


@dataclass
class Twice(Rig):
    """The keyed rig, each backend asked for as ``leaf|leaf``: a failed first attempt fails over to the same kind."""

    @staticmethod
    def selector(backend: str) -> str:
        return f"{Rig.selector(backend)}|{Rig.selector(backend)}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_a_bare_json_error_labelled_sse_fails_over_before_output(keyed: Rig, client: str, backend: str) -> None:
    keyed.fake.queue(OkWithErrorBody(message=QUOTED, content_type=SSE_LABEL), Turn(text="from the next leaf"))
    seen = await ask(Twice(keyed.fake, keyed.lip), client, backend, True, Ask([user("hi")]))
    assert seen.text == "from the next leaf"
    assert len(keyed.requests(backend)) == 2


def quoting(backend: str, framing: str, status: int) -> Action:
    if framing == "json":
        return Fail(status, error_body(family(backend), ApiError(status, QUOTED)))  # type: ignore[arg-type]
    if framing == "text":
        return Fail(status, f"upstream connect error: {QUOTED}")
    return SSEFramedError(status, QUOTED)


@pytest.mark.parametrize(("status", "stream"), [(400, False), (500, False), (500, True)], ids=["400", "500", "500s"])
@pytest.mark.parametrize("framing", ["json", "text", "sse"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("client", CLIENTS)
async def test_an_error_body_quoting_the_key(
    keyed: Rig, client: str, backend: str, framing: str, status: int, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    error = await failed(keyed, client, backend, stream, quoting(backend, framing, status))
    assert error.status_code == (400 if status == 400 else 502)
    assert CANARY not in error.response.text and SEEN in error.response.text
    assert CANARY not in caplog.text


@matrix_params()
async def test_a_successful_answer_quoting_the_key_is_not_rewritten(
    keyed: Rig, client: str, backend: str, stream: bool
) -> None:
    keyed.fake.queue(Turn(text=f"the key in your file is {CANARY}"))
    seen = await ask(keyed, client, backend, stream, Ask([user("what key is in my file?")]))
    assert seen.text == f"the key in your file is {CANARY}"
