"""A canary secret in every key variable never appears in logs (any level), metrics, diagnostics, errors, or the
output of check-config and routes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from lip.cli import main
from tests.fakes import DisconnectAfter, ErrorMidStream, Fail, FakeProvider, HtmlErrorPage, Stall, Turn
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.operate import call, raw_exchange, write_config

TIMEOUTS = {"first_byte_s": 0.3, "idle_s": 0.3}
MODELS = {"source": "inline", "items": [{"native_id": "m"}]}
ENV = {
    "LIP_API_KEY": CANARY,
    "LIP_API_KEY_2": CANARY + "-2",
    "P_KEY": CANARY,
    "P_KEY_2": CANARY + "-p2",
    "Q_KEY": CANARY + "-q",
}
AUTH = {"Authorization": f"Bearer {CANARY}"}
MESSAGES = [{"role": "user", "content": "hi"}]


def config(fake: FakeProvider) -> dict[str, object]:
    rows = [
        backend_row("p", fake.url + "/v1", key_root="P_KEY", timeouts=TIMEOUTS),
        backend_row("q", fake.url, kind="custom-anthropic-compatible", key_root="Q_KEY", models=MODELS),
    ]
    return {"plugins": {"backends": rows}}


async def test_the_canary_never_shows(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    fake = FakeProvider(keys={CANARY: Fail(401), CANARY + "-p2": None, CANARY + "-q": None})
    async with fake:
        echo = {"error": {"message": f"Incorrect API key provided: {CANARY}-p2", "type": "invalid_request_error"}}
        fake.script.extend(
            [Turn(), Fail(400, body=echo), HtmlErrorPage(502), Stall(1), DisconnectAfter(1), Fail(429), Turn()]
        )
        async with run_lip(config(fake), ENV) as lip:
            for model, stream in [("p:m", False)] * 4 + [("p:m", True), ("p:m", False), ("q:m", True), ("x:y", False)]:
                body = {"model": model, "stream": stream, "max_tokens": 9, "messages": MESSAGES}
                seen.append((await call(lip.url + "/v1/chat/completions", body, headers=AUTH)).body.decode())
            wrong_key = {"x-api-key": CANARY[:-1]}
            seen.append((await call(lip.url + "/v1/chat/completions", {}, headers=wrong_key)).body.decode())
            gets = [r.resource.canonical for r in lip.app.router.routes() if r.method == "GET" and r.resource]
            diagnostics = any("diagnostics" in path for path in gets)
            for path in gets:
                if "{" not in path:
                    seen.append((await call(lip.url + path, method="GET", headers=AUTH)).body.decode())
            seen.append((await call(lip.url + "/admin/reload", headers=AUTH)).body.decode())
            # malformed requests: aiohttp's parser quotes raw bytes in its errors; the answer goes to the sender only
            await raw_exchange(lip.url, f"GET /healthz HTTP/1.1\r\nx-api-key: {CANARY}{'a' * 9000}\r\n\r\n".encode())
            await raw_exchange(lip.url, f"{CANARY} / HTTP/1.1\r\n\r\n".encode())
            await raw_exchange(
                lip.url, f"POST /v1/chat/completions HTTP/1.1\r\nx-api-key: {CANARY}\x01\r\n\r\n".encode()
            )
        path = str(tmp_path / "lip.yaml")
        write_config(path, config(fake))
        for command in (["check-config", "--config", path], ["routes", "--config", path]):
            result = CliRunner().invoke(main, command, env=ENV)
            assert result.exit_code == 0, result.output
            seen.append(result.output)
    assert any("lip_requests_total" in text for text in seen)  # /metrics was among the GETs
    assert not diagnostics or any('"backends"' in text for text in seen)
    logs = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for text in [*seen, logs]:
        assert "CANARY" not in text, text[:2000]


@pytest.mark.parametrize("kind", ["custom-openai-legacy-compatible", "custom-anthropic-compatible"])
async def test_a_key_quoted_in_a_relayed_mid_stream_error_is_redacted(kind: str) -> None:
    quoted = ErrorMidStream(after_chunks=2, status=401, message=f"Incorrect API key provided: {CANARY}-p2")
    async with FakeProvider() as fake:
        fake.script.append(quoted)
        base = fake.url if kind == "custom-anthropic-compatible" else fake.url + "/v1"
        row = backend_row("p", base, kind=kind, key_root="P_KEY", models=MODELS)
        path = "/v1/messages" if kind == "custom-anthropic-compatible" else "/v1/chat/completions"
        async with run_lip({"plugins": {"backends": [row]}}, {"P_KEY": CANARY + "-p2"}) as lip:
            body = {"model": "p:m", "stream": True, "max_tokens": 9, "messages": MESSAGES}
            reply = await call(lip.url + path, body)
    assert reply.status == 200
    assert b"Incorrect API key provided: [redacted]" in reply.body  # the error still reaches the client, keyless
    assert b"CANARY" not in reply.body
