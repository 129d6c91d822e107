"""File, document and audio parts of a request, checked as the providers check them: against the official SDKs'
param types (required fields, types, literals such as Anthropic's ``application/pdf``), plus the rules the types
cannot say (a file needs data, a URL or an id; OpenAI's ``file_data`` is a data URL). Each check returns the problem,
or None; the fake answers it in its provider's error shape."""

from __future__ import annotations

from typing import Any

from anthropic.types import DocumentBlockParam
from openai.types.chat.chat_completion_content_part_input_audio_param import ChatCompletionContentPartInputAudioParam
from openai.types.chat.chat_completion_content_part_param import File as ChatFileParam
from openai.types.responses import ResponseInputFileParam
from pydantic import TypeAdapter, ValidationError

_CHAT_FILE: TypeAdapter[Any] = TypeAdapter(ChatFileParam)
_CHAT_AUDIO: TypeAdapter[Any] = TypeAdapter(ChatCompletionContentPartInputAudioParam)
_RESPONSES_FILE: TypeAdapter[Any] = TypeAdapter(ResponseInputFileParam)
_ANTHROPIC_DOCUMENT: TypeAdapter[Any] = TypeAdapter(DocumentBlockParam)


def _invalid(adapter: TypeAdapter[Any], value: Any) -> str | None:
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
    return None


def _data_url(value: Any) -> str | None:
    if isinstance(value, str) and not (value.startswith("data:") and ";base64," in value):
        return "file_data: expected a base64 data URL (data:<media type>;base64,<data>)"
    return None


def chat_part(part: dict[str, Any]) -> str | None:
    """A Chat user content part of type ``file`` or ``input_audio``."""
    if part.get("type") == "input_audio":
        return _invalid(_CHAT_AUDIO, part)
    problem = _invalid(_CHAT_FILE, part)
    if problem:
        return problem
    file = part["file"]
    if not file.get("file_data") and not file.get("file_id"):
        return "file: one of file_data or file_id is required"
    return _data_url(file.get("file_data"))


def responses_file(part: dict[str, Any]) -> str | None:
    problem = _invalid(_RESPONSES_FILE, part)
    if problem:
        return problem
    if not any(part.get(k) for k in ("file_data", "file_id", "file_url")):
        return "one of file_data, file_id or file_url is required"
    return _data_url(part.get("file_data"))


def anthropic_document(block: dict[str, Any]) -> str | None:
    return _invalid(_ANTHROPIC_DOCUMENT, block)
