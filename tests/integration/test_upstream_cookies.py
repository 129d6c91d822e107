"""Providers' CDN fronts set cookies on every answer; lip's one shared upstream session must not send one client's
cookie along with another client's request."""

from __future__ import annotations

from tests.fakes import FakeProvider, Turn
from tests.harness import backend_row, run_lip
from tests.integration.operate import call

MODELS = {"source": "inline", "items": [{"native_id": "m"}]}


async def test_upstream_cookies_are_not_replayed(fake_provider: FakeProvider) -> None:
    fake_provider.script.extend([Turn(), Turn(), Turn()])
    base = fake_provider.url.replace("127.0.0.1", "localhost") + "/v1"  # a host name: cookie jars skip bare IPs
    config = {"plugins": {"backends": [backend_row("p", base, key_root="P_KEY", models=MODELS)]}}
    async with run_lip(config, {"P_KEY": "pk-0123456789"}) as lip:
        for stream in (False, True, False):
            body = {"model": "p:m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
            assert (await call(lip.url + "/v1/chat/completions", body)).status == 200
    chats = fake_provider.requests_to("/chat/completions")
    assert len(chats) == 3
    assert [r.headers.get("Cookie") for r in chats] == [None, None, None]
