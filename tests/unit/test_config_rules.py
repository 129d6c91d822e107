"""Config rules beyond prefix and URL: env-only secrets, unknown fields and kinds, ids, routing references,
every problem listed with file, backend id and field, and the unauthenticated-backend warning."""

from __future__ import annotations

import pytest

from lip.backends.presets import KINDS
from lip.config import ConfigError
from tests.harness import CANARY
from tests.unit.config_cases import SOURCE, backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"
SEED_EXAMPLE = """
server: {host: 127.0.0.1, port: 8000}
routing:
  default_route: "provider123:deepseek-chat"   # used when a request's model names no backend
  model_aliases:                                # list of {pattern, replacement} (regex, full match)
    - {pattern: "^gpt-4o(-mini)?$", replacement: "provider123:deepseek-chat"}
plugins:
  backends:
    - id: provider123
      kind: custom-openai-legacy-compatible
      enabled: true
      config:
        backend_prefix: provider123
        base_url: https://api.provider123.example/v1
        api_key_env_var_root: PROVIDER123_API_KEY
        models:                      # optional; overrides remote discovery
          source: inline             # or: file (with path: relative to the config file; YAML or JSON list)
          items:
            - {canonical_id: provider123/deepseek-chat, native_id: deepseek-chat, display_name: DeepSeek Chat}
        max_concurrent_requests: 0   # optional; 0 or absent = no per-instance limit
"""


def test_the_seed_example_loads_unchanged() -> None:
    settings = load(SEED_EXAMPLE, {"PROVIDER123_API_KEY": CANARY})
    [backend] = settings.backends
    assert (backend.id, backend.prefix, backend.kind.kind) == ("provider123", "provider123", KINDS[0].kind)
    assert backend.base_url == "https://api.provider123.example/v1"
    assert backend.key_root == "PROVIDER123_API_KEY"
    assert backend.models_source == "inline"
    assert settings.warnings == ()
    assert [a.pattern.pattern for a in settings.aliases] == ["^gpt-4o(-mini)?$"]


@pytest.mark.parametrize("kind", [k.kind for k in KINDS if k.custom])
@pytest.mark.parametrize(
    ("field", "value"),
    [("api_key", CANARY), ("api_keys", [CANARY, CANARY + "2"]), ("credentials", {"api_key": CANARY})],
)
def test_literal_secrets_are_rejected_with_the_move_to_env_message(kind: str, field: str, value: object) -> None:
    problems = problems_of(config_of(backend_row("p1", URL, kind=kind, **{field: value})))
    [problem] = problems
    assert f"{SOURCE}: backend 'p1'" in problem and f"config.{field}" in problem
    assert "environment variable" in problem and "api_key_env_var_root" in problem
    assert CANARY not in problem


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "Api-Key"])
def test_a_credential_in_static_headers_is_rejected_too(header: str) -> None:
    row = backend_row("p1", URL, headers={header: f"Bearer {CANARY}", "X-Title": "lip"})
    [problem] = problems_of(config_of(row))
    assert f"config.headers.{header}" in problem and "api_key_env_var_root" in problem
    assert CANARY not in problem


def test_harmless_static_headers_are_kept() -> None:
    [backend] = load(config_of(backend_row("p1", URL, headers={"X-Title": "lip"}))).backends
    assert backend.settings.headers == {"X-Title": "lip"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("serverr: {}\n", "field serverr"),
        ("server: {hots: 0.0.0.0}\n", "field server.hots"),
        ("routing: {defualt_route: x}\n", "field routing.defualt_route"),
        ("logging: {levle: debug}\n", "field logging.levle"),
    ],
)
def test_unknown_top_level_fields_are_errors(text: str, field: str) -> None:
    [problem] = problems_of(text)
    assert problem.startswith(f"{SOURCE}: {field}:") and "not a known field" in problem


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bse_url": URL}, "config.bse_url"),
        ({"timeouts": {"conect_s": 1}}, "config.timeouts.conect_s"),
        ({"models": {"source": "inline", "items": [], "itmes": []}}, "config.models.itmes"),
        ({"models": {"source": "inline", "items": [{"native_id": "m", "nmae": "x"}]}}, "config.models.items.0.nmae"),
    ],
)
def test_unknown_backend_config_fields_are_errors(extra: dict[str, object], field: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, **extra)))
    assert f"{SOURCE}: backend 'p1' (plugins.backends[0]) field {field}: is not a known field" in problem


