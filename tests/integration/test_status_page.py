"""GET /ui, the live status page: off unless enabled; behind an admin key (HTTP Basic for a browser) when keys are
set; its JSON shows backends (key counts, never keys), recent requests, rates and usage per key; and a real headless
Chromium (Debian's ``chromium``; CI installs it) renders it after a few requests, client text as text, and saves a
screenshot."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from lip.clientkeys import digest
from lip.observability import OBSERVABILITY
from tests.fakes import Fail, FakeProvider, Turn
from tests.harness import CANARY, backend_row, run_lip
from tests.integration.operate import CLIENT_KEY, call

MODELS = {"source": "inline", "items": [{"native_id": "gpt-4o"}, {"native_id": "gpt-4o-mini"}]}
STUB = {"id": "local-stub", "kind": "local-stub"}
MEMBER = "member-key-" + "m" * 24
HOSTILE = "<img src=x onerror=document.title='pwned'>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def basic(key: str, user: str = "admin") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def config(fake: FakeProvider, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    keys = tmp_path / "keys.yaml"
    keys.write_text(yaml.safe_dump({"keys": [{"name": "member", "sha256": digest(MEMBER), "rpm": 100}]}))
    row = backend_row("p", fake.url + "/v1", models=MODELS, key_root="P_KEY")
    return {
        "server": {"client_keys_file": str(keys)},
        "plugins": {"backends": [row, STUB]},
        "ui": {"enabled": True},
        **extra,
    }


async def test_off_unless_enabled() -> None:
    async with run_lip({"plugins": {"backends": [STUB]}}) as lip:
        page = await call(lip.url + "/ui", method="GET")
        state = await call(lip.url + "/ui/state", method="GET")
        board = lip.app[OBSERVABILITY].board
    assert page.status == 404 and state.status == 404
    assert "ui.enabled: true" in page.json()["error"]["message"]
    assert board is None  # nothing is recorded per request


async def test_behind_an_admin_key_and_the_state_it_shows(tmp_path: Path) -> None:
    keys = {"key-one-000000": Fail(429, headers={"Retry-After": "60"}), CANARY: None}
    async with FakeProvider(keys=keys) as fake:
        fake.script.extend([Turn(), Turn()])
        env = {"LIP_API_KEY": CLIENT_KEY, "P_KEY": "key-one-000000", "P_KEY_2": CANARY}
        async with run_lip(config(fake, tmp_path), env) as lip:
            anonymous = await call(lip.url + "/ui", method="GET")
            member = await call(lip.url + "/ui", method="GET", headers=basic(MEMBER))
            page = await call(lip.url + "/ui", method="GET", headers=basic(CLIENT_KEY))
            auth = {"Authorization": f"Bearer {MEMBER}"}
            for model in ("p:gpt-4o", "p:gpt-4o", "local-stub:echo", "nope:x"):
                await call(lip.url + "/v1/chat/completions", chat(model), headers=auth)
            state = await call(lip.url + "/ui/state", method="GET", headers=basic(CLIENT_KEY, user=""))
    assert anonymous.status == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    assert member.status == 403 and member.json()["error"]["code"] == "admin_only"
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert b"http://" not in page.body and b"https://" not in page.body  # nothing from a CDN
    body = state.json()
    backends = {b["id"]: b for b in body["backends"]}
    assert backends["p"]["keys"] == {"total": 2, "usable": 1, "cooling": 1, "disabled": 0}
    assert backends["p"]["models"]["names"] == ["gpt-4o", "gpt-4o-mini"] and backends["p"]["health"] == "up"
    assert backends["local-stub"]["circuit"] == "closed"
    recent = body["recent"]
    assert [r["selector"] for r in recent] == ["nope:x", "local-stub:echo", "p:gpt-4o", "p:gpt-4o"]
    assert recent[0]["status"] == 404 and recent[0]["key"] == "member" and recent[0]["backend"] is None
    assert recent[1]["tokens_in"] == 8 and recent[1]["ttft_ms"] is not None and recent[1]["latency_ms"] > 0
    assert sum(r["requests"] for r in body["rates"]) == 4 and sum(r["errors"] for r in body["rates"]) == 1
    member_row = next(k for k in body["keys"] if k["name"] == "member")
    assert member_row["usage"]["requests"] == 4 and member_row["windows"]["requests_this_minute"] == 4
    text = state.body.decode()
    for secret in (CANARY, "key-one-000000", MEMBER, CLIENT_KEY, digest(MEMBER)):
        assert secret not in text


async def chromium(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM or "chromium",
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=4000",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "HOME": os.environ.get("TMPDIR", "/tmp")},
    )
    out, _ = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0
    return out.decode()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed here (`.ci/run` installs it)")
async def test_chromium_renders_the_live_page(tmp_path: Path) -> None:
    async with FakeProvider() as fake:
        fake.script.extend([Turn(text="one two three"), Fail(500)])
        row = backend_row("p", fake.url + "/v1", models=MODELS)
        async with run_lip({"plugins": {"backends": [row, STUB]}, "ui": {"enabled": True}}) as lip:
            for model in ("p:gpt-4o", "p:gpt-4o-mini", "local-stub:echo", HOSTILE):
                await call(lip.url + "/v1/chat/completions", chat(model))
            dom = await chromium("--dump-dom", lip.url + "/ui")
            shot = tmp_path / "ui.png"
            await chromium(f"--screenshot={shot}", "--window-size=1400,1100", lip.url + "/ui")
    assert "<title>lip status</title>" in dom and "updated " in dom and 'id="meta">cannot read' not in dom
    for text in ("local-stub:echo", "p:gpt-4o-mini", "gpt-4o, gpt-4o-mini", "upstream_status", ">up<", ">closed<"):
        assert text in dom, text
    assert "&lt;img src=x" in dom and "pwned" not in dom.split("<title>")[1].split("</title>")[0]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep = os.environ.get("LIP_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "ui.png")
