"""Basic split rules of a model selector: prefix:model split at the first ':', or a bare model name."""

from __future__ import annotations

import pytest

from lip.routing.selector import Leaf, SelectorError, parse_selector


def single(text: str) -> Leaf:
    selector = parse_selector(text)
    assert selector.is_single
    return selector.leaves()[0]


@pytest.mark.parametrize(
    ("text", "prefix", "model"),
    [
        ("provider123:deepseek-chat", "provider123", "deepseek-chat"),
        ("my-ollama:llama3:8b", "my-ollama", "llama3:8b"),
        ("or:openai/gpt-4o", "or", "openai/gpt-4o"),
        ("provider123:provider123/deepseek-chat", "provider123", "provider123/deepseek-chat"),
        ("a:b:c:d", "a", "b:c:d"),
        ("local-stub:echo", "local-stub", "echo"),
        ("hf:org/model:Q4_K_M", "hf", "org/model:Q4_K_M"),
    ],
)
def test_split_at_the_first_colon(text: str, prefix: str, model: str) -> None:
    leaf = single(text)
    assert (leaf.prefix, leaf.model) == (prefix, model)
    assert str(leaf) == text


@pytest.mark.parametrize("text", ["deepseek-chat", "gpt-4o", "openai/gpt-4o", "llama3.1-8b"])
def test_a_name_without_colon_is_bare(text: str) -> None:
    leaf = single(text)
    assert (leaf.prefix, leaf.model) == (None, text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty selector"),
        (":model", "empty backend prefix"),
        ("prefix:", "empty model name"),
    ],
)
def test_malformed_selectors_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert reason in str(caught.value)
