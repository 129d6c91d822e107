"""Named client keys from a keys file (SHA-256 only): which models each key may use, its limits (429 in the
client's shape with Retry-After and the rate-limit headers its SDK reads), usage per key in /metrics, the access
log and /admin/usage, and ``lip keys add`` / ``lip keys list``."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import yaml
from click.testing import CliRunner

from lip.cli import main
from lip.clientkeys import digest
from tests.harness import CANARY, run_lip
from tests.integration.operate import CLIENT_KEY, call, run_lip_file, write_config
from tests.integration.test_metrics import sample, scrape

ALICE, BOB, CAROL = "alice-key-" + "a" * 24, "bob-key-" + "b" * 24, CANARY + "-carol-0000"
STUBS = [
    {"id": "a", "kind": "local-stub", "config": {"backend_prefix": "stub-a"}},
    {"id": "b", "kind": "local-stub", "config": {"backend_prefix": "stub-b"}},
]


def keys_config(tmp_path: Path, *rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A config of two stubs whose keys file holds ``rows`` (each with its ``key`` replaced by its hash)."""
    path = tmp_path / "keys.yaml"
    hashed = [{**{k: v for k, v in row.items() if k != "key"}, "sha256": digest(row["key"])} for row in rows]
    path.write_text(yaml.safe_dump({"keys": hashed}))
    return {"server": {"client_keys_file": str(path)}, "plugins": {"backends": copy.deepcopy(STUBS)}, **extra}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(model: str = "stub-a:echo", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


async def test_a_key_sees_and_reaches_only_its_models(tmp_path: Path) -> None:
    config = keys_config(
        tmp_path,
        {"name": "alice", "key": ALICE, "models": ["stub-a"]},
        {"name": "bob", "key": BOB, "models": ["stub-b:h*"]},
    )
    async with run_lip(config) as lip:
        alice_models = [m.id async for m in lip.openai(api_key=ALICE).models.list()]
        bob_models = (await lip.anthropic(api_key=BOB).models.list()).data
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await lip.openai(api_key=ALICE).chat.completions.create(**chat("stub-b:hello"))
        with pytest.raises(anthropic.PermissionDeniedError) as refused_anthropic:
            await lip.anthropic(api_key=BOB).messages.create(
                model="stub-b:echo", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        allowed = await lip.openai(api_key=BOB).chat.completions.create(**chat("stub-b:hello"))
        unknown = await call(lip.url + "/v1/chat/completions", chat(), headers=bearer("x" * 30))
    assert sorted(alice_models) == ["stub-a:echo", "stub-a:hello"]
    assert [m.id for m in bob_models] == ["stub-b:hello"]
    assert refused.value.status_code == 403 and "'alice' may not use the model 'stub-b:hello'" in str(refused.value)
    assert refused_anthropic.value.body["error"]["type"] == "permission_error"  # type: ignore[index]
    assert allowed.choices[0].message.content
    assert unknown.status == 401


async def test_a_failover_chain_skips_what_the_key_may_not_use(tmp_path: Path) -> None:
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "models": ["stub-b"]})
    async with run_lip(config) as lip:
        reply = await call(lip.url + "/v1/chat/completions", chat("stub-a:echo|stub-b:echo"), headers=bearer(ALICE))
    assert reply.status == 200 and reply.headers["x-lip-backend"] == "stub-b:echo"


async def within_one_minute(needed_s: float = 10.0) -> None:
    """Into the next wall-clock minute when this one has less than ``needed_s`` left: the per-minute windows are the
    wall-clock minute (lip.quotas), and a test that fills one must not find it emptied halfway."""
    left = 60.0 - time.time() % 60.0
    if left < needed_s:
        await asyncio.sleep(left + 0.05)


async def test_requests_per_minute_openai_shape_and_headers(tmp_path: Path) -> None:
    await within_one_minute()
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "rpm": 2}, {"name": "bob", "key": BOB})
    async with run_lip(config) as lip:
        client = lip.openai(api_key=ALICE)
        for _ in range(2):
            await client.chat.completions.create(**chat())
        with pytest.raises(openai.RateLimitError) as limited:
            await client.chat.completions.create(**chat())
        other = await lip.openai(api_key=BOB).chat.completions.create(**chat())  # bob has no limit
    headers = limited.value.response.headers
    body = limited.value.body
    assert isinstance(body, dict) and body["code"] == "rate_limit_exceeded" and body["type"] == "rate_limit_error"
    assert "2 requests per minute" in body["message"]
    assert 1 <= int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-limit-requests"] == "2" and headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"].endswith("s")
    assert other.choices[0].message.content


