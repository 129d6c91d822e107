"""The Go project's spellings read as lip's (lip.config.goshape): server.address, its renamed server fields, Go
durations, logging.level warn, a top-level model_aliases list, rows without kind, and its settings lip does not use
as warnings. A key that is neither lip's nor the Go project's stays an error."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lip.config.durations import seconds
from tests.unit.config_cases import backend_row, load, problems_of

URL = "https://api.example.com/v1"
ROW = backend_row("p1", URL)


def text(**top: Any) -> str:
    return yaml.safe_dump({"plugins": {"backends": [ROW]}, **top})


@pytest.mark.parametrize(
    ("address", "host", "port"),
    [("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:9000", "::1", 9000), (":7000", "0.0.0.0", 7000)],
)
def test_server_address_is_host_and_port(address: str, host: str, port: int) -> None:
    server = load(text(server={"address": address})).config.server
    assert (server.host, server.port) == (host, port)


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1:http", "1.2.3.4:70000", 8080])
def test_a_bad_address_is_an_error(address: object) -> None:
    [problem] = problems_of(text(server={"address": address}))
    assert "field server.address" in problem and "is not host:port" in problem


def test_address_and_host_together_are_an_error() -> None:
    [problem] = problems_of(text(server={"address": "127.0.0.1:1", "port": 2}))
    assert "field server.address" in problem and "either address or host and port" in problem


def test_renamed_server_fields_and_durations() -> None:
    server = load(text(server={"max_request_body_bytes": 1024, "shutdown_timeout": "1m30s"})).config.server
    assert (server.max_body_bytes, server.drain_timeout_s) == (1024, 90.0)
    assert load(text(server={"max_request_body_bytes": 0})).config.server.max_body_bytes == 32 * 1024 * 1024


@pytest.mark.parametrize(("go", "s"), [("250ms", 0.25), ("1h30m", 5400.0), ("2s", 2.0), ("0", 0.0), (7, 7)])
def test_go_durations(go: object, s: float) -> None:
    assert seconds(go) == s


@pytest.mark.parametrize("bad", ["1d", "ten seconds", "5", "-1s"])
def test_what_is_not_a_go_duration_is_left_to_the_model(bad: str) -> None:
    assert seconds(bad) == bad


@pytest.mark.parametrize(("level", "read"), [("warn", "warning"), ("INFO", "info"), ("Debug", "debug")])
def test_logging_level_in_the_go_spelling(level: str, read: str) -> None:
    assert load(text(logging={"level": level})).config.logging.level == read


def test_top_level_model_aliases_are_routing_aliases() -> None:
    settings = load(text(model_aliases=[{"pattern": "^gpt-4$", "replacement": "p1:m"}]))
    [alias] = settings.aliases
    assert alias.pattern.pattern == "^gpt-4$" and alias.replacement == "p1:m"


def test_model_aliases_in_both_places_is_an_error() -> None:
    alias = [{"pattern": "a", "replacement": "p1:m"}]
    [problem] = problems_of(text(model_aliases=alias, routing={"model_aliases": alias}))
    assert "field model_aliases" in problem and "both at the top level and under routing" in problem


def test_routing_max_attempts_is_read_and_checked() -> None:
    assert load(text(routing={"max_attempts": 2})).config.routing.max_attempts == 2
    [problem] = problems_of(text(routing={"max_attempts": 0}))
    assert "routing.max_attempts" in problem


def test_a_row_without_kind_is_of_the_kind_its_id_names() -> None:
    [backend] = load(yaml.safe_dump({"plugins": {"backends": [{"id": "local-stub", "enabled": True}]}})).backends
    assert (backend.kind.kind, backend.prefix) == ("local-stub", "local-stub")


def test_an_enabled_row_of_a_kind_lip_lacks_is_an_error() -> None:
    rows = [ROW, {"id": "bedrock", "enabled": True, "config": {}}]
    [problem] = problems_of(yaml.safe_dump({"plugins": {"backends": rows}}))
    assert "backend 'bedrock' (plugins.backends[1]) field kind: unknown kind 'bedrock'" in problem


@pytest.mark.parametrize(
    ("top", "key"),
    [
        ({"hooks": {"tool_reactor_error_policy": "fail_open"}}, "hooks"),
        ({"continuity": {"in_memory": True}}, "continuity"),
        ({"server": {"auth_mode": "external"}}, "server.auth_mode"),
        ({"routing": {"transport": {"http2": True}}}, "routing.transport"),
        ({"logging": {"add_source": False}}, "logging.add_source"),
        ({"model_inventory": {"cache_path": "x.json"}}, "model_inventory.cache_path"),
    ],
)
def test_go_settings_lip_does_not_use_are_warnings(top: dict[str, Any], key: str) -> None:
    [warning] = load(text(**top)).warnings
    assert f"field {key}:" in warning and "lip does not use" in warning


def test_go_plugin_sections_are_warnings() -> None:
    data = {"plugins": {"backends": [ROW], "frontends": [{"id": "anthropic"}], "features": []}}
    warnings = load(yaml.safe_dump(data)).warnings
    assert [w.split("field ")[1].split(":")[0] for w in warnings] == ["plugins.features", "plugins.frontends"]


@pytest.mark.parametrize(("top", "key"), [({"hookz": {}}, "hookz"), ({"server": {"adress": "x"}}, "server.adress")])
def test_a_key_that_is_nobody_s_stays_an_error(top: dict[str, Any], key: str) -> None:
    [problem] = problems_of(text(**top))
    assert f"field {key}" in problem and "is not a known field" in problem


def test_the_local_stub_reads_the_go_stub_fields() -> None:
    row = {"id": "s", "kind": "local-stub", "config": {"text": "hi", "input_tokens": 3, "output_tokens": 7}}
    [backend] = load(yaml.safe_dump({"plugins": {"backends": [row]}})).backends
    settings = backend.settings
    assert (settings.reply, settings.input_tokens, settings.output_tokens) == ("hi", 3, 7)


@pytest.mark.parametrize(("given", "used"), [("2h", 7200.0), (5400, 5400.0), (None, 3600.0)])
def test_refresh_interval(given: object, used: float) -> None:
    inventory = {} if given is None else {"refresh_interval": given}
    settings = load(text(model_inventory=inventory))
    assert settings.config.model_inventory.refresh_s == used and settings.warnings == ()


def test_a_refresh_interval_below_one_hour_is_raised_to_it_and_said() -> None:
    settings = load(text(model_inventory={"refresh_interval": "30m"}))
    assert settings.config.model_inventory.refresh_s == 3600.0
    [warning] = settings.warnings
    assert "field model_inventory.refresh_interval: 1800 s is below the minimum of 1h" in warning


def test_fetch_timeout_is_the_discovery_timeout_of_rows_that_set_none() -> None:
    rows = [ROW, backend_row("p2", URL, discovery_timeout_s=2)]
    data = {"model_inventory": {"fetch_timeout": "45s"}, "plugins": {"backends": rows}}
    assert [b.settings.discovery_timeout_s for b in load(yaml.safe_dump(data)).backends] == [45.0, 2.0]
    assert [b.settings.discovery_timeout_s for b in load(text()).backends] == [10.0]
