"""base_url: absolute http(s) with a host, no userinfo, no fragment, a query allowed (userinfo and query values
masked in messages); joined deterministically, the base's query kept after the joined path."""

from __future__ import annotations

import pytest

from lip.config import join_url, mask_url
from tests.harness import CANARY
from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of


def _problem(url: str) -> str:
    [problem] = problems_of(config_of(backend_row("p1", url)))
    assert f"{SOURCE}: backend 'p1'" in problem and "config.base_url" in problem and "Fix:" in problem
    return problem


def test_base_url_is_required_for_custom_kinds() -> None:
    row = backend_row("p1", "http://unused")
    del row["config"]["base_url"]
    [problem] = problems_of(config_of(row))
    assert "config.base_url" in problem and "required" in problem


@pytest.mark.parametrize(
    "url",
    ["api.example.com/v1", "/v1", "ftp://api.example.com/v1", "ws://api.example.com", "file:///etc/passwd"],
)
def test_base_url_must_be_absolute_http_or_https(url: str) -> None:
    assert "absolute http:// or https://" in _problem(url)


@pytest.mark.parametrize("url", ["http://", "https:///v1", "http://:8080/v1", "http:x"])
def test_base_url_needs_a_host(url: str) -> None:
    assert "no host" in _problem(url)


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{CANARY}@api.example.com/v1",
        f"https://{CANARY}@api.example.com/v1",
        f"https://user:{CANARY}@api.example.com:8443/v1",
    ],
)
def test_userinfo_is_rejected_and_the_secret_masked(url: str) -> None:
    problem = _problem(url)
    assert "must not contain a user or password" in problem
    assert CANARY not in problem
    assert "***" in problem and "api.example.com" in problem


@pytest.mark.parametrize("url", ["https://api.example.com/v1#frag", "https://api.example.com/v1#"])
def test_a_fragment_is_rejected(url: str) -> None:
    assert "fragment" in _problem(url)


def test_an_unparseable_url_is_rejected_without_echoing_it() -> None:
    problem = _problem(f"http://[{CANARY}/v1")
    assert "not a valid URL" in problem
    assert CANARY not in problem


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("  http://127.0.0.1:8080/proxy/openai/v1  ", "http://127.0.0.1:8080/proxy/openai/v1"),
        ("http://localhost:11434", "http://localhost:11434"),
    ],
)
def test_valid_base_urls_keep_port_and_path_prefix(base: str, expected: str) -> None:
    [backend] = load(config_of(backend_row("p1", base))).backends
    assert backend.base_url == expected


@pytest.mark.parametrize(
    ("base", "path", "joined"),
    [
        ("https://h/v1", "chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1/", "chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1", "/chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1/", "/chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1//", "//models", "https://h/v1/models"),
        ("http://h:8080", "v1/messages", "http://h:8080/v1/messages"),
        ("http://h:8080/", "v1/messages", "http://h:8080/v1/messages"),
        ("http://h:8080/a/b", "responses", "http://h:8080/a/b/responses"),
    ],
)
def test_join_url_puts_exactly_one_slash_between(base: str, path: str, joined: str) -> None:
    assert join_url(base, path) == joined


@pytest.mark.parametrize(
    ("base", "path", "joined"),
    [
        (
            "https://r.azure.com/openai/deployments/x?api-version=1",
            "chat/completions",
            "https://r.azure.com/openai/deployments/x/chat/completions?api-version=1",
        ),
        ("https://h/v1/?api-version=1", "/models", "https://h/v1/models?api-version=1"),
        ("https://h/v1//?a=1&b=2", "responses", "https://h/v1/responses?a=1&b=2"),
        ("http://h:8080?tenant=t", "v1/messages/count_tokens", "http://h:8080/v1/messages/count_tokens?tenant=t"),
        ("https://h?x=a%2Fb/", "v1/messages", "https://h/v1/messages?x=a%2Fb/"),
        ("https://h/v1", "v1/models?limit=1000", "https://h/v1/v1/models?limit=1000"),
        ("https://h/a?api-version=1", "v1/models?limit=1000", "https://h/a/v1/models?api-version=1&limit=1000"),
        ("https://h/a?limit=5&k=v", "v1/models?limit=1000&after_id=m", "https://h/a/v1/models?limit=5&k=v&after_id=m"),
        ("https://h/a?", "models", "https://h/a/models"),
    ],
)
def test_join_url_keeps_the_query_after_the_joined_path(base: str, path: str, joined: str) -> None:
    assert join_url(base, path) == joined


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "https://r.azure.com/openai/deployments/x?api-version=2024-10-21",
            "https://r.azure.com/openai/deployments/x?api-version=2024-10-21",
        ),
        ("https://h/v1/?api-version=1", "https://h/v1?api-version=1"),
        ("https://h/v1?next=/a/", "https://h/v1?next=/a/"),
    ],
)
def test_a_query_string_is_accepted_and_kept(base: str, expected: str) -> None:
    [backend] = load(config_of(backend_row("p1", base))).backends
    assert backend.base_url == expected


def test_query_values_are_masked_in_messages() -> None:
    problem = _problem(f"ftp://h/v1?key={CANARY}&api-version=1&{CANARY}")
    assert CANARY not in problem
    assert "?key=***&api-version=***&***" in problem


def test_mask_url_hides_userinfo_and_query_values() -> None:
    assert mask_url("https://api.example.com:8443/v1") == "https://api.example.com:8443/v1"
    masked = mask_url(f"https://me:{CANARY}@api.example.com:8443/v1?x=1&key={CANARY}")
    assert CANARY not in masked and "me" not in masked.split("@")[0].replace("***", "")
    assert masked == "https://***:***@api.example.com:8443/v1?x=***&key=***"
    assert mask_url(f"https://h/v1?{CANARY}") == "https://h/v1?***"