async def test_requests_per_minute_anthropic_shape_and_headers(tmp_path: Path) -> None:
    await within_one_minute()
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "rpm": 1})
    async with run_lip(config) as lip:
        client = lip.anthropic(api_key=ALICE)
        ask = {"model": "stub-a:echo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        await client.messages.create(**ask)  # type: ignore[arg-type]
        with pytest.raises(anthropic.RateLimitError) as limited:
            await client.messages.create(**ask)  # type: ignore[arg-type]
    headers = limited.value.response.headers
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert headers["anthropic-ratelimit-requests-limit"] == "1"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-reset"].endswith("Z") and "retry-after" in headers
    assert "x-ratelimit-limit-requests" not in headers


async def until_refused(url: str, key: str, attempts: int = 20) -> tuple[int, Any]:
    """Requests until one is refused (the token counts are written just after each answer): (answered, refusal)."""
    for answered in range(attempts):
        reply = await call(url + "/v1/chat/completions", chat(), headers=bearer(key))
        if reply.status == 429:
            return answered, reply
        assert reply.status == 200
        await asyncio.sleep(0.3)  # the tokens are counted just after the answer, in the background
    raise AssertionError("never refused")


async def test_tokens_per_minute_count_what_the_upstream_reported(tmp_path: Path) -> None:
    await within_one_minute()
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "tpm": 30})  # the stub: 8 in, 3 out a request
    async with run_lip(config) as lip:
        answered, refusal = await until_refused(lip.url, ALICE)
        report = await call(lip.url + "/admin/usage", method="GET", headers=bearer(ALICE))
    assert answered == 3  # 11, 22, 33 tokens: the third crossed the limit, the fourth is refused
    assert refusal.headers["x-ratelimit-limit-tokens"] == "30"
    assert "30 tokens per minute" in refusal.json()["error"]["message"]
    assert report.status == 403  # alice is no admin


async def test_tokens_per_day(tmp_path: Path) -> None:
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "tokens_per_day": 1})
    async with run_lip(config) as lip:
        answered, refusal = await until_refused(lip.url, ALICE)
    assert answered == 1 and "1 tokens per day" in refusal.json()["error"]["message"]
    assert int(refusal.headers["Retry-After"]) <= 86400


async def test_max_concurrent_requests(tmp_path: Path) -> None:
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "max_concurrent": 1})
    config["plugins"]["backends"][0]["config"]["chunk_delay_s"] = 0.3
    async with run_lip(config) as lip:
        held = asyncio.create_task(call(lip.url + "/v1/chat/completions", chat(stream=True), headers=bearer(ALICE)))
        await asyncio.sleep(0.15)
        second = await call(lip.url + "/v1/chat/completions", chat(), headers=bearer(ALICE))
        first = await held
        third = await call(lip.url + "/v1/chat/completions", chat("stub-b:echo"), headers=bearer(ALICE))
    assert first.status == 200 and third.status == 200  # the slot is given back
    assert second.status == 429 and "1 requests in flight" in second.json()["error"]["message"]
    assert second.headers["Retry-After"] == "1"


async def test_limits_are_shared_through_redis(tmp_path: Path, redis_server: Any) -> None:
    """Two lips (as two replicas) on one Redis: 12 requests at once against rpm 5 answer exactly 5."""
    await within_one_minute()
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE, "rpm": 5}, store={"kind": "redis"})
    env = {"LIP_REDIS_URL": redis_server.url}
    async with run_lip(config, env) as one, run_lip(config, env) as two:
        replies = await asyncio.gather(
            *(call(lip.url + "/v1/chat/completions", chat(), headers=bearer(ALICE)) for lip in [one, two] * 6)
        )
        report = await call(one.url + "/admin/usage", method="GET", headers=bearer(CLIENT_KEY))
    assert sorted(r.status for r in replies) == [200] * 5 + [429] * 7
    assert report.status == 401  # no env key in this config: CLIENT_KEY is no key at all


async def test_usage_per_key_in_metrics_access_log_and_admin_usage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices = {"stub-a:echo": {"input_per_mtok": 3.0, "output_per_mtok": 15.0}}
    config = keys_config(
        tmp_path,
        {"name": "alice", "key": ALICE, "models": ["stub-a"]},
        {"name": "carol", "key": CAROL, "admin": True},
        prices=prices,
    )
    caplog.set_level(logging.INFO, logger="lip.access")
    async with run_lip(config) as lip:
        for _ in range(2):
            await call(lip.url + "/v1/chat/completions", chat(), headers=bearer(ALICE))
        await call(lip.url + "/v1/chat/completions", chat("stub-b:echo"), headers=bearer(ALICE))  # not hers
        text = await scrape(lip.url, bearer(ALICE))
        report = await call(lip.url + "/admin/usage", method="GET", headers=bearer(CAROL))
    labels = {"key": "alice", "backend": "stub-a", "model": "echo"}
    assert sample(text, "lip_key_requests_total", **labels) == 2
    assert sample(text, "lip_key_tokens_total", **labels, kind="input") == 16
    assert sample(text, "lip_key_tokens_total", **labels, kind="output") == 6  # "You said: hi"
    assert sample(text, "lip_key_cost_usd_total", **labels) == pytest.approx((16 * 3 + 6 * 15) / 1e6)
    assert sample(text, "lip_key_errors_total", key="alice", backend="", model="") == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "lip.access" and "/v1/chat" in r.getMessage()]
    assert "client=alice" in lines[0] and "cost_usd=6.9e-05" in lines[0]
    assert "cost_usd" not in lines[2] and "status=403" in lines[2]
    assert report.status == 200
    keys = {entry["name"]: entry for entry in report.json()["keys"]}
    assert keys["alice"]["usage"]["total"]["requests"] == 3 and keys["alice"]["usage"]["total"]["errors"] == 1
    assert keys["carol"]["admin"] and keys["carol"]["usage"] is None
    assert CANARY not in report.body.decode() and ALICE not in report.body.decode()
    assert digest(ALICE) not in report.body.decode()


