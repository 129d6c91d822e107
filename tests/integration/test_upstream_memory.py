"""Memory an oversized upstream answer made lip hold is given back at once: a real ``lip serve`` (with its tuned
garbage collector, lip.heap) returns to near its baseline RSS after many over-limit answers of every kind."""

from __future__ import annotations

from typing import Any

from tests.fakes import Action, Bomb, FakeProvider, HugeLine
from tests.harness import backend_row
from tests.integration.operate import LipProcess, call, lip_process

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
BODY = {"model": "p:m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
MB = 1_000_000
KINDS: list[tuple[Action, bool]] = [  # (answer, streamed)
    (HugeLine(70 * MB), False),  # a JSON body past the 64 MiB limit
    (Bomb(70 * MB, "gzip"), False),
    (Bomb(70 * MB, "deflate"), False),
    (HugeLine(40 * MB), True),  # an SSE line past the 16 MiB event cap
    (Bomb(40 * MB, "gzip"), True),
]
ROUNDS = 6


def rss(proc: LipProcess) -> int:
    with open(f"/proc/{proc.process.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


async def test_rss_returns_to_baseline_after_over_limit_answers(fake_provider: FakeProvider) -> None:
    row = backend_row("p", fake_provider.url, kind="custom-anthropic-compatible", models=MODELS, circuit_failures=10**6)
    config: dict[str, Any] = {"plugins": {"backends": [row]}}
    async with lip_process(config) as lip:
        url = lip.url + "/v1/chat/completions"
        for _ in range(3):  # warm up: pools, caches and codecs at their working size
            assert (await call(url, BODY)).status == 200
            assert (await call(url, {**BODY, "stream": True})).status == 200
        baseline = rss(lip)
        for _ in range(ROUNDS):
            for action, stream in KINDS:
                fake_provider.script.append(action)
                reply = await call(url, {**BODY, "stream": stream}, timeout=60)
                assert reply.status == (200 if stream else 502), reply.body[:300]
        after = rss(lip)
    assert after - baseline < 150 * MB, (baseline // MB, after // MB)  # measured: 60 -> 136 MB; before the fix 1,312
