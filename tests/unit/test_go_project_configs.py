"""The Go project's own config files (tests/data/go_project, copied unchanged; ORIGIN.md) load in lip: its keys that
lip implements are read in its shape, its settings lip does not implement are warnings that name them, and what lip
refuses on purpose is an error that says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lip.backends.presets import BY_KIND
from lip.config import ConfigError, load_file
from lip.config.goshape import NOT_USED

DATA = Path(__file__).parent.parent / "data" / "go_project" / "config"
FILES = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.yaml"))

# file -> the enabled prefixes it serves, or the problems (substrings, one each) it is refused with
LOADS: dict[str, list[str]] = {
    "examples/anthropic-stub.yaml": ["stub-anthropic"],
    "examples/control-plane-memory.yaml": ["stub-oar"],
    "examples/control-plane-retention.yaml": ["stub-oar"],
    "examples/control-plane-sqlite-query.yaml": ["stub-oar"],
    "examples/cursor-sdk-experimental.yaml": ["dogfood-local"],
    "examples/custom-anthropic-compatible.yaml": ["provider-anthropic"],
    "examples/custom-compatible-no-auth.yaml": ["local-openai"],
    "examples/custom-openai-legacy-compatible.yaml": ["provider123"],
    "examples/custom-openai-responses-compatible.yaml": ["provider123-responses"],
    "examples/dogfood-local-stub.yaml": ["dogfood-local"],
    "examples/dogfood-tool-call-repair-optout.yaml": ["dogfood-local"],
    "examples/dogfood-tool-call-repair-pending.yaml": ["dogfood-local"],
    "examples/dogfood-tool-call-repair.yaml": ["dogfood-local"],
    "examples/gemini-stub.yaml": ["stub-gemini"],
    "examples/openai-legacy-stub.yaml": ["stub-oal"],
    "examples/openai-responses-stub.yaml": ["stub-oar"],
    "examples/plugin-operator-full-discovery.yaml": ["op-full"],
    "examples/plugin-operator-minimal.yaml": ["op-min"],
    "examples/plugin-operator-rollback.yaml": ["op-rb"],
    "examples/plugin-operator-upgrade.yaml": ["op-up"],
    "examples/reasoning-preservation-observe.yaml": ["rp-observe-local"],
    "examples/reasoning-preservation-restore.yaml": ["rp-restore-local"],
    "examples/secrets-guard-block-multi-user.yaml": ["sg-block-mu"],
    "examples/secrets-guard-block-single-user.yaml": ["sg-block-local"],
    "examples/secrets-guard-log-single-user.yaml": ["sg-log-local"],
    "examples/secrets-guard-redact-single-user.yaml": ["sg-redact-local"],
}
REFUSED: dict[str, list[str]] = {
    # lip never takes a key from the config file (docs/security.md)
    "config.multi-instance.example.yaml": [
        "backend 'openai-primary' (plugins.backends[0]) field config.api_key: secrets must not be written",
        "backend 'openai-primary' (plugins.backends[0]) field config.api_keys: secrets must not be written",
        "backend 'openai-corporate-proxy' (plugins.backends[1]) field config.api_key: secrets must not be written",
    ],
    # every backend is disabled: its default route names a backend that does not serve
    "config.yaml": ["field routing.default_route: prefix 'openai-responses' in 'openai-responses:gpt-4o-mini' is not"],
    # lip has no Codex (ChatGPT subscription) backend
    "examples/opencode-codex.yaml": [
        "backend 'openai-codex' (plugins.backends[15]) field kind: unknown kind 'openai-codex'",
        "field routing.default_route: prefix 'openai-codex' in 'openai-codex:gpt-5.5' is not a configured backend",
    ],
}


def test_every_file_has_an_expected_outcome() -> None:
    assert len(FILES) == 29
    assert sorted([*LOADS, *REFUSED]) == FILES


def unused_keys(name: str) -> list[str]:
    """The settings of the file that lip does not use, as a warning names them (``hooks``, ``plugins.frontends``)."""
    data = yaml.safe_load((DATA / name).read_text())
    found = [key for key in data if key in NOT_USED[""]]
    for section, keys in NOT_USED.items():
        if section and isinstance(data.get(section), dict):
            found += [f"{section}.{key}" for key in data[section] if key in keys]
    return found


@pytest.mark.parametrize("name", sorted(LOADS))
def test_the_file_loads_and_names_what_lip_does_not_use(name: str) -> None:
    settings = load_file(DATA / name, {})
    assert [b.prefix for b in settings.backends] == LOADS[name]
    unused = unused_keys(name)
    assert unused, "each of these files has settings lip does not implement"
    for key in unused:
        [warning] = [w for w in settings.warnings if f"field {key}:" in w]
        assert "lip does not use" in warning and str(DATA / name) in warning


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_file_is_refused_with_the_reason(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_file(DATA / name, {})
    assert len(caught.value.problems) == len(REFUSED[name])
    for problem, expected in zip(caught.value.problems, REFUSED[name], strict=True):
        assert expected in problem and "Fix:" in problem
    assert all("replace-with" not in p and "sk-" not in p for p in caught.value.problems)  # the keys never shown


def test_the_custom_example_is_read_in_the_go_shape() -> None:
    """server.address, routing.max_attempts, tokenizer, an inferred models.source and max_concurrent_requests."""
    settings = load_file(DATA / "examples/custom-openai-legacy-compatible.yaml", {"PROVIDER123_API_KEY": "k"})
    server, routing = settings.config.server, settings.config.routing
    assert (server.host, server.port, routing.max_attempts) == ("127.0.0.1", 18090, 3)
    [backend] = settings.backends
    assert (backend.tokenizer, backend.models_source, backend.settings.max_concurrent_requests) == (
        "cl100k_base",
        "inline",
        4,
    )
    assert [m.native_id for m in backend.static_models or ()] == ["model-a"]


def test_disabled_rows_of_kinds_lip_lacks_are_named_and_ignored() -> None:
    name = "examples/dogfood-local-stub.yaml"
    rows = yaml.safe_load((DATA / name).read_text())["plugins"]["backends"]
    lacking = {row["id"] for row in rows if row.get("kind", row["id"]) not in BY_KIND}
    assert {"bedrock", "acp", "opencode-go", "opencode-zen"} <= lacking
    settings = load_file(DATA / name, {})
    ignored = [w for w in settings.warnings if "is not a kind lip implements" in w]
    assert {w.split("backend '")[1].split("'")[0] for w in ignored} == lacking
