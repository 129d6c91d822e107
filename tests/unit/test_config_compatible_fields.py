"""The custom kinds' fields as the Go project reads them: ``tokenizer``, ``models.source`` inferred or aliased,
an empty inline list refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.config_cases import backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"


@pytest.mark.parametrize(("raw", "read"), [("cl100k_base", "cl100k_base"), ("O200K_Base", "o200k_base"), (None, None)])
def test_tokenizer_is_read_in_any_case(raw: str | None, read: str | None) -> None:
    extra = {"tokenizer": raw} if raw is not None else {}
    [backend] = load(config_of(backend_row("p1", URL, **extra))).backends
    assert backend.tokenizer == read


def test_an_unknown_tokenizer_lists_the_supported_ones() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, tokenizer="p50k_base")))
    assert "backend 'p1'" in problem and "config.tokenizer" in problem
    assert "'p50k_base'" in problem and "cl100k_base, o200k_base" in problem


ITEMS = [{"native_id": "m1"}]


@pytest.mark.parametrize(
    ("models", "source"),
    [
        ({"items": ITEMS}, "inline"),
        ({"source": "static_inline", "items": ITEMS}, "inline"),
        ({"source": "INLINE", "items": ITEMS}, "inline"),
    ],
)
def test_models_source_is_inferred_or_aliased_inline(models: dict[str, object], source: str) -> None:
    [backend] = load(config_of(backend_row("p1", URL, models=models))).backends
    assert backend.models_source == source and [m.native_id for m in backend.static_models or ()] == ["m1"]


@pytest.mark.parametrize("models", [{"path": "models.yaml"}, {"source": "static_file", "path": "models.yaml"}])
def test_a_path_alone_or_static_file_reads_the_file(tmp_path: Path, models: dict[str, object]) -> None:
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"models": [{"canonical_id": "p/x", "native_id": "x"}]}))
    [backend] = load(config_of(backend_row("p1", URL, models=models)), base_dir=tmp_path).backends
    assert backend.models_source == "file" and [m.native_id for m in backend.static_models or ()] == ["x"]


def test_an_empty_models_section_means_discovery() -> None:
    [backend] = load(config_of(backend_row("p1", URL, models={}))).backends
    assert backend.models_source == "discovery" and backend.static_models is None


@pytest.mark.parametrize(
    ("models", "said"),
    [
        ({"source": "inline", "items": []}, "an inline list needs items"),
        ({"items": []}, "an inline list needs items"),
        ({"path": "m.yaml", "items": ITEMS}, "gives both path and items"),
        ({"source": "static_file"}, "source 'file' needs path"),
        ({"source": "remote"}, "config.models.source"),
    ],
)
def test_models_mistakes_are_refused(models: dict[str, object], said: str) -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, models=models)))
    assert "backend 'p1'" in problem and said in problem


def test_an_empty_models_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("items: []\n")
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"path": "m.yaml"})), base_dir=tmp_path)
    assert "lists no model" in problem


def test_an_unknown_key_in_a_backend_config_stays_an_error() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, discovery={"enabled": True})))
    assert "backend 'p1'" in problem and "config.discovery" in problem and "is not a known field" in problem