async def test_env_keys_and_file_keys_together(tmp_path: Path) -> None:
    config = keys_config(tmp_path, {"name": "alice", "key": ALICE})
    async with run_lip(config, {"LIP_API_KEY": CLIENT_KEY}) as lip:
        env = await call(lip.url + "/v1/chat/completions", chat(), headers=bearer(CLIENT_KEY))
        named = await call(lip.url + "/v1/chat/completions", chat(), headers=bearer(ALICE))
        report = await call(lip.url + "/admin/usage", method="GET", headers=bearer(CLIENT_KEY))
        refused = await call(lip.url + "/admin/reload", headers=bearer(ALICE))
    assert env.status == 200 and named.status == 200
    assert [k["name"] for k in report.json()["keys"]] == ["key1", "alice"]
    assert refused.status == 403 and refused.json()["error"]["code"] == "admin_only"


def test_keys_add_prints_the_key_once_and_keeps_only_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    runner = CliRunner()
    made = runner.invoke(main, ["keys", "add", "team-a", "--file", str(path), "--rpm", "10", "--model", "stub-a"])
    again = runner.invoke(main, ["keys", "add", "team-a", "--file", str(path)])
    bad = runner.invoke(main, ["keys", "add", "no spaces", "--file", str(path)])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()
    assert key.startswith("lip-") and len(key) > 40
    written = path.read_text()
    assert key not in written
    assert yaml.safe_load(written)["keys"] == [
        {"name": "team-a", "sha256": digest(key), "models": ["stub-a"], "rpm": 10}
    ]
    assert again.exit_code == 1 and "exists already" in again.stderr
    assert bad.exit_code == 1 and "letters, digits" in bad.stderr
    listed = runner.invoke(main, ["keys", "list", "--file", str(path)])
    assert listed.exit_code == 0 and "team-a" in listed.stdout and key not in listed.stdout
    assert digest(key) not in listed.stdout


async def test_a_key_added_with_the_cli_works_after_a_reload(tmp_path: Path) -> None:
    config_path = tmp_path / "lip.yaml"
    keys_path = tmp_path / "keys.yaml"
    keys_path.write_text("keys: []\n")
    write_config(str(config_path), {"server": {"client_keys_file": "keys.yaml"}, "plugins": {"backends": STUBS}})
    env = {"LIP_API_KEY": CLIENT_KEY}
    async with run_lip_file(str(config_path), env) as (_, url):
        made = CliRunner().invoke(main, ["keys", "add", "late", "--config", str(config_path)])
        key = made.stdout.strip()
        before = await call(url + "/v1/chat/completions", chat(), headers=bearer(key))
        reloaded = await call(url + "/admin/reload", headers=bearer(CLIENT_KEY))
        after = await call(url + "/v1/chat/completions", chat(), headers=bearer(key))
        report = await call(url + "/admin/usage", method="GET", headers=bearer(CLIENT_KEY))
        command = ["keys", "list", "--config", str(config_path), "--url", url]
        listed = await asyncio.to_thread(CliRunner().invoke, main, command, env={"LIP_API_KEY": CLIENT_KEY})
        keys_path.write_text("keys: [{name: x}]\n")
        rejected = await call(url + "/admin/reload", headers=bearer(CLIENT_KEY))
        still = await call(url + "/v1/chat/completions", chat(), headers=bearer(key))
    assert before.status == 401 and reloaded.status == 200 and after.status == 200
    late = next(entry for entry in report.json()["keys"] if entry["name"] == "late")
    assert listed.exit_code == 0, listed.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in listed.stdout.splitlines() if "late" in line]
    assert [[row[0], *row[-2:]] for row in cells] == [["late", "1", "11"]]  # requests, tokens (the stub: 8 + 3)
    assert key not in listed.stdout
    assert late["usage"]["total"]["requests"] == 1
    assert rejected.status == 422 and "keys[0].sha256" in " ".join(rejected.json()["problems"])
    assert still.status == 200


def test_check_config_names_a_bad_keys_file(tmp_path: Path) -> None:
    config_path = tmp_path / "lip.yaml"
    (tmp_path / "keys.yaml").write_text(yaml.safe_dump({"keys": [{"name": "a", "sha256": CANARY}]}))
    write_config(str(config_path), {"server": {"client_keys_file": "keys.yaml"}, "plugins": {"backends": STUBS}})
    result = CliRunner().invoke(main, ["check-config", "--config", str(config_path)])
    assert result.exit_code == 1
    assert "server.client_keys_file" in result.output and "64 lowercase hex digits" in result.output
    assert CANARY not in result.output
