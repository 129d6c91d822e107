"""Client API keys: every endpoint but /healthz refuses a request without one, in the client's protocol shape."""

from __future__ import annotations

import re
import signal

import anthropic
import openai
import pytest
from anthropic.types.shared import ErrorResponse
from click.testing import CliRunner

from lip.cli import main
from lip.credentials import Secret
from lip.middlewares import is_loopback, matching_key, presented_key
from tests.fakes.conformance import check_anthropic_error, check_openai_error
from tests.harness import CANARY, run_lip
from tests.integration.operate import CHAT, CLIENT_KEY, call, lip_process

SECOND_KEY = "second-client-key-abcdefghijkl"
KEYS = {"LIP_API_KEY": CLIENT_KEY, "LIP_API_KEY_2": SECOND_KEY}
STUB = {"plugins": {"backends": [{"id": "local-stub", "kind": "local-stub"}]}}


def routes(app: object) -> list[tuple[str, str]]:
    """(method, path) of every route, placeholders filled in."""
    found = []
    for route in app.router.routes():  # type: ignore[attr-defined]
        if route.method == "HEAD" or route.resource is None:
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.resource.canonical)
        found.append((route.method, path))
    return found


async def test_without_keys_configured_no_key_is_needed() -> None:
    async with run_lip(STUB) as lip:
        reply = await call(lip.url + "/v1/chat/completions", CHAT)
    assert reply.status == 200


async def test_every_endpoint_refuses_without_a_key() -> None:
    async with run_lip(STUB, KEYS) as lip:
        checked = 0
        for method, path in routes(lip.app):
            reply = await call(lip.url + path, CHAT if method == "POST" else None, method=method)
            if path in ("/healthz", "/"):
                assert reply.status == 200
                continue
            assert reply.status == 401, (method, path, reply.body)
            browser = path.startswith("/ui")  # the status page: a browser asks for the key (HTTP Basic)
            assert reply.headers["WWW-Authenticate"] == ('Basic realm="lip", charset="UTF-8"' if browser else "Bearer")
            checked += 1
        wrong = await call(lip.url + "/v1/chat/completions", CHAT, headers={"Authorization": "Bearer " + "x" * 20})
    assert checked >= 5
    assert wrong.status == 401
    assert wrong.json()["error"]["message"] == "invalid API key"


async def test_the_401_is_in_the_exact_shape_of_the_paths_provider() -> None:
    """OpenAI's body for a missing or wrong key; Anthropic's with the request id, as their APIs send them."""
    async with run_lip(STUB, KEYS) as lip:
        chat = await call(lip.url + "/v1/chat/completions", CHAT)
        responses = await call(lip.url + "/v1/responses", {"model": "x", "input": "hi"}, headers={"x-api-key": "no"})
        messages = await call(lip.url + "/v1/messages", {"model": "x", "max_tokens": 5, "messages": []})
    for reply in (chat, responses):
        body = reply.json()
        check_openai_error(body)
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
        error = body["error"]
        assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, "invalid_api_key")
    body = messages.json()
    check_anthropic_error(body)
    assert set(body) == {"type", "error", "request_id"} and set(body["error"]) == {"type", "message"}
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    assert body["request_id"] == messages.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {CLIENT_KEY}"},
        {"authorization": f"bearer  {SECOND_KEY} "},
        {"x-api-key": CLIENT_KEY},
        {"api-key": SECOND_KEY},
        {"x-goog-api-key": CLIENT_KEY},
    ],
)
async def test_each_header_form_is_accepted(headers: dict[str, str]) -> None:
    async with run_lip(STUB, KEYS) as lip:
        reply = await call(lip.url + "/v1/chat/completions", CHAT, headers=headers)
    assert reply.status == 200, reply.body