def test_an_unknown_row_field_names_the_backend() -> None:
    row = {**backend_row("p1", URL), "enabeld": False}
    [problem] = problems_of(config_of(row))
    assert f"{SOURCE}: backend 'p1' (plugins.backends[0]) field enabeld: is not a known field" in problem


def test_a_row_without_an_id_is_named_by_position() -> None:
    row = backend_row("p1", URL)
    del row["id"]
    [problem] = problems_of(config_of(backend_row("ok", URL), row))
    assert "plugins.backends[1]" in problem and "field id" in problem


def test_unknown_kind_lists_the_known_kinds() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, kind="custom-openai-compatible")))
    assert "backend 'p1'" in problem and "field kind" in problem and "'custom-openai-compatible'" in problem
    for kind in KINDS:
        assert kind.kind in problem


def test_ids_are_unique() -> None:
    text = config_of(backend_row("dup", URL, prefix="a"), backend_row("dup", URL, prefix="b"))
    [problem] = problems_of(text)
    assert "backend 'dup' (plugins.backends[1]) field id" in problem and "duplicate id 'dup'" in problem


def test_ids_are_unique_even_when_one_row_is_disabled() -> None:
    disabled = {**backend_row("dup", URL, prefix="b"), "enabled": False}
    [problem] = problems_of(config_of(backend_row("dup", URL, prefix="a"), disabled))
    assert "duplicate id" in problem


def test_default_route_must_name_a_configured_prefix() -> None:
    text = config_of(backend_row("p1", URL), routing={"default_route": "elsewhere:model"})
    [problem] = problems_of(text)
    assert f"{SOURCE}: field routing.default_route" in problem
    assert "'elsewhere'" in problem and "use one of: p1" in problem


def test_default_route_must_name_a_prefix_at_all() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL), routing={"default_route": "deepseek-chat"}))
    assert "routing.default_route" in problem and "names no backend prefix" in problem


def test_default_route_may_not_point_at_a_disabled_backend() -> None:
    disabled = {**backend_row("off", URL), "enabled": False}
    text = config_of(backend_row("p1", URL), disabled, routing={"default_route": "off:m"})
    [problem] = problems_of(text)
    assert "'off'" in problem and "not a configured backend" in problem


@pytest.mark.parametrize(
    "aliases",
    [[{"pattern": "^gpt-4o$", "replacement": "nowhere:m"}], {"gpt-4o": "nowhere:m"}],
    ids=["list", "map"],
)
def test_alias_replacements_must_name_a_configured_prefix(aliases: object) -> None:
    text = config_of(backend_row("p1", URL), routing={"model_aliases": aliases})
    [problem] = problems_of(text)
    assert f"{SOURCE}: field routing.model_aliases[0].replacement" in problem and "'nowhere'" in problem


def test_alias_patterns_must_compile() -> None:
    text = config_of(backend_row("p1", URL), routing={"model_aliases": [{"pattern": "gpt-(4", "replacement": "p1:m"}]})
    [problem] = problems_of(text)
    assert "routing.model_aliases[0].pattern" in problem and "not a valid regex" in problem


def test_valid_aliases_in_both_forms_load() -> None:
    rules = [{"pattern": "^gpt-4o(-mini)?$", "replacement": "p1:deepseek-chat"}]
    assert len(load(config_of(backend_row("p1", URL), routing={"model_aliases": rules})).aliases) == 1
    mapped = load(config_of(backend_row("p1", URL), routing={"model_aliases": {"gpt-4o": "p1:m", "o3": "p1:r"}}))
    assert [a.pattern.fullmatch("gpt-4o") is not None for a in mapped.aliases] == [True, False]


