"""The custom kinds' fields as the Go project reads them: ``tokenizer``, ``models.source`` inferred or aliased,
an empty inline list refused."""

from __future__ import annotations

import pytest

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
