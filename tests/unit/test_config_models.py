"""Static model inventories: inline items, or a YAML/JSON list in a file relative to the config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from lip.config import load_file
from tests.unit.config_cases import backend_row, config_of, load, problems_of

URL = "https://api.example.com/v1"
ITEMS = [
    {"canonical_id": "p1/deepseek-chat", "native_id": "deepseek-chat", "display_name": "DeepSeek Chat"},
    {"native_id": "deepseek-reasoner"},
]


def test_no_models_section_means_discovery() -> None:
    [backend] = load(config_of(backend_row("p1", URL))).backends
    assert backend.static_models is None and backend.models_source == "discovery"


def test_inline_items() -> None:
    [backend] = load(config_of(backend_row("p1", URL, models={"source": "inline", "items": ITEMS}))).backends
    assert backend.models_source == "inline"
    assert backend.static_models is not None
    assert [(m.native_id, m.canonical_id, m.display_name) for m in backend.static_models] == [
        ("deepseek-chat", "p1/deepseek-chat", "DeepSeek Chat"),
        ("deepseek-reasoner", None, None),
    ]


def test_inline_needs_items() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"source": "inline"})))
    assert "backend 'p1'" in problem and "config.models" in problem and "needs items" in problem


def test_an_inline_item_needs_a_native_id() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"source": "inline", "items": [{}]})))
    assert "config.models.items.0.native_id" in problem


def test_an_unknown_source_is_an_error() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"source": "remote"})))
    assert "config.models.source" in problem


@pytest.mark.parametrize(
    ("name", "dump"),
    [
        ("models.yaml", lambda items: yaml.safe_dump(items)),
        ("models.yml", lambda items: yaml.safe_dump(items)),
        ("models.json", lambda items: json.dumps(items)),
        ("wrapped.yaml", lambda items: yaml.safe_dump({"items": items})),
    ],
)
def test_a_models_file_relative_to_the_config_file(tmp_path: Path, name: str, dump: object) -> None:
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / name).write_text(dump(ITEMS))  # type: ignore[operator]
    config = tmp_path / "lip.yaml"
    config.write_text(config_of(backend_row("p1", URL, models={"source": "file", "path": f"inventories/{name}"})))
    [backend] = load_file(config, {}).backends
    assert backend.models_source == "file"
    assert backend.static_models is not None
    assert [m.native_id for m in backend.static_models] == ["deepseek-chat", "deepseek-reasoner"]


def test_a_file_of_bare_names(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text('["a", "b:latest", "org/c"]')
    text = config_of(backend_row("p1", URL, models={"source": "file", "path": "models.json"}))
    [backend] = load(text, base_dir=tmp_path).backends
    assert backend.static_models is not None
    assert [m.native_id for m in backend.static_models] == ["a", "b:latest", "org/c"]


def test_the_path_is_relative_to_the_config_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "models.yaml").write_text("- only-here\n")
    (tmp_path / "conf" / "lip.yaml").write_text(
        config_of(backend_row("p1", URL, models={"source": "file", "path": "models.yaml"}))
    )
    monkeypatch.chdir(tmp_path)
    [backend] = load_file("conf/lip.yaml", {}).backends
    assert backend.static_models is not None and [m.native_id for m in backend.static_models] == ["only-here"]


def test_a_missing_models_file(tmp_path: Path) -> None:
    text = config_of(backend_row("p1", URL, models={"source": "file", "path": "absent.yaml"}))
    [problem] = problems_of(text, base_dir=tmp_path)
    assert "backend 'p1'" in problem and "config.models" in problem and "absent.yaml" in problem
    assert "cannot read" in problem


def test_file_source_needs_a_path() -> None:
    [problem] = problems_of(config_of(backend_row("p1", URL, models={"source": "file"})))
    assert "config.models" in problem and "needs path" in problem


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not: [valid", "not valid YAML or JSON"),
        ("just: a mapping\n", "must hold a list"),
        ("- {foo: 1}\n", "entry 0"),
    ],
)
def test_a_bad_models_file(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "models.yaml").write_text(content)
    text = config_of(backend_row("p1", URL, models={"source": "file", "path": "models.yaml"}))
    [problem] = problems_of(text, base_dir=tmp_path)
    assert "backend 'p1'" in problem and fragment in problem


def test_a_bad_json_models_file(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text("[1, 2,")
    text = config_of(backend_row("p1", URL, models={"source": "file", "path": "models.json"}))
    [problem] = problems_of(text, base_dir=tmp_path)
    assert "not valid YAML or JSON" in problem
