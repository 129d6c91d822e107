"""Freeform tools described for JSON-only backends: the raw-text instructions out, the wrapping and grammar in."""

from __future__ import annotations

from lip.canonical import ToolSpec
from lip.protocols.freeform import WRAPPED_NOTE, wrapped_description


def test_a_chat_grammar_format_is_read_from_its_nested_object() -> None:
    grammar = {"type": "grammar", "grammar": {"syntax": "regex", "definition": "^[a-z]+$"}}  # Chat's custom shape
    spec = ToolSpec("word", "Say one word. Freeform input, no JSON.", kind="custom", extra={"format": grammar})
    expected = f"Say one word.\n\n{WRAPPED_NOTE}\n\nThe text must match this regex grammar:\n^[a-z]+$"
    assert wrapped_description(spec) == expected


def test_other_sentences_and_paragraphs_are_kept() -> None:
    spec = ToolSpec("t", "Runs things.\n\nDo not wrap the input in JSON. Keep it short.", kind="custom")
    assert wrapped_description(spec) == f"Runs things.\n\nKeep it short.\n\n{WRAPPED_NOTE}"
