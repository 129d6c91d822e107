"""The ``store`` section: memory by default; redis needs its URL in the environment. Messages name the file and
the field and never show the URL, which may hold a password."""

from __future__ import annotations

import pytest

from tests.harness import CANARY
from tests.unit.config_cases import SOURCE, config_of, load, problems_of

STUB = {"id": "stub", "kind": "local-stub"}


def test_the_default_store_is_memory() -> None:
    store = load(config_of(STUB)).config.store
    assert (store.kind, store.url_env, store.prefix) == ("memory", "LIP_REDIS_URL", "lip:")


def test_a_redis_store_with_its_url_in_the_environment_loads() -> None:
    text = config_of(STUB, store={"kind": "redis", "prefix": "prod:"})
    store = load(text, {"LIP_REDIS_URL": f"redis://:{CANARY}@redis.internal:6379/0"}).config.store
    assert (store.kind, store.prefix) == ("redis", "prod:")


def test_redis_without_its_url_names_the_file_the_field_and_the_variable() -> None:
    [problem] = problems_of(config_of(STUB, store={"kind": "redis", "url_env": "MY_REDIS"}))
    assert problem.startswith(f"{SOURCE}: field store.url_env: ")
    assert "MY_REDIS is not set" in problem and "Fix:" in problem


@pytest.mark.parametrize("url", [f"http://:{CANARY}@host:6379", f"{CANARY}", f"redis//{CANARY}@[::1"])
def test_a_url_that_is_not_redis_is_refused_without_showing_it(url: str) -> None:
    [problem] = problems_of(config_of(STUB, store={"kind": "redis"}), {"LIP_REDIS_URL": url})
    assert "store.url_env" in problem and "not a Redis URL" in problem
    assert CANARY not in problem


@pytest.mark.parametrize(
    ("store", "field"),
    [
        ({"kind": "etcd"}, "store.kind"),
        ({"prefix": ""}, "store.prefix"),
        ({"prefix": "a b"}, "store.prefix"),
        ({"timeout_s": 0}, "store.timeout_s"),
        ({"url": "redis://x"}, "store.url"),
    ],
)
def test_store_field_errors_name_the_field(store: dict[str, object], field: str) -> None:
    problems = problems_of(config_of(STUB, store=store))
    assert any(p.startswith(f"{SOURCE}: field {field}: ") for p in problems), problems
