"""An estimate of a request's input tokens, for backends that cannot count and for context-window routing.

Approximate by design (about four characters a token, a typical image's cost): a stand-in until the tokenizer of
the Go project's ``tokenizer`` names counts them. Except for images given by URL, never more than the bytes of the
request's body (a token is at least one byte), which lets lip.routing.context skip estimating a body smaller than
every window.
"""

from __future__ import annotations

import orjson

from lip.canonical.request import Image, Reasoning, Request, Text, ToolCall, ToolResult

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1600  # a typical image's cost; an estimate is all a non-Anthropic backend allows
MESSAGE_OVERHEAD = 4


def estimate_tokens(request: Request) -> int:
    """A character-based estimate, for backends that cannot count (documented as approximate)."""
    chars = sum(len(t.text) for t in request.system)
    images = 0
    for message in request.messages:
        chars += MESSAGE_OVERHEAD * CHARS_PER_TOKEN
        for part in message.content:
            match part:
                case Text(text=text) | Reasoning(text=text):
                    chars += len(text)
                case ToolCall(name=name, arguments=arguments):
                    chars += len(name) + len(arguments)
                case ToolResult(content=content):
                    chars += sum(len(p.text) for p in content if isinstance(p, Text))
                    images += sum(1 for p in content if isinstance(p, Image))
                case Image():
                    images += 1
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(orjson.dumps(tool.parameters or {}))
    return max(1, -(-chars // CHARS_PER_TOKEN) + images * IMAGE_TOKENS)
