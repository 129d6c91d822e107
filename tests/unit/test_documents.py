"""Documents and audio in the codecs: a same-protocol translation keeps them as sent, a stored conversation keeps
them for ``previous_response_id``, and inline data Anthropic cannot read is refused naming the client's part."""

from __future__ import annotations

from typing import Any

import pytest

from lip.canonical import Document, Message, Text
from lip.errors import InvalidRequest
from lip.protocols.anthropic_messages import AnthropicMessagesCodec
from lip.protocols.openai_chat import OpenAIChatCodec
from lip.protocols.openai_responses import OpenAIResponsesCodec
from lip.response_store import StoredConversation, decode_conversation, encode_conversation

PDF_URL = "data:application/pdf;base64,JVBERi0xLjQK"
AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRiQAAABXQVZF", "format": "wav"}}
CHAT_FILE = {"type": "file", "file": {"file_data": PDF_URL, "filename": "q3.pdf"}}


def test_a_chat_request_translated_to_chat_keeps_its_file_and_audio_parts() -> None:
    codec = OpenAIChatCodec()
    content: list[Any] = [{"type": "text", "text": "What is in these?"}, CHAT_FILE, AUDIO]
    request = codec.decode_request({"model": "m", "messages": [{"role": "user", "content": content}]}, {})
    assert codec.encode_request(request, "m")["messages"][0]["content"] == content


def test_a_responses_request_translated_to_responses_keeps_its_files() -> None:
    codec = OpenAIResponsesCodec()
    content: list[Any] = [
        {"type": "input_file", "file_data": PDF_URL, "filename": "q3.pdf"},
        {"type": "input_file", "file_url": "https://docs.example/a.pdf"},
        {"type": "input_file", "file_id": "file-abc"},
    ]
    request = codec.decode_request({"model": "m", "input": [{"role": "user", "content": content}]}, {})
    assert codec.encode_request(request, "m")["input"][0]["content"] == content


def test_an_inline_file_anthropic_cannot_read_is_refused_naming_the_part() -> None:
    docx = "data:application/vnd.openxmlformats-officedocument.wordprocessingml.document;base64,UEsDBA=="
    part = {"type": "file", "file": {"file_data": docx, "filename": "a.docx"}}
    request = OpenAIChatCodec().decode_request({"model": "m", "messages": [{"role": "user", "content": [part]}]}, {})
    with pytest.raises(InvalidRequest) as caught:
        AnthropicMessagesCodec().encode_request(request, "claude")
    assert caught.value.param == "messages[0].content[0]" and "wordprocessingml" in caught.value.message


def test_a_stored_conversation_keeps_its_documents() -> None:
    doc = Document(data="JVBERi0xLjQK", media_type="application/pdf", filename="q3.pdf", where="input[0].content[1]")
    stored = StoredConversation(system=[], messages=[Message("user", [Text("Read it"), doc])])
    assert decode_conversation(encode_conversation(stored)) == stored