def test_every_problem_is_listed_at_once_each_naming_file_backend_and_field() -> None:
    text = config_of(
        backend_row("bad-prefix", URL, prefix="a/b"),
        backend_row("bad-url", "ftp://x"),
        backend_row("secret", URL, prefix="s", api_key=CANARY),
        backend_row("typo", URL, prefix="t", bse_url=URL),
        backend_row("kindless", URL, kind="nope"),
        {"id": "broken", "kind": "custom-openai-legacy-compatible", "confg": {}},
        serverr={},
        routing={"default_route": "ghost:m"},
    )
    problems = problems_of(text)
    expected = [
        ("bad-prefix", "config.backend_prefix"),
        ("bad-url", "config.base_url"),
        ("secret", "config.api_key"),
        ("typo", "config.bse_url"),
        ("kindless", "kind"),
        ("broken", "confg"),
    ]
    for backend_id, field in expected:
        assert any(p.startswith(f"{SOURCE}: backend '{backend_id}'") and f"field {field}:" in p for p in problems), (
            backend_id,
            field,
            problems,
        )
    assert any("field serverr" in p for p in problems)
    assert all(p.startswith(SOURCE) and "Fix:" in p for p in problems if "serverr" not in p)
    assert CANARY not in "\n".join(problems)


def test_a_wrong_type_names_the_field() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, max_concurrent_requests="many")))
    assert "backend 'p1'" in problem and "config.max_concurrent_requests" in problem


def test_yaml_syntax_errors_name_file_and_line() -> None:
    [problem] = problems_of("plugins:\n  backends: [\n")
    assert problem.startswith(SOURCE) and "line" in problem


def test_the_top_level_must_be_a_mapping() -> None:
    [problem] = problems_of("- just\n- a list\n")
    assert problem.startswith(SOURCE) and "mapping" in problem


def test_an_empty_file_serves_nothing_only_when_the_operator_says_so() -> None:
    [problem] = problems_of("")
    assert problem.startswith(f"{SOURCE}: field plugins.backends: no backend is enabled")
    assert "server.allow_no_backends: true" in problem
    assert load("server: {allow_no_backends: true}\n").backends == ()


def test_a_key_root_without_any_variable_is_a_warning_not_an_error() -> None:
    text = config_of(backend_row("p1", URL, key_root="P1_API_KEY"))
    settings = load(text, {"P1_API_KEY_2": "ignored without P1_API_KEY"})  # _2 alone still counts as set
    assert settings.warnings == ()
    settings = load(text, {"OTHER": "x", "P1_API_KEY": "   "})
    [warning] = settings.warnings
    assert warning.startswith(SOURCE) and "backend 'p1'" in warning and "P1_API_KEY" in warning
    assert "without an API key" in warning


def test_no_warning_when_the_key_is_set_or_the_row_is_disabled() -> None:
    text = config_of(backend_row("p1", URL, key_root="P1_API_KEY"))
    assert load(text, {"P1_API_KEY": CANARY}).warnings == ()
    disabled = {**backend_row("p1", URL, key_root="P1_API_KEY"), "enabled": False}
    assert load(config_of(disabled, backend_row("p2", URL, key_root="P1_API_KEY")), {"P1_API_KEY": "k"}).warnings == ()


def test_warnings_travel_with_errors() -> None:
    text = config_of(backend_row("p1", URL, key_root="P1_API_KEY"), backend_row("p2", "ftp://x"))
    with pytest.raises(ConfigError) as caught:
        load(text)
    assert any("P1_API_KEY" in w for w in caught.value.warnings)


def test_an_empty_key_root_is_an_error() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, api_key_env_var_root="  ")))
    assert "config.api_key_env_var_root" in problem and "empty" in problem
