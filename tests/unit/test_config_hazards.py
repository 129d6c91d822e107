"""Config mistakes that would take a gateway down or leak: a config that serves nothing, a backend key root that
reads lip's own variables (or looks like a system one), and a refused base_url's secrets in the message."""

from __future__ import annotations

import pytest

from lip.config import load_default, mask_url
from tests.harness import CANARY
from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing yet\n",
        "server:\n  port: 8001\n",
        "plugins:\n  backends: []\n",
        config_of({**backend_row("p1", URL), "enabled": False}),
    ],
)
def test_a_config_with_no_enabled_backend_is_refused(text: str) -> None:
    [problem] = problems_of(text)
    assert problem == (
        f"{SOURCE}: field plugins.backends: no backend is enabled, so lip would answer every request with 404 (is "
        "the file empty or cut short?). Fix: add an enabled row under plugins.backends, or set "
        "server.allow_no_backends: true to serve nothing"
    )


def test_allow_no_backends_serves_nothing_on_purpose() -> None:
    settings = load(config_of({**backend_row("p1", URL), "enabled": False}, server={"allow_no_backends": True}))
    assert settings.backends == () and settings.config.server.allow_no_backends is True


def test_the_embedded_default_still_loads() -> None:
    assert [b.id for b in load_default({}).backends] == ["local-stub"]


def test_other_problems_are_not_hidden_behind_the_empty_one() -> None:
    [problem] = problems_of(config_of(backend_row("p1", "ftp://x")))
    assert "config.base_url" in problem


@pytest.mark.parametrize("root", ["LIP_API_KEY", "LIP_API_KEY_7", "LIP_REDIS_URL"])
def test_a_key_root_reading_lips_own_variables_is_refused(root: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, key_root=root)), {"LIP_API_KEY": CANARY})
    assert problem.startswith(f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.api_key_env_var_root: ")
    assert "lip's own variable" in problem and "sent upstream" in problem and CANARY not in problem


def test_a_key_root_reading_a_renamed_client_key_variable_is_refused() -> None:
    text = config_of(backend_row("p1", URL, key_root="TEAM_KEYS"), server={"client_api_key_env_var_root": "TEAM_KEYS"})
    [problem] = problems_of(text)
    assert "TEAM_KEYS (server.client_api_key_env_var_root, lip's client keys)" in problem
    assert load(config_of(backend_row("p1", URL, key_root="LIP_API_KEY"), server={"client_api_key_env_var_root": "X"}))


@pytest.mark.parametrize("root", ["HOME", "PATH", "USER", "SHELL", "LC_ALL", "XDG_CONFIG_HOME", "SSH_AUTH_SOCK"])
def test_a_key_root_that_looks_like_a_system_variable_is_a_warning(root: str) -> None:
    settings = load(config_of(backend_row("p1", URL, key_root=root)), {root: "x"})
    [warning] = settings.warnings
    assert warning.startswith(f"{SOURCE}: backend 'p1' (plugins.backends[0]) field config.api_key_env_var_root: ")
    assert f"{root!r} looks like a system variable" in warning


def test_a_providers_own_key_root_gets_no_warning() -> None:
    assert (
        load(config_of(backend_row("p1", URL, key_root="PROVIDER1_API_KEY")), {"PROVIDER1_API_KEY": "k"}).warnings == ()
    )


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.example.com/v1#{CANARY}",
        f"https://api.example.com/v1?key={CANARY}#{CANARY}",
        f"https://user:{CANARY}@api.example.com/v1#x",
        f"https:/user:{CANARY}@api.example.com/v1",
        f"https://api.example.com:99999/v1?{CANARY}",
    ],
)
def test_a_refused_base_url_is_printed_masked(url: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", url)))
    assert "config.base_url" in problem and CANARY not in problem


def test_mask_url_keeps_what_helps_and_masks_the_fragment() -> None:
    assert mask_url("https://h.example/v1?api-version=1#frag") == "https://h.example/v1?api-version=***#***"
    assert mask_url("https://h.example/v1#") == "https://h.example/v1#"
