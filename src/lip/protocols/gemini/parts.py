"""Gemini ``contents[].parts[]`` <-> canonical messages: the request side of the Gemini codec, and the model parts
of an answer.

Decoding (a client's body -> canonical) validates as it goes and raises ``InvalidRequest`` naming the field:

- roles ``user`` and ``model`` (``function``/``tool``, as older clients send function responses, are user turns);
- ``text`` (``thought: true`` is reasoning), ``inlineData`` (images; PDFs, text and other files as documents; WAV
  and MP3 as audio), ``fileData`` (a URL: images as image URLs, the rest as document URLs), ``functionCall``,
  ``functionResponse`` (``{"output": ...}``/``{"result": ...}`` is its text, ``{"error": ...}`` an error result,
  any other object its JSON; images in its ``parts`` follow); ``executableCode``, ``codeExecutionResult`` and
  other server-side parts are dropped and named;
- calls get ids lip mints from their position (stable, so an upstream's prompt cache still matches), carrying the
  part's thought signature; a ``functionResponse`` finds its call by id, else the earliest unanswered call of its
  name.

Encoding (canonical -> an upstream body) repairs what the API would reject, as the Anthropic codec does:

- turns alternate; consecutive same-role turns merge; a conversation that opens with a model turn gets a one-word
  user turn before it; a mid-conversation system message becomes ``<system>…</system>`` text in a user turn;
- a model turn's calls are answered, in their order, at the head of the next user turn: a missing response is an
  error response saying so, and a result whose call is not in that turn becomes text; a result's images follow the
  responses as inline data;
- only Gemini reasoning goes back: a signed thought part as it came, a signature on the part it was on; other
  providers' reasoning is dropped; the first call of a model turn that has no signature (history another provider
  made) gets Google's documented stand-in, so Gemini 3 does not refuse the turn.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

import orjson

from lip.canonical.request import (
    Audio,
    Document,
    Image,
    Message,
    Part,
    Reasoning,
    Role,
    Text,
    ToolCall,
    ToolResult,
)
from lip.errors import InvalidRequest
from lip.protocols import documents, fields
from lip.protocols.gemini import wire

log = logging.getLogger("lip.protocols.gemini")

MISSING_RESULT = "No result was provided for this tool call."
OPENING_USER_TEXT = "(continue)"
AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mp3": "mp3", "audio/mpeg": "mp3"}
_RESULT_KEYS = ("output", "result", "content")
_IMAGE_MAGIC = (("/9j/", "image/jpeg"), ("iVBOR", "image/png"), ("R0lGOD", "image/gif"), ("UklGR", "image/webp"))
_SERVER_PARTS = ("executableCode", "codeExecutionResult", "toolCall", "toolResponse")


# ---------------------------------------------------------------- decode: client contents -> canonical


class CallIds:
    """The function calls of a client's conversation, so that a ``functionResponse`` finds its call."""

    def __init__(self) -> None:
        self._open: list[tuple[str, str, str | None]] = []  # (canonical id, name, the client's id), unanswered

    def call(self, given: str | None, name: str, seed: str, signature: str | None) -> str:
        call_id = given if given and signature is None else wire.mint_call_id(seed, signature)
        self._open.append((call_id, name, given))
        return call_id

    def result(self, given: str | None, name: str, seed: str) -> str:
        for position, (call_id, _, call_given) in enumerate(self._open):
            if given and given in (call_id, call_given):
                del self._open[position]
                return call_id
        for position, (call_id, call_name, _) in enumerate(self._open):
            if call_name == name:
                del self._open[position]
                return call_id
        return given or wire.mint_call_id(seed)


def _inline(blob: dict[str, Any], at: str) -> Part:
    mime = wire.required(blob, "mimeType", str, f"{at}.mimeType").lower()
    # google-genai sends bytes base64url-encoded; OpenAI and Anthropic take standard base64 only
    data = wire.required(blob, "data", str, f"{at}.data").replace("-", "+").replace("_", "/")
    if mime.startswith("image/"):
        return Image(data=data, media_type=mime)
    if mime in AUDIO_FORMATS:
        return Audio(data=data, format=AUDIO_FORMATS[mime], where=at)
    return Document(data=data, media_type=mime, where=at)


def _file(file: dict[str, Any], at: str) -> Part:
    uri = wire.required(file, "fileUri", str, f"{at}.fileUri")
    mime = (wire.optional(file, "mimeType", str, f"{at}.mimeType") or "").lower()
    if mime.startswith("image/"):
        return Image(url=uri, media_type=mime)
    return Document(url=uri, media_type=mime or None, where=at)