async def test_official_sdks_see_an_authentication_error() -> None:
    async with run_lip(STUB, KEYS) as lip:
        good = await lip.openai(api_key=CLIENT_KEY).chat.completions.create(
            model="local-stub:echo", messages=[{"role": "user", "content": "hi"}]
        )
        with pytest.raises(openai.AuthenticationError) as openai_error:
            await lip.openai(api_key="not-the-key-at-all").chat.completions.create(
                model="local-stub:echo", messages=[{"role": "user", "content": "hi"}]
            )
        with pytest.raises(openai.AuthenticationError) as responses_error:
            await lip.openai(api_key="not-the-key-at-all").responses.create(model="local-stub:echo", input="hi")
        with pytest.raises(anthropic.AuthenticationError) as anthropic_error:
            await lip.anthropic(api_key="not-the-key-at-all").messages.create(
                model="local-stub:echo", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
    assert good.choices[0].message.content == "You said: hi"
    for caught in (openai_error.value, responses_error.value):  # the SDK parsed the body into its fields
        assert (caught.status_code, caught.type, caught.code, caught.param) == (
            401,
            "invalid_request_error",
            "invalid_api_key",
            None,
        )
        assert caught.message.endswith("invalid API key") and "not-the-key" not in str(caught)
    refused = anthropic_error.value
    assert refused.status_code == 401 and isinstance(refused.body, dict)
    parsed = ErrorResponse.model_validate(refused.body)
    assert parsed.error.type == "authentication_error" and parsed.error.message == "invalid API key"
    assert parsed.request_id and parsed.request_id == refused.response.headers["X-Request-ID"]


@pytest.mark.parametrize("keys", [{}, KEYS], ids=["no-keys", "keys"])
async def test_the_root_answers_200_to_get_and_head_without_a_key(keys: dict[str, str]) -> None:
    """Claude Code probes the base URL with ``HEAD /`` when it starts."""
    async with run_lip(STUB, keys) as lip:
        head = await call(lip.url + "/", method="HEAD")
        get = await call(lip.url + "/", method="GET")
    assert head.status == 200 and head.body == b""
    assert get.status == 200 and get.json() == {"status": "ok", "service": "lip"}


async def test_odd_key_bytes_are_a_401_not_a_500() -> None:
    async with run_lip(STUB, KEYS) as lip:
        reply = await call(lip.url + "/v1/chat/completions", CHAT, headers={"x-api-key": "\xff\xfe key é"})
    assert reply.status == 401


async def test_the_client_key_is_not_forwarded_upstream(fake_provider: object) -> None:
    from tests.fakes import FakeProvider
    from tests.harness import backend_row

    assert isinstance(fake_provider, FakeProvider)
    config = {"plugins": {"backends": [backend_row("p", fake_provider.url + "/v1", key_root="P_KEY")]}}
    async with run_lip(config, {**KEYS, "P_KEY": CANARY}) as lip:
        body = {**CHAT, "model": "p:gpt-4o"}
        reply = await call(lip.url + "/v1/chat/completions", body, headers={"x-api-key": CLIENT_KEY})
    assert reply.status == 200
    sent = fake_provider.last.headers
    assert CLIENT_KEY not in str(dict(sent))
    assert sent["Authorization"] == "Bearer " + CANARY


def test_key_matching_rules() -> None:
    keys = [Secret(CLIENT_KEY), Secret(SECOND_KEY)]
    assert matching_key(keys, CLIENT_KEY) == 1
    assert matching_key(keys, SECOND_KEY) == 2
    assert matching_key(keys, CLIENT_KEY[:-1]) is None
    assert matching_key(keys, "\udcff") is None
    assert presented_key({"Authorization": "Basic abc", "x-api-key": "k"}) == "k"
    assert presented_key({"Authorization": "Basic dXNlcjpzZWNyZXQ="}) == "secret"  # user:secret
    assert presented_key({"Authorization": "Bearer "}) is None
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "127.9.9.9"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "example.com", ""))


def test_serve_refuses_a_public_address_without_keys() -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "1"], env={"LIP_API_KEY": ""})
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0" in output
    assert "export LIP_API_KEY=" in output and "--insecure-no-auth" in output


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["check-config"]])
def test_a_short_client_key_is_a_configuration_error(command: list[str]) -> None:
    env = {"LIP_API_KEY": CLIENT_KEY, "LIP_API_KEY_2": "short-key"}
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1
    assert "LIP_API_KEY_2 is shorter than 16 characters" in " ".join(result.output.split())
    assert "short-key" not in result.output and CLIENT_KEY not in result.output


def test_check_config_says_whether_client_keys_are_required() -> None:
    required = CliRunner().invoke(main, ["check-config"], env=KEYS)
    open_ = CliRunner().invoke(main, ["check-config"], env={"LIP_API_KEY": ""})
    assert "client access: client keys required (LIP_API_KEY, LIP_API_KEY_2)" in required.output
    assert "client access: no client keys (loopback only)" in open_.output
    assert CLIENT_KEY not in required.output


async def test_insecure_no_auth_serves_a_public_address_and_says_so_loudly() -> None:
    async with lip_process(STUB, args=["--host", "0.0.0.0", "--insecure-no-auth"]) as lip:
        reply = await call(lip.url + "/v1/chat/completions", CHAT)
        lip.signal(signal.SIGTERM)
        assert await lip.wait() == 0
    assert reply.status == 200
    assert "WARNING" in lip.log and "INSECURE: serving 0.0.0.0 with no client authentication" in lip.log
