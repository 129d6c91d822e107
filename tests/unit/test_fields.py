"""Typed reads of client fields. A whole-number float is a valid JSON Schema integer: lip reads ``100.0`` as 100
wherever it expects an integer, and still refuses a fraction, a boolean or a string there with a 400 naming the
field. An end-user id longer than OpenAI's 64 characters becomes a stable hash that fits."""

from __future__ import annotations

import hashlib
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


def test_an_end_user_id_that_fits_is_kept() -> None:
    assert fields.end_user("user-8d0c5f") == "user-8d0c5f"
    assert fields.end_user("u" * 64) == "u" * 64


def test_a_long_end_user_id_becomes_a_stable_hash_of_64_characters() -> None:
    long_id = '{"device_id":"' + "ab" * 32 + '","account_uuid":"","session_id":"0f3c5a1e"}'
    short = fields.end_user(long_id)
    assert short == "lip-" + hashlib.sha256(long_id.encode()).hexdigest()[:60] and len(short) == 64
    assert fields.end_user(long_id) == short and fields.end_user(long_id + " ") != short
    assert fields.end_user("\udcff" * 65).startswith("lip-")  # lone surrogates from JSON escapes hash too