def _response_content(response: dict[str, Any], more: Any, at: str) -> tuple[list[Text | Image], bool]:
    """A function response's text (and error flag), then the images of its ``parts``."""
    is_error = "error" in response and not any(k in response for k in _RESULT_KEYS)
    value: Any = response
    if is_error:
        value = response["error"]
    elif len(response) == 1 and next(iter(response)) in _RESULT_KEYS:
        value = next(iter(response.values()))
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    content: list[Text | Image] = [Text(text)] if text else []
    for j, raw in enumerate(fields.expect(more, list, f"{at}.parts") if more is not None else ()):
        where = f"{at}.parts[{j}]"
        blob = wire.get(fields.expect(raw, dict, where), "inlineData")
        part = _inline(fields.expect(blob, dict, f"{where}.inlineData"), f"{where}.inlineData") if blob else None
        if isinstance(part, Image):
            content.append(part)
        else:
            log.debug("dropping a non-image part of a function response: other targets take images only")
    return content, is_error


def _function_response(value: Any, at: str, calls: CallIds, seed: str) -> ToolResult:
    where = f"{at}.functionResponse"
    response_part = fields.expect(value, dict, where)
    name = wire.required(response_part, "name", str, f"{where}.name")
    response = wire.optional(response_part, "response", dict, f"{where}.response") or {}
    given = wire.optional(response_part, "id", str, f"{where}.id")
    content, is_error = _response_content(response, wire.get(response_part, "parts"), where)
    return ToolResult(call_id=calls.result(given, name, seed), content=content, is_error=is_error)


def _function_call(value: Any, at: str, calls: CallIds, seed: str, signature: str | None) -> ToolCall:
    where = f"{at}.functionCall"
    call = fields.expect(value, dict, where)
    name = wire.required(call, "name", str, f"{where}.name")
    args = wire.optional(call, "args", dict, f"{where}.args") or {}
    given = wire.optional(call, "id", str, f"{where}.id")
    return ToolCall(id=calls.call(given, name, seed, signature), name=name, arguments=orjson.dumps(args).decode())


def decode_part(part: dict[str, Any], at: str, seed: str, model: bool, calls: CallIds, dropped: set[str]) -> list[Part]:
    """One part of a client's content at ``at``; ``seed`` (its position) mints the ids of its calls."""
    signature = wire.optional(part, "thoughtSignature", str, f"{at}.thoughtSignature") if model else None
    text = wire.optional(part, "text", str, f"{at}.text")
    if text is not None and model and wire.get(part, "thought") is True:
        return [Reasoning(text=text, encrypted=wire.wrap_signature(signature) if signature else None)]
    if wire.has(part, "functionCall"):
        return [_function_call(wire.get(part, "functionCall"), at, calls, seed, signature if model else None)]
    found: list[Part] = []
    if text is not None:
        found += [Text(text)] if text else []
    elif wire.has(part, "functionResponse"):
        found.append(_function_response(wire.get(part, "functionResponse"), at, calls, seed))
    elif wire.has(part, "inlineData"):
        found.append(_inline(fields.expect(wire.get(part, "inlineData"), dict, f"{at}.inlineData"), f"{at}.inlineData"))
    elif wire.has(part, "fileData"):
        found.append(_file(fields.expect(wire.get(part, "fileData"), dict, f"{at}.fileData"), f"{at}.fileData"))
    else:
        dropped.update(f"contents[].parts[].{key}" for key in _SERVER_PARTS if wire.has(part, key))
    if signature:
        found.append(Reasoning(encrypted=wire.wrap_signature(signature)))
    return found


def decode_contents(items: Any, dropped: set[str]) -> list[Message]:
    messages: list[Message] = []
    calls = CallIds()
    for i, raw in enumerate(fields.expect(items, list, "contents")):
        at = f"contents[{i}]"
        content = fields.expect(raw, dict, at)
        role = wire.optional(content, "role", str, f"{at}.role") or "user"
        if role not in ("user", "model", "function", "tool"):
            raise InvalidRequest(f"'{at}.role' must be user or model, not {role!r}", param=f"{at}.role")
        canonical: Role = "assistant" if role == "model" else "user"
        if not messages or messages[-1].role != canonical:
            messages.append(Message(role=canonical, content=[]))
        turn = messages[-1].content  # consecutive contents of a role are one turn (the SDK's chat splits a stream)
        for j, value in enumerate(wire.required(content, "parts", list, f"{at}.parts")):
            where = f"{at}.parts[{j}]"
            for part in decode_part(
                fields.expect(value, dict, where), where, f"{i}:{j}", role == "model", calls, dropped
            ):
                _add(turn, part)
    return [m for m in messages if m.content]


