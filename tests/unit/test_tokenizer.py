"""lip.tokenizer: tiktoken's real encodings from the packaged BPE files (no network), and a request's estimate."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from lip.canonical.request import Image, Message, Request, Text, ToolCall, ToolResult, ToolSpec
from lip.tokenizer import DEFAULT, IMAGE_TOKENS, MESSAGE_OVERHEAD, SUPPORTED, encoding, normalize, prompt_tokens

# token ids tiktoken gives for "hello world" (its own documented examples)
HELLO = {"cl100k_base": [15339, 1917], "o200k_base": [24912, 2375]}


@pytest.mark.parametrize("name", SUPPORTED)
def test_each_encoding_gives_tiktoken_s_ids(name: str) -> None:
    enc = encoding(name)
    assert enc.encode("hello world") == HELLO[name]
    assert enc.decode(enc.encode("naïve café — 東京 🚀")) == "naïve café — 東京 🚀"
    assert enc.n_vocab == {"cl100k_base": 100277, "o200k_base": 200019}[name]


def test_the_two_encodings_count_differently() -> None:
    text = "Übersetze bitte: 東京の天気はどうですか？ " * 20
    assert len(encoding("cl100k_base").encode(text)) != len(encoding("o200k_base").encode(text))


def test_no_network_is_used_to_build_an_encoding() -> None:
    """A fresh interpreter with every socket connect refused still builds both encodings."""
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network blocked')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from lip.tokenizer import encoding\n"
        "print(encoding('cl100k_base').encode('hello world'), encoding('o200k_base').encode('hello world'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[15339, 1917] [24912, 2375]"


@pytest.mark.parametrize("raw", ["cl100k_base", "CL100K_BASE", " o200k_Base "])
def test_names_are_case_insensitive(raw: str) -> None:
    assert normalize(raw) == raw.strip().lower()


@pytest.mark.parametrize("raw", ["p50k_base", "gpt2", "", "o200k"])
def test_other_names_are_not_supported(raw: str) -> None:
    assert normalize(raw) is None


def test_a_request_s_estimate_is_its_text_tokens_plus_framing() -> None:
    tool = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}})
    request = Request(
        model="m",
        system=[Text("You are terse.")],
        messages=[
            Message("user", [Text("What is the weather in Paris?"), Image(url="https://example.com/a.png")]),
            Message("assistant", [ToolCall("c1", "get_weather", '{"city":"Paris"}')]),
            Message("user", [ToolResult("c1", [Text("18 C, sunny")])]),
        ],
        tools=[tool],
    )
    texts = [
        "You are terse.",
        "What is the weather in Paris?",
        "get_weather",
        '{"city":"Paris"}',
        "18 C, sunny",
        "get_weather",
        "Weather for a city",
        orjson.dumps(tool.parameters).decode(),
    ]
    for name in SUPPORTED:
        expected = len(encoding(name).encode_ordinary("\n".join(texts))) + 3 * MESSAGE_OVERHEAD + IMAGE_TOKENS
        assert prompt_tokens(request, name) == expected
    assert prompt_tokens(request) == prompt_tokens(request, DEFAULT)


def test_special_token_spellings_count_as_text() -> None:
    request = Request(model="m", messages=[Message("user", [Text("<|endoftext|>")])])
    assert prompt_tokens(request) > 1 + MESSAGE_OVERHEAD  # spelled out, not the one special token


def test_an_empty_request_counts_at_least_one() -> None:
    assert prompt_tokens(Request(model="m", messages=[])) == 1
