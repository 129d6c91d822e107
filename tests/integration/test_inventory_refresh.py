"""Discovered model lists are refreshed (``model_inventory.refresh_interval``, at least 1h: driven here through the
refresh itself): a provider's new models appear, a failed refresh keeps the last good list and shows as ``stale`` in
GET /v1/diagnostics, ``lip inventory --url`` and ``lip_inventory_refreshes_total``; a static list is never fetched."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import orjson
import pytest
from click.testing import CliRunner

from lip.cli import main
from tests.fakes import FakeProvider, HtmlErrorPage
from tests.harness import LipServer, backend_row, run_lip
from tests.integration.operate import call


def config(fake: FakeProvider, **inventory: Any) -> dict[str, Any]:
    rows = [
        backend_row("p", fake.url + "/v1"),
        backend_row("s", fake.url + "/v1", models={"items": [{"native_id": "fixed"}]}),
    ]
    return {"model_inventory": inventory, "plugins": {"backends": rows}}


async def listed(lip: LipServer) -> list[str]:
    return [m.id for m in (await lip.openai().models.list()).data]


async def state(lip: LipServer) -> dict[str, Any]:
    described = orjson.loads((await call(lip.url + "/v1/diagnostics", method="GET")).body)
    [backend] = [b for b in described["backends"] if b["id"] == "p"]
    inventory: dict[str, Any] = backend["inventory"]
    return inventory


async def refreshes(lip: LipServer, outcome: str) -> float:
    metrics = (await call(lip.url + "/metrics", method="GET")).body.decode()
    prefix = f'lip_inventory_refreshes_total{{backend="p",outcome="{outcome}"}} '
    return next((float(line.removeprefix(prefix)) for line in metrics.splitlines() if line.startswith(prefix)), 0.0)


async def test_a_refresh_takes_new_models_and_a_failed_one_keeps_the_last_list(fake_provider: FakeProvider) -> None:
    fake_provider.models = ["m1"]
    async with run_lip(config(fake_provider)) as lip:
        assert await listed(lip) == ["p:m1", "s:fixed"]
        fake_provider.models = ["m1", "m2"]
        await lip.runtime.inventory.refresh()
        assert await listed(lip) == ["p:m1", "p:m2", "s:fixed"]
        assert (await state(lip))["state"] == "ready"

        fake_provider.models_behaviour = HtmlErrorPage(503)
        await lip.runtime.inventory.refresh()
        assert await listed(lip) == ["p:m1", "p:m2", "s:fixed"]  # the last good list, still served
        seen = await state(lip)
        assert (seen["state"], seen["models"], seen["failures"]) == ("stale", 2, 1) and "503" in seen["error"]
        assert (await refreshes(lip, "ok"), await refreshes(lip, "failed")) == (2.0, 1.0)
        routed = await lip.openai().chat.completions.create(model="m2", messages=[{"role": "user", "content": "x"}])
        assert routed.choices[0].message.content  # a bare model of the kept list still routes

        fake_provider.models_behaviour = None
        fake_provider.models = ["m3"]
        await lip.runtime.inventory.refresh()
        assert await listed(lip) == ["p:m3", "s:fixed"]
        seen = await state(lip)
        assert (seen["state"], seen["error"], seen["failures"]) == ("ready", None, 1)
    assert len(fake_provider.requests_to("/models")) == 4  # start + 3 refreshes, none for the static row


async def test_a_bare_name_is_planned_from_the_list_held_now(fake_provider: FakeProvider) -> None:
    """lip keeps the attempts of a selector that draws nothing at random between requests; a list fetched since
    replaces them: a model the provider no longer lists is a 404, a new one routes, and one listed again routes."""
    fake_provider.models = ["m1", "m2"]
    turn = [{"role": "user", "content": "x"}]
    async with run_lip(config(fake_provider)) as lip:
        client = lip.openai()
        for _ in range(2):  # planned, then served from what was kept
            assert (await client.chat.completions.create(model="m2", messages=turn)).choices[0].message.content
        fake_provider.models = ["m1", "m3"]
        await lip.runtime.inventory.refresh()
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="m2", messages=turn)
        assert (await client.chat.completions.create(model="m3", messages=turn)).choices[0].message.content
        fake_provider.models = ["m2"]
        await lip.runtime.inventory.refresh()
        assert (await client.chat.completions.create(model="m2", messages=turn)).choices[0].message.content
    assert [r.body["model"] for r in fake_provider.requests_to("/chat/completions")] == ["m2", "m2", "m3", "m2"]


async def test_a_backend_that_failed_at_start_is_ready_after_a_good_refresh(fake_provider: FakeProvider) -> None:
    fake_provider.models_behaviour = HtmlErrorPage(502)
    async with run_lip(config(fake_provider)) as lip:
        assert (await state(lip))["state"] == "failed" and await listed(lip) == ["s:fixed"]
        fake_provider.models_behaviour = None
        fake_provider.models = ["m1"]
        await lip.runtime.inventory.refresh()
        assert (await state(lip))["state"] == "ready" and await listed(lip) == ["p:m1", "s:fixed"]


async def test_the_refresh_runs_unless_disabled(fake_provider: FakeProvider) -> None:
    async with run_lip(config(fake_provider, refresh_interval="30m")) as lip:
        assert lip.settings.config.model_inventory.refresh_s == 3600.0  # raised to the minimum
        task = lip.runtime._refresh
        assert task is not None and not task.done()
    assert task.cancelled()  # stopped with the runtime
    async with run_lip(config(fake_provider, refresh_enabled=False)) as lip:
        assert lip.runtime._refresh is None


async def test_lip_inventory_url_shows_a_stale_list(fake_provider: FakeProvider) -> None:
    fake_provider.models = ["m1"]
    async with run_lip(config(fake_provider)) as lip:
        fake_provider.models_behaviour = HtmlErrorPage(503)
        await lip.runtime.inventory.refresh()
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["inventory", "--url", lip.url, "--json"], catch_exceptions=False
        )
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in orjson.loads(result.stdout)["backends"]}
    assert (rows["p"]["state"], rows["p"]["models"], rows["p"]["failures"]) == ("stale", 1, 1)
    assert (rows["s"]["state"], rows["s"]["source"]) == ("ready", "inline")
