"""Property: a canonical conversation sent to Gemini and read back as a Gemini client's body is the same
conversation — every text in order, every call's name and arguments, every result on its own call with its text and
error flag — and the body is one the google-genai SDK's types accept."""

from __future__ import annotations

from typing import Any

import orjson
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from lip.canonical.request import Message, Part, Request, Text, ToolCall, ToolResult
from lip.protocols.gemini import GeminiCodec

CODEC = GeminiCodec()
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_args = st.dictionaries(st.text(max_size=4), st.one_of(st.integers(-(2**53), 2**53), _text, st.booleans()), max_size=3)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    messages: list[Message] = [Message("user", [Text(draw(_text))])]
    for turn in range(draw(st.integers(0, 4))):
        calls = [
            ToolCall(id=f"c{turn}_{k}", name=draw(st.sampled_from(["read", "ls", "grep"])), arguments="")
            for k in range(draw(st.integers(0, 3)))
        ]
        for call in calls:
            call.arguments = orjson.dumps(draw(_args)).decode()
        texts: list[Part] = [Text(draw(_text))] if draw(st.booleans()) or not calls else []
        messages.append(Message("assistant", [*texts, *calls]))
        results: list[Part] = [ToolResult(c.id, [Text(draw(_text))], is_error=draw(st.booleans())) for c in calls]
        messages.append(Message("user", [*results, *([Text(draw(_text))] if draw(st.booleans()) else [])]))
    return messages


def _shape(messages: list[Message]) -> list[tuple[str, list[Any]]]:
    """The conversation with call ids replaced by the call's position, so two mintings compare."""
    positions: dict[str, int] = {}
    shape: list[tuple[str, list[Any]]] = []
    for message in messages:
        items: list[Any] = []
        for part in message.content:
            if isinstance(part, Text):
                items.append(("text", part.text))
            elif isinstance(part, ToolCall):
                positions[part.id] = len(positions)
                items.append(("call", part.name, orjson.loads(part.arguments)))
            elif isinstance(part, ToolResult):
                text = "".join(p.text for p in part.content if isinstance(p, Text))
                items.append(("result", positions[part.call_id], text, part.is_error))
        if not items:
            continue  # an empty turn is not sent
        if shape and shape[-1][0] == message.role:
            shape[-1][1].extend(items)
        else:
            shape.append((message.role, items))
    return shape


@settings(max_examples=200, deadline=None)
@given(conversations())
def test_a_conversation_survives_the_way_to_gemini_and_back(messages: list[Message]) -> None:
    body = CODEC.encode_request(Request(model="m", messages=messages), "gemini-2.5-flash")
    for content in body["contents"]:
        types.Content.model_validate_json(orjson.dumps(content))
    back = CODEC.decode_request({**body, "model": "m"}, {})
    assert _shape(back.messages) == _shape(messages)
