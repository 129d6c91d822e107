"""A whole-number float is a valid JSON Schema integer: lip reads ``100.0`` as 100 wherever it expects an integer,
and still refuses a fraction, a boolean or a string there with a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from lip.errors import InvalidRequest
from lip.protocols import fields


@pytest.mark.parametrize(("value", "read"), [(100.0, 100), (0.0, 0), (-3.0, -3), (1e3, 1000), (7, 7)])
def test_a_whole_number_float_is_that_integer(value: float, read: int) -> None:
    got = fields.optional({"max_tokens": value}, "max_tokens", int)
    assert got == read and type(got) is int


@pytest.mark.parametrize("value", [100.5, True, "100", [100]])
def test_anything_else_is_still_a_400_naming_the_field(value: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        fields.required({"max_tokens": value}, "max_tokens", int)
    assert caught.value.param == "max_tokens"


def test_a_number_field_keeps_its_float() -> None:
    got = fields.optional({"temperature": 1.0}, "temperature", float)
    assert got == 1.0 and type(got) is float