def _add(turn: list[Part], part: Part) -> None:
    """A signature alone right after an unsigned thought closes that thought run (Gemini streams it so)."""
    last = turn[-1] if turn else None
    signature_only = isinstance(part, Reasoning) and part.encrypted is not None and not part.text
    if signature_only and isinstance(last, Reasoning) and last.text and last.encrypted is None:
        last.encrypted = part.encrypted if isinstance(part, Reasoning) else None
        return
    turn.append(part)


def decode_system(value: Any) -> list[Text]:
    """``systemInstruction``: a Content whose text parts are the system prompt (a bare string is taken too)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Text(value)] if value else []
    instruction = fields.expect(value, dict, "systemInstruction")
    texts: list[Text] = []
    for j, raw in enumerate(wire.optional(instruction, "parts", list, "systemInstruction.parts") or ()):
        at = f"systemInstruction.parts[{j}]"
        text = wire.required(fields.expect(raw, dict, at), "text", str, f"{at}.text")
        if text:
            texts.append(Text(text))
    return texts


# ---------------------------------------------------------------- encode: canonical -> Gemini parts


def _args(call: ToolCall) -> dict[str, Any]:
    if call.kind == "custom":
        return {"input": call.arguments}
    try:
        value = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {"input": call.arguments}
    return value if isinstance(value, dict) else {"input": value}


def function_call_part(call: ToolCall, client: bool) -> dict[str, Any]:
    """A call as a ``functionCall`` part, its signature back on it. A client sees the call's id unless lip minted
    it (Gemini gives none); an upstream never gets one (some Gemini-compatible servers refuse it)."""
    function: dict[str, Any] = {"name": call.name, "args": _args(call)}
    if client and not wire.minted(call.id):
        function["id"] = call.id
    part: dict[str, Any] = {"functionCall": function}
    signature = wire.call_signature(call.id)
    if signature:
        part["thoughtSignature"] = signature
    return part


def model_parts(content: list[Any], *, client: bool, thoughts: bool) -> list[dict[str, Any]]:
    """An answer's (or an assistant turn's) parts. ``client``: for a Gemini client (thought text shown when it asked
    for ``thoughts``); else for an upstream (only Gemini's signed thoughts go back)."""
    out: list[dict[str, Any]] = []
    pending: str | None = None  # a signature for the part that comes next
    for part in content:
        new: dict[str, Any] | None = None
        if isinstance(part, Text):
            new = {"text": part.text} if part.text else None
        elif isinstance(part, ToolCall):
            new = function_call_part(part, client)
        elif isinstance(part, Reasoning):
            signature = wire.unwrap_signature(part.encrypted)
            if part.text and (thoughts if client else signature is not None):
                new = {"text": part.text, "thought": True}
                if signature:
                    new["thoughtSignature"] = signature
            elif signature is not None:
                last = out[-1] if out else None
                if last is not None and "text" in last and "thoughtSignature" not in last:
                    last["thoughtSignature"] = signature
                else:
                    pending = signature
        if new is None:
            continue
        if pending is not None and "thoughtSignature" not in new:
            new["thoughtSignature"] = pending
        pending = None
        out.append(new)
    if pending is not None and client:
        out.append({"text": "", "thoughtSignature": pending})
    return out


def _sniff(data: str) -> str:
    return next((kind for magic, kind in _IMAGE_MAGIC if data.startswith(magic)), "image/png")


def _guess(url: str) -> str | None:
    return mimetypes.guess_type(url.split("?", 1)[0])[0]


def user_part(part: Part) -> dict[str, Any] | None:
    """A user turn's text, image, document or audio as a Gemini part (None: nothing to send)."""
    if isinstance(part, Text):
        return {"text": part.text} if part.text else None
    if isinstance(part, Image):
        if part.data is not None:
            return {"inlineData": {"mimeType": part.media_type or _sniff(part.data), "data": part.data}}
        url = part.url or ""
        file: dict[str, Any] = {"fileUri": url}
        mime = part.media_type or _guess(url)
        return {"fileData": {"mimeType": mime, **file} if mime else file}
    if isinstance(part, Audio):
        return {"inlineData": {"mimeType": f"audio/{part.format}", "data": part.data}}
    if isinstance(part, Document):
        return _document(part)
    return None


def _document(doc: Document) -> dict[str, Any]:
    if doc.text is not None:
        return {"text": doc.text}
    if doc.data is not None:
        return {"inlineData": {"mimeType": doc.media_type or documents.PDF, "data": doc.data}}
    if doc.url is not None:
        mime = doc.media_type or _guess(doc.url)
        return {"fileData": {"mimeType": mime, "fileUri": doc.url} if mime else {"fileUri": doc.url}}
    raise documents.no_equivalent(
        doc.where, "a file id from another provider's Files API", "a Gemini", "send the file's data instead"
    )


def _result_text(result: ToolResult) -> str:
    return "\n".join(p.text for p in result.content if isinstance(p, Text))


def response_part(result: ToolResult, name: str) -> dict[str, Any]:
    key = "error" if result.is_error else "output"
    return {"functionResponse": {"name": name, "response": {key: _result_text(result)}}}


def _answers(calls: list[ToolCall], parts: list[Part]) -> tuple[list[dict[str, Any]], list[Part]]:
    """The responses to ``calls`` in their order (a missing one says so) and the other parts of the user turn; a
    result of no call of that model turn becomes text there."""
    results = {p.call_id: p for p in parts if isinstance(p, ToolResult)}
    answered: list[dict[str, Any]] = []
    images: list[Part] = []
    for call in calls:
        result = results.pop(call.id, None)
        if result is None:
            log.debug("answering tool call %s, which has no result, with an error response", call.name)
            result = ToolResult(call.id, [Text(MISSING_RESULT)], is_error=True)
        answered.append(response_part(result, call.name))
        shown = [p for p in result.content if isinstance(p, Image)]
        images += [Text(f"[image from tool call {call.name}]"), *shown] if shown else []
    rest: list[Part] = images
    for part in parts:
        if isinstance(part, ToolResult):
            if part.call_id in results:
                log.debug("sending a tool result without its call as text")
                label = "error" if part.is_error else "result"
                shown = [p for p in part.content if isinstance(p, Image)]
                rest += [Text(f"[{label} of tool call {part.call_id}]\n{_result_text(part)}"), *shown]
        else:
            rest.append(part)
    return answered, rest


def _turns(messages: list[Message]) -> list[tuple[str, list[Part]]]:
    """Canonical messages as alternating (Gemini role, parts); system messages become user text in place."""
    turns: list[tuple[str, list[Part]]] = []
    for message in messages:
        role = "model" if message.role == "assistant" else "user"
        content = message.content
        if message.role in ("system", "developer"):
            text = "\n".join(p.text for p in content if isinstance(p, Text))
            content = [Text(f"<system>\n{text}\n</system>")] if text else []
        if not content:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(content)
        else:
            turns.append((role, list(content)))
    return turns


def _answered(turns: list[tuple[str, list[Part]]]) -> list[tuple[str, list[Part]]]:
    """``turns`` with a user turn after every model turn that calls tools (where its responses go, as the API
    requires), and a user turn first when the conversation opens with a model turn."""
    out: list[tuple[str, list[Part]]] = []
    for position, (role, content) in enumerate(turns):
        if role == "model" and not out:
            out.append(("user", [Text(OPENING_USER_TEXT)]))
        out.append((role, content))
        follows = turns[position + 1][0] if position + 1 < len(turns) else None
        if role == "model" and follows != "user" and any(isinstance(p, ToolCall) for p in content):
            out.append(("user", []))
    return out


def encode_contents(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    calls: list[ToolCall] = []  # the previous model turn's calls
    for role, content in _answered(_turns(messages)):
        if role == "model":
            parts = model_parts(content, client=False, thoughts=False)
            calls = [p for p in content if isinstance(p, ToolCall)]
            first = next((p for p in parts if "functionCall" in p), None)
            if first is not None and "thoughtSignature" not in first:
                first["thoughtSignature"] = wire.FOREIGN_SIGNATURE
        else:
            answered, rest = _answers(calls, content)
            parts = answered + [p for p in map(user_part, rest) if p is not None]
            calls = []
        if parts:
            out.append({"role": role, "parts": parts})
    return out
