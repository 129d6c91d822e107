"""OpenAI Responses input items <-> canonical parts: the request side of the Responses codec (its output items and
the response object are in ``output``).

Decoding (client body -> canonical) validates as it goes and raises ``InvalidRequest`` naming the field:

- ``input`` items in order: ``message`` (role user/assistant/system/developer), ``reasoning``, ``function_call``,
  ``function_call_output``, ``custom_tool_call``, ``custom_tool_call_output``. Items the model produced
  (reasoning, assistant messages, calls) are merged into one assistant turn; tool outputs and user messages into
  one user turn. System/developer messages before the first turn join ``instructions`` as the system prompt; later
  ones become a ``system`` message at their place. Ids are optional (Codex sends items without them).
- Records of hosted tools (``web_search_call``, ``file_search_call``, ...) are dropped with a debug log: their
  results already live in the assistant's text. ``item_reference`` and anything else unknown is a 400 naming it.
- Tool declarations (function and custom tools, ``namespace`` groups, ``additional_tools`` items) are read by
  ``tools``; a call item's ``namespace`` is folded into its canonical name there, and unfolded here.

A reasoning item's ``encrypted_content`` is read back as ``output`` wrote it (``output.reasoning_from_payload``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from lip.canonical.request import (
    Audio,
    Document,
    Image,
    Message,
    Part,
    Reasoning,
    Request,
    Text,
    ToolCall,
    ToolChoice,
    ToolOrigin,
    ToolResult,
    ToolSpec,
)
from lip.errors import InvalidRequest
from lip.protocols import documents, fields
from lip.protocols.openai_chat.codec import tool_choice_opening
from lip.protocols.openai_responses import tools as responses_tools
from lip.protocols.openai_responses.output import LIP_ENVELOPE, minted_by_lip, reasoning_from_payload
from lip.protocols.openai_responses.tools import TOOL_KINDS

log = logging.getLogger("lip.protocols.openai_responses")

# Records of hosted tools that a client sends back; nothing to translate, the results are in the assistant text.
HOSTED_CALL_RECORDS = frozenset(
    {"web_search_call", "file_search_call", "image_generation_call", "code_interpreter_call", "mcp_list_tools"}
)
_MODEL_ITEMS = frozenset({"reasoning", "function_call", "custom_tool_call"})
_OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
_ROLES = ("user", "assistant", "system", "developer")


# ---------------------------------------------------------------- decode: client body -> canonical


def _image(item: dict[str, Any], at: str) -> Image:
    if item.get("file_id") is not None:
        raise InvalidRequest(
            f"'{at}.file_id' is not supported: lip keeps no files; send the image as 'image_url'", param=f"{at}.file_id"
        )
    url = fields.required(item, "image_url", str, f"{at}.image_url")
    detail = fields.optional(item, "detail", str, f"{at}.detail")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return Image(data=data, media_type=header[5:].split(";", 1)[0] or None, detail=detail)
    return Image(url=url, detail=detail)


def content_parts(content: Any, where: str) -> list[Text | Image | Document]:
    """A message's or a tool output's content: a string or a list of input/output parts."""
    if isinstance(content, str):
        return [Text(content)] if content else []
    parts: list[Text | Image | Document] = []
    for i, raw in enumerate(fields.expect(content, list, where)):
        at = f"{where}[{i}]"
        item = fields.expect(raw, dict, at)
        kind = item.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(Text(fields.required(item, "text", str, f"{at}.text")))
        elif kind == "refusal":
            parts.append(Text(fields.required(item, "refusal", str, f"{at}.refusal")))
        elif kind == "input_image":
            parts.append(_image(item, at))
        elif kind == "input_file":
            parts.append(documents.from_responses_file(item, at))
        else:
            raise InvalidRequest(f"'{at}.type' {kind!r} is not supported by lip's Responses translation", param=at)
    return parts


def _tool_output(item: dict[str, Any], at: str) -> tuple[list[Text | Image], bool]:
    output = item.get("output")
    if isinstance(output, dict) and isinstance(output.get("content"), str):  # older Codex: {content, success}
        return [Text(output["content"])] if output["content"] else [], output.get("success") is False
    if output is None:
        raise InvalidRequest(f"'{at}.output' is required", param=f"{at}.output")
    parts: list[Text | Image] = []
    for part in content_parts(output, f"{at}.output"):
        if isinstance(part, Document):
            raise InvalidRequest(f"'{part.where}': lip translates no files in a tool output", param=part.where)
        parts.append(part)
    return parts, False


def _reasoning(item: dict[str, Any], at: str) -> Reasoning:
    summary = fields.optional(item, "summary", list, f"{at}.summary") or []
    texts = [s.get("text") for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str)]
    if not texts:
        content = fields.optional(item, "content", list, f"{at}.content") or []
        texts = ["".join(c["text"] for c in content if isinstance(c, dict) and isinstance(c.get("text"), str))]
    payload = fields.optional(item, "encrypted_content", str, f"{at}.encrypted_content")
    return reasoning_from_payload("\n\n".join(t for t in texts if t), payload, fields.optional(item, "id", str))


def _arguments(item: dict[str, Any], key: str, at: str) -> str:
    value = item.get(key)
    if isinstance(value, dict):  # lenient: an object where a JSON string belongs
        return orjson.dumps(value).decode()
    return fields.optional(item, key, str, f"{at}.{key}") or ""


def _model_item(kind: str, item: dict[str, Any], at: str) -> Part:
    if kind == "reasoning":
        return _reasoning(item, at)
    call_id = fields.required(item, "call_id", str, f"{at}.call_id")
    name = responses_tools.call_name(item, at)
    if kind == "function_call":
        return ToolCall(id=call_id, name=name, arguments=_arguments(item, "arguments", at))
    return ToolCall(id=call_id, name=name, arguments=_arguments(item, "input", at), kind="custom")


class _Conversation:
    """Accumulates input items into canonical turns."""

    def __init__(self, system: list[Text]) -> None:
        self.system = system
        self.messages: list[Message] = []

    def push(self, role: str, parts: list[Part]) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == role and role in ("user", "assistant"):
            last.content.extend(parts)
        else:
            self.messages.append(Message(role=role, content=parts))  # type: ignore[arg-type]

    def message(self, item: dict[str, Any], at: str) -> None:
        role = fields.required(item, "role", str, f"{at}.role")
        if role not in _ROLES:
            raise InvalidRequest(f"'{at}.role' {role!r} is not one of {', '.join(_ROLES)}", param=f"{at}.role")
        parts: list[Part] = list(content_parts(item.get("content", ""), f"{at}.content"))
        if role in ("system", "developer"):
            texts = [p for p in parts if isinstance(p, Text)]
            if self.messages:
                self.messages.append(Message(role="system", content=list(texts)))
            else:
                self.system.extend(texts)
            return
        self.push(role, parts)

    def item(self, raw: Any, at: str) -> None:
        item = fields.expect(raw, dict, at)
        kind = fields.optional(item, "type", str, f"{at}.type")
        if kind is None and "role" in item:
            kind = "message"
        if kind == "message":
            self.message(item, at)
        elif kind in _MODEL_ITEMS:
            self.push("assistant", [_model_item(kind, item, at)])
        elif kind in _OUTPUT_ITEMS:
            content, is_error = _tool_output(item, at)
            call_id = fields.required(item, "call_id", str, f"{at}.call_id")
            result = ToolResult(call_id=call_id, content=content, is_error=is_error)
            if kind == "custom_tool_call_output":
                result.kind = "custom"
            self.push("user", [result])
        elif kind == responses_tools.ADDITIONAL_TOOLS:
            return  # declarations: read with the tools (responses_tools.declared_tools)
        elif kind in HOSTED_CALL_RECORDS:
            log.debug("dropping a %s input item: hosted tool records have no canonical form", kind)
        elif kind == "item_reference":
            raise InvalidRequest(
                f"'{at}.type' 'item_reference' is not supported: lip keeps no items by id; send the item itself",
                param=f"{at}.type",
            )
        elif kind is None:
            raise InvalidRequest(f"'{at}.type' is required", param=f"{at}.type")
        else:
            raise InvalidRequest(f"'{at}.type' {kind!r} is not supported by lip's Responses translation", param=at)


def decode_input(value: Any, instructions: Any) -> tuple[list[Text], list[Message]]:
    """``instructions`` and ``input`` -> (system, messages)."""
    text = fields.expect(instructions, str, "instructions") if instructions is not None else ""
    conversation = _Conversation([Text(text)] if text else [])
    if isinstance(value, str):
        conversation.push("user", [Text(value)])
    else:
        for i, raw in enumerate(fields.expect(value, list, "input")):
            conversation.item(raw, f"input[{i}]")
    return conversation.system, conversation.messages


def decode_tool_choice(value: Any, parallel: Any) -> ToolChoice | None:
    choice, value = tool_choice_opening(value, parallel, "a tool object")
    if choice is None or value is None:
        return choice
    kind = fields.required(value, "type", str, "tool_choice.type")
    if kind in TOOL_KINDS:
        choice.mode, choice.name = "tool", responses_tools.call_name(value, "tool_choice")
    elif kind == "allowed_tools":
        choice.mode = "required" if value.get("mode") == "required" else "auto"
        log.debug("tool_choice allowed_tools narrows to %s for non-Responses targets", choice.mode)
    else:
        log.debug("tool_choice for built-in tool %r becomes auto for non-Responses targets", kind)
    return choice


def decode_text_format(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    fmt = fields.optional(fields.expect(text, dict, "text"), "format", dict, "text.format")
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "name": fields.optional(fmt, "name", str, "text.format.name") or "response",
            "schema": fields.required(fmt, "schema", dict, "text.format.schema"),
            "strict": fields.optional(fmt, "strict", bool, "text.format.strict"),
            "description": fields.optional(fmt, "description", str, "text.format.description"),
        }
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "text":
        return None
    raise InvalidRequest("'text.format.type' must be text, json_object or json_schema", param="text.format.type")


# ---------------------------------------------------------------- encode: canonical -> upstream input items


def _input_image(image: Image) -> dict[str, Any]:
    url = image.url if image.url is not None else f"data:{image.media_type or 'image/png'};base64,{image.data}"
    return {"type": "input_image", "image_url": url, "detail": image.detail or "auto"}


def _input_part(part: Text | Image | Document | Audio) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, Image):
        return _input_image(part)
    return documents.responses_part(part)


def _input_content(parts: Sequence[Text | Image | Document | Audio]) -> list[dict[str, Any]]:
    return [_input_part(p) for p in parts]


def _result_output(result: ToolResult) -> str | list[dict[str, Any]]:
    parts = list(result.content)
    if result.is_error:  # Responses has no error flag: say it in the output, as the Chat codec does
        first = parts[0] if parts else None
        if not isinstance(first, Text):
            parts.insert(0, Text("Error"))
        elif not first.text.startswith("Error"):
            parts[0] = Text("Error: " + first.text)
    if all(isinstance(p, Text) for p in parts):
        return "\n".join(p.text for p in parts if isinstance(p, Text))
    return _input_content(parts)


def _call_item(call: ToolCall, custom_names: frozenset[str], origins: dict[str, ToolOrigin]) -> dict[str, Any]:
    named = responses_tools.origin_fields(origins.get(call.name), call.name)
    if call.kind == "custom" or call.name in custom_names:
        return {"type": "custom_tool_call", "call_id": call.id, **named, "input": call.arguments}
    return {"type": "function_call", "call_id": call.id, **named, "arguments": call.arguments or "{}"}


def _reasoning_item(part: Reasoning) -> dict[str, Any] | None:
    if not part.encrypted or part.encrypted.startswith(LIP_ENVELOPE):
        log.debug("dropping reasoning without a Responses backend's encrypted_content: it cannot take it back")
        return None
    summary = [{"type": "summary_text", "text": part.text}] if part.text else []
    # No id: lip cannot tell an upstream's genuine id from one it minted for a client, and the API takes id-less
    # reasoning items that carry encrypted_content (Codex sends them so).
    return {"type": "reasoning", "summary": summary, "encrypted_content": part.encrypted}


def _assistant_items(
    message: Message, custom_names: frozenset[str], origins: dict[str, ToolOrigin], out: list[dict[str, Any]]
) -> None:
    texts: list[str] = []

    def flush() -> None:
        if texts:
            content = [{"type": "output_text", "text": t} for t in texts]
            out.append({"type": "message", "role": "assistant", "content": content})
            texts.clear()

    for part in message.content:
        if isinstance(part, Text):
            if part.text:
                texts.append(part.text)
            continue
        flush()
        if isinstance(part, ToolCall):
            out.append(_call_item(part, custom_names, origins))
        elif isinstance(part, Reasoning):
            item = _reasoning_item(part)
            if item is not None:
                out.append(item)
        else:
            log.debug("dropping a %s part from an assistant turn: Responses takes none", type(part).__name__)
    flush()


def _user_items(message: Message, custom_calls: set[str], out: list[dict[str, Any]]) -> None:
    pending: list[Text | Image | Document | Audio] = []

    def flush() -> None:
        if pending:
            out.append({"type": "message", "role": "user", "content": _input_content(pending)})
            pending.clear()

    for part in message.content:
        if isinstance(part, Text | Image | Document | Audio):
            pending.append(part)
        elif isinstance(part, ToolResult):
            flush()
            custom = part.kind == "custom" or part.call_id in custom_calls
            kind = "custom_tool_call_output" if custom else "function_call_output"
            out.append({"type": kind, "call_id": part.call_id, "output": _result_output(part)})
        else:
            log.debug("dropping a %s part from a user turn", type(part).__name__)
    flush()


def custom_tool_names(request: Request) -> frozenset[str]:
    return frozenset(t.name for t in request.tools if t.kind == "custom")


def encode_input(request: Request) -> list[dict[str, Any]]:
    custom_names = custom_tool_names(request)
    custom_calls = {
        p.id
        for m in request.messages
        for p in m.content
        if isinstance(p, ToolCall) and (p.kind == "custom" or p.name in custom_names)
    }
    origins = request.tool_origins()
    items: list[dict[str, Any]] = []
    if request.protocol == "openai_responses":  # a Responses client's own declarations lead, as it sent them
        items += responses_tools.additional_items(request.raw.get("input"))
    for message in request.messages:
        if message.role in ("system", "developer"):
            texts = [p for p in message.content if isinstance(p, Text)]
            items.append({"type": "message", "role": message.role, "content": _input_content(list(texts))})
        elif message.role == "assistant":
            _assistant_items(message, custom_names, origins, items)
        else:
            _user_items(message, custom_calls, items)
    return items


def encode_tools(tools: list[ToolSpec], same_protocol: bool) -> list[dict[str, Any]]:
    encoded: list[dict[str, Any]] = []
    for spec in tools:
        tool: dict[str, Any] = {"type": spec.kind, "name": spec.name}
        if spec.description:
            tool["description"] = spec.description
        if spec.kind == "custom":
            if spec.extra and spec.extra.get("format"):
                tool["format"] = spec.extra["format"]
        else:
            tool["parameters"] = spec.parameters or {"type": "object", "properties": {}}
            # Responses defaults strict to true, which rejects ordinary schemas: unset means false unless the
            # client spoke Responses itself (then unset keeps the API's own default).
            if spec.strict is not None or not same_protocol:
                tool["strict"] = bool(spec.strict)
        encoded.append(tool)
    return encoded


def encode_tool_choice(choice: ToolChoice, tools: list[ToolSpec]) -> Any:
    if choice.mode != "tool":
        return choice.mode
    kind = next((t.kind for t in tools if t.name == choice.name), "function")
    return {"type": kind, "name": choice.name}


def encode_text_format(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("type") != "json_schema":
        return {"type": value.get("type") or "text"}
    fmt: dict[str, Any] = {"type": "json_schema", "name": value.get("name") or "response"}
    fmt["schema"] = value.get("schema") or {}
    if value.get("strict") is not None:
        fmt["strict"] = value["strict"]
    if value.get("description"):
        fmt["description"] = value["description"]
    return fmt


# ---------------------------------------------------------------- reasoning lip cannot send back


def unverifiable_reasoning(value: Any) -> bool:
    """Whether Responses ``input`` carries reasoning a Responses upstream would reject: lip's envelope of another
    provider's proof, or an item lip minted for reasoning that had no encrypted content (from a Chat or Anthropic
    answer; no upstream stored it). Such a request is translated, which drops them, instead of passed through."""
    for item in value if isinstance(value, list) else ():
        if not isinstance(item, dict) or item.get("type") != "reasoning":
            continue
        payload = item.get("encrypted_content")
        if isinstance(payload, str) and payload.startswith(LIP_ENVELOPE):
            return True
        item_id = item.get("id")
        if not payload and (not isinstance(item_id, str) or minted_by_lip(item_id)):
            return True
    return False
