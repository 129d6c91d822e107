"""Documents, files and audio in each protocol's shape, and the 400 for a target that has no equivalent.

- an inline PDF (base64): Chat ``file.file_data`` (a data URL) and ``filename``; Responses ``input_file`` with
  ``file_data`` and ``filename``; Anthropic ``document`` with a ``base64`` ``application/pdf`` source.
- plain text: a Chat ``text`` part; a Responses ``input_text``; an Anthropic ``text`` source.
- a URL: Chat —; Responses ``file_url``; Anthropic ``url`` source.
- an OpenAI file id: Chat ``file.file_id``; Responses ``file_id``; Anthropic —.
- an Anthropic file id: Chat —; Responses —; Anthropic ``file`` source.
- audio (Chat ``input_audio``): Chat ``input_audio``; Responses —; Anthropic —.

Inline data other than PDF goes to Anthropic only when it is text (``text/*``, decoded as UTF-8); a filename
becomes Anthropic's ``title`` and back. An Anthropic ``content`` source of text blocks is a plain-text document.
Each "—" is a 400 in the client's shape naming the client's own part (a file id is a file at one provider; the other
cannot read it). Anthropic's ``context``, ``citations`` and ``cache_control`` reach an Anthropic target only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from lip.canonical.request import Audio, Document
from lip.errors import InvalidRequest
from lip.protocols import fields

PDF = "application/pdf"
_ANTHROPIC_EXTRA = ("context", "citations", "cache_control")


def no_equivalent(where: str, what: str, target: str, hint: str) -> InvalidRequest:
    return InvalidRequest(f"'{where}' ({what}) has no equivalent on {target} backend: {hint}", param=where)


def _describe(part: Document | Audio) -> str:
    if isinstance(part, Audio):
        return "input_audio"
    if part.file_id:
        return f"a file id from {'Anthropic' if part.file_host == 'anthropic' else 'OpenAI'}'s Files API"
    return "a document URL" if part.url else "a document"


def _data_url(value: str, filename: str | None) -> tuple[str, str]:
    """(media type, base64) of ``file_data``: a data URL, or bare base64 (a PDF unless the name says text)."""
    if value.startswith("data:"):
        header, _, data = value.partition(",")
        return header[5:].split(";", 1)[0] or PDF, data
    return ("text/plain" if (filename or "").lower().endswith(".txt") else PDF), value


# ---------------------------------------------------------------- decode: client part -> canonical


def _openai_file(holder: dict[str, Any], path: str, at: str, urls: bool) -> Document:
    """The file of a Chat ``file`` part (``holder`` its ``file`` object) or a Responses ``input_file`` (the item)."""
    filename = fields.optional(holder, "filename", str, f"{path}.filename")
    data = fields.optional(holder, "file_data", str, f"{path}.file_data")
    if data is not None:
        media_type, payload = _data_url(data, filename)
        return Document(data=payload, media_type=media_type, filename=filename, where=at)
    url = fields.optional(holder, "file_url", str, f"{path}.file_url") if urls else None
    if url is not None:
        return Document(url=url, filename=filename, where=at)
    file_id = fields.optional(holder, "file_id", str, f"{path}.file_id")
    if file_id is None:
        needed = "file_data, file_url or file_id" if urls else "file_data or file_id"
        raise InvalidRequest(f"'{path}' needs {needed}", param=path)
    return Document(file_id=file_id, file_host="openai", filename=filename, where=at)


def from_chat_file(item: dict[str, Any], at: str) -> Document:
    return _openai_file(fields.required(item, "file", dict, f"{at}.file"), f"{at}.file", at, urls=False)


def from_responses_file(item: dict[str, Any], at: str) -> Document:
    return _openai_file(item, at, at, urls=True)


def from_chat_audio(item: dict[str, Any], at: str) -> Audio:
    audio = fields.required(item, "input_audio", dict, f"{at}.input_audio")
    data = fields.required(audio, "data", str, f"{at}.input_audio.data")
    return Audio(data=data, format=fields.required(audio, "format", str, f"{at}.input_audio.format"), where=at)


def _content_source_text(source: dict[str, Any], at: str) -> str:
    content = fields.required(source, "content", (str, list), f"{at}.content")
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for i, raw in enumerate(content):
        block = fields.expect(raw, dict, f"{at}.content[{i}]")
        if block.get("type") != "text":
            raise InvalidRequest(
                f"'{at}.content[{i}].type' {block.get('type')!r}: lip translates text-only content documents",
                param=f"{at}.content[{i}].type",
            )
        texts.append(fields.required(block, "text", str, f"{at}.content[{i}].text"))
    return "\n\n".join(texts)


def from_anthropic_document(block: dict[str, Any], at: str) -> Document:
    source = fields.required(block, "source", dict, f"{at}.source")
    where = f"{at}.source"
    kind = source.get("type")
    extra = {k: block[k] for k in _ANTHROPIC_EXTRA if block.get(k) is not None} or None
    doc = Document(filename=fields.optional(block, "title", str, f"{at}.title"), where=at, extra=extra)
    if kind == "base64":
        doc.data = fields.required(source, "data", str, f"{where}.data")
        doc.media_type = fields.optional(source, "media_type", str, f"{where}.media_type") or PDF
    elif kind == "text":
        doc.text, doc.media_type = fields.required(source, "data", str, f"{where}.data"), "text/plain"
    elif kind == "content":
        doc.text, doc.media_type = _content_source_text(source, where), "text/plain"
    elif kind == "url":
        doc.url = fields.required(source, "url", str, f"{where}.url")
    elif kind == "file":
        doc.file_id, doc.file_host = fields.required(source, "file_id", str, f"{where}.file_id"), "anthropic"
    else:
        raise InvalidRequest(f"'{where}.type' {kind!r} is not a document source lip knows", param=f"{where}.type")
    return doc


# ---------------------------------------------------------------- encode: canonical -> upstream part


def _filename(doc: Document) -> str:
    return doc.filename or ("document.txt" if (doc.media_type or "").startswith("text/") else "document.pdf")


def chat_part(part: Document | Audio) -> dict[str, Any]:
    if isinstance(part, Audio):
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}}
    if part.text is not None:
        return {"type": "text", "text": part.text}
    if part.data is not None:
        data_url = f"data:{part.media_type or PDF};base64,{part.data}"
        return {"type": "file", "file": {"file_data": data_url, "filename": _filename(part)}}
    if part.file_id and part.file_host == "openai":
        return {"type": "file", "file": {"file_id": part.file_id}}
    hint = "send the file's data instead" if part.file_id else "Chat files are inline data or an OpenAI file id"
    raise no_equivalent(part.where, _describe(part), "a Chat", hint)


def responses_part(part: Document | Audio) -> dict[str, Any]:
    if isinstance(part, Audio):
        raise no_equivalent(part.where, "input_audio", "a Responses", "the Responses API takes no audio input")
    if part.text is not None:
        return {"type": "input_text", "text": part.text}
    if part.data is not None:
        data_url = f"data:{part.media_type or PDF};base64,{part.data}"
        return {"type": "input_file", "file_data": data_url, "filename": _filename(part)}
    if part.url is not None:
        return {"type": "input_file", "file_url": part.url}
    if part.file_id and part.file_host == "openai":
        return {"type": "input_file", "file_id": part.file_id}
    raise no_equivalent(part.where, _describe(part), "a Responses", "send the file's data instead")


def _inline_text(doc: Document) -> str:
    try:
        return base64.b64decode(doc.data or "", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"'{doc.where}' is not base64 of UTF-8 text", param=doc.where) from exc


def _anthropic_source(doc: Document) -> dict[str, Any]:
    if doc.text is not None:
        return {"type": "text", "media_type": "text/plain", "data": doc.text}
    if doc.data is not None and doc.media_type == PDF:
        return {"type": "base64", "media_type": PDF, "data": doc.data}
    if doc.data is not None and (doc.media_type or "").startswith("text/"):
        return {"type": "text", "media_type": "text/plain", "data": _inline_text(doc)}
    if doc.data is not None:
        raise no_equivalent(
            doc.where, f"a {doc.media_type} file", "an Anthropic", "Anthropic documents are PDF or plain text"
        )
    if doc.url is not None:
        return {"type": "url", "url": doc.url}
    if doc.file_id and doc.file_host == "anthropic":
        return {"type": "file", "file_id": doc.file_id}
    raise no_equivalent(doc.where, _describe(doc), "an Anthropic", "send the file's data instead")


def anthropic_block(part: Document | Audio) -> dict[str, Any]:
    if isinstance(part, Audio):
        raise no_equivalent(part.where, "input_audio", "an Anthropic", "Anthropic models take no audio input")
    block: dict[str, Any] = {"type": "document", "source": _anthropic_source(part)}
    if part.filename:
        block["title"] = part.filename
    return {**block, **(part.extra or {})}
