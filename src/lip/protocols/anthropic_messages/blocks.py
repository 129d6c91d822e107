"""Anthropic Messages content blocks <-> canonical parts: the request side of the Anthropic codec.

Decoding (client body -> canonical) validates as it goes and raises ``InvalidRequest`` naming the field.
Encoding (canonical -> upstream body) repairs what the Messages API would reject and logs each repair at debug:

- turns alternate user/assistant; consecutive same-role messages are merged, and a user turn starts with its
  ``tool_result`` blocks;
- a mid-conversation ``system``/``developer`` message becomes a text block ``<system>…</system>`` in the user turn
  at that position, so its place in the conversation is kept and the top-level ``system`` (and its prompt cache)
  stays unchanged; the API's own ``role: "system"`` messages work on its newest models only, so they are not used
  here (an Anthropic client's own reach an Anthropic upstream by passthrough);
- a ``tool_use`` left without a result gets an ``is_error`` result saying so; a result without its ``tool_use``
  becomes plain text; a conversation that opens with an assistant turn gets a one-word user turn before it;
- empty text blocks are dropped, and a final assistant turn (a prefill) loses its trailing whitespace;
- reasoning goes back only as it came: signed thinking -> ``thinking``, redacted -> ``redacted_thinking``;
  reasoning without an Anthropic signature (other protocols, or lip's own wrapped Responses reasoning) is dropped;
- tool call arguments that are not a JSON object are sent as ``{"input": <text>}`` so the turn is still accepted.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

from lip.canonical.request import (
    Audio,
    Document,
    Image,
    Message,
    Params,
    Part,
    Reasoning,
    Request,
    Text,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from lip.errors import InvalidRequest
from lip.protocols import documents, fields, freeform

log = logging.getLogger("lip.protocols.anthropic_messages")

# A freeform ("custom") tool goes to Anthropic as a tool taking one string; calls are unwrapped on the way back.
CUSTOM_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The raw input for this tool."}},
    "required": ["input"],
}
DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; used when the client gave none
MIN_THINKING_BUDGET = 1024
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
EFFORT_NAMES = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
MISSING_RESULT = "No result was provided for this tool call."
OPENING_USER_TEXT = "(continue)"

# Reasoning from a Responses backend (encrypted_content) reaches an Anthropic client as a thinking block whose
# signature is this prefix + "<item id>:<encrypted content>", so a client that sends it back carries it home.
WRAPPED_PREFIX = "lip-encrypted:"

_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
_IMAGE_MAGIC = (("/9j/", "image/jpeg"), ("iVBOR", "image/png"), ("R0lGOD", "image/gif"), ("UklGR", "image/webp"))


def wrap_encrypted(encrypted: str, item_id: str | None) -> str:
    return f"{WRAPPED_PREFIX}{item_id or ''}:{encrypted}"


def _unverifiable(block: Any) -> bool:
    """A thinking block an Anthropic upstream would reject: no signature (reasoning from a Chat upstream) or lip's
    envelope of a Responses proof."""
    if not isinstance(block, dict) or block.get("type") != "thinking":
        return False
    signature = block.get("signature")
    return not isinstance(signature, str) or not signature or signature.startswith(WRAPPED_PREFIX)


def _assistant_blocks_of(message: Any) -> list[Any]:
    content = message.get("content") if isinstance(message, dict) and message.get("role") == "assistant" else None
    return content if isinstance(content, list) else []


def unverifiable_thinking(messages: Any) -> bool:
    """Whether an assistant turn carries thinking from another provider (a failover, a model switch). Such a request
    is translated, which drops it, instead of passed through for the upstream to reject."""
    return any(_unverifiable(b) for m in messages if isinstance(messages, list) for b in _assistant_blocks_of(m))


def without_unverifiable_thinking(messages: list[Any]) -> list[Any]:
    """``messages`` without such thinking blocks (for a body lip forwards as is, e.g. to count_tokens)."""
    return [
        {**m, "content": [b for b in m["content"] if not _unverifiable(b)]} if _assistant_blocks_of(m) else m
        for m in messages
    ]


def reasoning_from_signature(text: str, signature: str | None) -> Reasoning:
    """A client's thinking block: a real signature, lip's wrapped Responses reasoning, or none at all."""
    if not signature:
        return Reasoning(text=text)
    if signature.startswith(WRAPPED_PREFIX):
        item_id, _, encrypted = signature[len(WRAPPED_PREFIX) :].partition(":")
        return Reasoning(text=text, encrypted=encrypted or None, id=item_id or None)
    return Reasoning(text=text, signature=signature)


# ---------------------------------------------------------------- decode: client body -> canonical


def _cache_extra(block: dict[str, Any]) -> dict[str, Any] | None:
    control = block.get("cache_control")
    return {"cache_control": control} if isinstance(control, dict) else None


def _text(block: dict[str, Any], at: str) -> Text:
    return Text(fields.required(block, "text", str, f"{at}.text"), _cache_extra(block))


def _image(block: dict[str, Any], at: str) -> Image:
    source = fields.required(block, "source", dict, f"{at}.source")
    kind = source.get("type")
    if kind == "base64":
        data = fields.required(source, "data", str, f"{at}.source.data")
        return Image(data=data, media_type=fields.optional(source, "media_type", str, f"{at}.source.media_type"))
    if kind == "url":
        return Image(url=fields.required(source, "url", str, f"{at}.source.url"))
    raise InvalidRequest(
        f"'{at}.source.type' {kind!r} is not supported when lip translates Anthropic Messages; use base64 or url",
        param=f"{at}.source.type",
    )


def _unsupported(kind: Any, at: str) -> InvalidRequest:
    return InvalidRequest(
        f"'{at}.type' {kind!r} is not supported when lip translates Anthropic Messages to another protocol",
        param=f"{at}.type",
    )


def _result_content(content: Any, at: str) -> list[Text | Image]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Text(content)] if content else []
    parts: list[Text | Image] = []
    for j, raw in enumerate(fields.expect(content, list, at)):
        where = f"{at}[{j}]"
        block = fields.expect(raw, dict, where)
        kind = block.get("type")
        if kind == "text":
            parts.append(_text(block, where))
        elif kind == "image":
            parts.append(_image(block, where))
        else:
            raise _unsupported(kind, where)
    return parts


def _tool_use(block: dict[str, Any], at: str) -> ToolCall:
    arguments = block.get("input")
    if arguments is None:
        arguments = {}
    arguments = fields.expect(arguments, dict, f"{at}.input")
    return ToolCall(
        id=fields.required(block, "id", str, f"{at}.id"),
        name=fields.required(block, "name", str, f"{at}.name"),
        arguments=orjson.dumps(arguments).decode(),
    )


def _tool_result(block: dict[str, Any], at: str) -> ToolResult:
    return ToolResult(
        call_id=fields.required(block, "tool_use_id", str, f"{at}.tool_use_id"),
        content=_result_content(block.get("content"), f"{at}.content"),
        is_error=bool(fields.optional(block, "is_error", bool, f"{at}.is_error")),
    )


def _block(block: dict[str, Any], at: str) -> Part:
    kind = block.get("type")
    if kind == "text":
        return _text(block, at)
    if kind == "image":
        return _image(block, at)
    if kind == "tool_use":
        return _tool_use(block, at)
    if kind == "tool_result":
        return _tool_result(block, at)
    if kind == "thinking":
        thinking = fields.optional(block, "thinking", str, f"{at}.thinking") or ""
        return reasoning_from_signature(thinking, fields.optional(block, "signature", str, f"{at}.signature"))
    if kind == "redacted_thinking":
        return Reasoning(redacted=fields.required(block, "data", str, f"{at}.data"))
    if kind == "document":
        return documents.from_anthropic_document(block, at)
    raise _unsupported(kind, at)


def decode_content(content: Any, at: str) -> list[Part]:
    if isinstance(content, str):
        return [Text(content)] if content else []
    parts: list[Part] = []
    for j, raw in enumerate(fields.expect(content, list, at)):
        parts.append(_block(fields.expect(raw, dict, f"{at}[{j}]"), f"{at}[{j}]"))
    return parts


def decode_system(value: Any) -> list[Text]:
    """Top-level ``system``: a string or a list of text blocks (``cache_control`` kept in ``Text.extra``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Text(value)] if value else []
    texts: list[Text] = []
    for i, raw in enumerate(fields.expect(value, list, "system")):
        at = f"system[{i}]"
        block = fields.expect(raw, dict, at)
        if block.get("type") != "text":
            raise InvalidRequest(f"'{at}.type' must be 'text', not {block.get('type')!r}", param=f"{at}.type")
        texts.append(_text(block, at))
    return texts


def decode_messages(items: list[Any]) -> tuple[list[Text], list[Message]]:
    """Messages; ``role: system`` before the first turn joins the system prompt, later it stays in place."""
    system: list[Text] = []
    messages: list[Message] = []
    for i, raw in enumerate(items):
        at = f"messages[{i}]"
        message = fields.expect(raw, dict, at)
        role = fields.required(message, "role", str, f"{at}.role")
        if role not in ("user", "assistant", "system"):
            raise InvalidRequest(f"'{at}.role' must be user, assistant or system, not {role!r}", param=f"{at}.role")
        if "content" not in message:
            raise InvalidRequest(f"'{at}.content' is required", param=f"{at}.content")
        if role == "system":
            texts = decode_system_message(message["content"], f"{at}.content")
            if messages:
                messages.append(Message(role="system", content=list(texts)))
            else:
                system.extend(texts)
            continue
        messages.append(Message(role=role, content=decode_content(message["content"], f"{at}.content")))
    return system, messages


def decode_system_message(content: Any, at: str) -> list[Text]:
    parts = decode_content(content, at)
    for j, part in enumerate(parts):
        if not isinstance(part, Text):
            raise InvalidRequest(f"'{at}[{j}]' a system message takes text blocks only", param=f"{at}[{j}].type")
    return [p for p in parts if isinstance(p, Text)]


def decode_tools(items: Any) -> list[ToolSpec]:
    """Client tools become function ToolSpecs. Anthropic-defined tools (``web_search_*``, ``bash_*``, …; anything
    with a ``type`` other than ``custom``) have no equivalent elsewhere: they are left out of the canonical tools
    with a debug log and reach an Anthropic upstream verbatim from the raw body."""
    specs: list[ToolSpec] = []
    for i, raw in enumerate(fields.expect(items, list, "tools")):
        at = f"tools[{i}]"
        tool = fields.expect(raw, dict, at)
        kind = tool.get("type")
        if kind not in (None, "custom"):
            log.debug("leaving Anthropic-defined tool %r (%s) out of the translation", tool.get("name"), kind)
            continue
        specs.append(
            ToolSpec(
                name=fields.required(tool, "name", str, f"{at}.name"),
                description=fields.optional(tool, "description", str, f"{at}.description"),
                parameters=fields.optional(tool, "input_schema", dict, f"{at}.input_schema"),
                strict=fields.optional(tool, "strict", bool, f"{at}.strict"),
                extra=_cache_extra(tool),
            )
        )
    return specs


_CHOICE_MODES = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}


def decode_tool_choice(value: Any) -> ToolChoice | None:
    if value is None:
        return None
    value = fields.expect(value, dict, "tool_choice")
    mode = _CHOICE_MODES.get(fields.optional(value, "type", str, "tool_choice.type") or "")
    if mode is None:
        raise InvalidRequest("'tool_choice.type' must be auto, any, tool or none", param="tool_choice.type")
    choice = ToolChoice(mode=mode)  # type: ignore[arg-type]
    if mode == "tool":
        choice.name = fields.required(value, "name", str, "tool_choice.name")
    if fields.optional(value, "disable_parallel_tool_use", bool, "tool_choice.disable_parallel_tool_use"):
        choice.parallel = False
    return choice


def _output_format(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    value = fields.expect(value, dict, where)
    if value.get("type") != "json_schema":
        raise InvalidRequest(f"'{where}.type' must be 'json_schema'", param=f"{where}.type")
    schema = fields.required(value, "schema", dict, f"{where}.schema")
    return {"type": "json_schema", "name": "response", "schema": schema, "strict": True}


def decode_params(raw: dict[str, Any]) -> Params:
    fields.optional(raw, "top_k", int)  # validated; only an Anthropic upstream can honour it
    params = Params(
        max_tokens=fields.optional(raw, "max_tokens", int),
        temperature=fields.optional(raw, "temperature", float),
        top_p=fields.optional(raw, "top_p", float),
        stop=fields.stop_list(raw.get("stop_sequences"), "stop_sequences"),
    )
    thinking = fields.optional(raw, "thinking", dict)
    if thinking is not None:
        kind = fields.required(thinking, "type", str, "thinking.type")
        if kind == "enabled":
            params.reasoning_budget = fields.required(thinking, "budget_tokens", int, "thinking.budget_tokens")
    config = fields.optional(raw, "output_config", dict) or {}
    effort = fields.optional(config, "effort", str, "output_config.effort")
    if effort is not None:
        if effort not in EFFORT_NAMES:
            raise InvalidRequest(
                "'output_config.effort' must be low, medium, high, xhigh or max", param="output_config.effort"
            )
        params.reasoning_effort = EFFORT_NAMES[effort]
    params.response_format = _output_format(config.get("format"), "output_config.format") or _output_format(
        raw.get("output_format"), "output_format"
    )
    metadata = fields.optional(raw, "metadata", dict) or {}
    params.user = fields.optional(metadata, "user_id", str, "metadata.user_id")
    return params


# ---------------------------------------------------------------- encode: canonical -> upstream body


def safe_id(call_id: str) -> str:
    """Anthropic tool ids match ``^[a-zA-Z0-9_-]+$``; other providers' ids (``functions.x:0``) are made to."""
    if call_id and not _ID_UNSAFE.search(call_id):
        return call_id
    return _ID_UNSAFE.sub("_", call_id) or "toolu_lip"


def _text_block(text: Text) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text.text}
    if text.extra and "cache_control" in text.extra:
        block["cache_control"] = text.extra["cache_control"]
    return block


def encode_system(texts: list[Text]) -> list[dict[str, Any]]:
    return [_text_block(t) for t in texts if t.text]


def _media_type(image: Image) -> str:
    if image.media_type:
        return image.media_type
    data = image.data or ""
    return next((kind for magic, kind in _IMAGE_MAGIC if data.startswith(magic)), "image/png")


def _image_block(image: Image) -> dict[str, Any]:
    if image.url is not None and image.data is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": _media_type(image), "data": image.data or ""}}


def tool_input(call: ToolCall) -> dict[str, Any]:
    """The ``input`` object of a tool_use block from canonical JSON (or free-text, for custom tools) arguments."""
    if call.kind == "custom":
        return {"input": call.arguments}
    if not call.arguments.strip():
        return {}
    try:
        value = orjson.loads(call.arguments)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return value
    log.debug("tool call %s has arguments that are not a JSON object; sending them as {'input': text}", call.id)
    return {"input": call.arguments}


def _result_block(result: ToolResult) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": safe_id(result.call_id)}
    content = [_text_block(p) if isinstance(p, Text) else _image_block(p) for p in result.content]
    content = [b for b in content if b["type"] != "text" or b["text"]]
    if len(content) == 1 and content[0]["type"] == "text" and "cache_control" not in content[0]:
        block["content"] = content[0]["text"]
    elif content:
        block["content"] = content
    if result.is_error:
        block["is_error"] = True
    return block


def _reasoning_block(part: Reasoning) -> dict[str, Any] | None:
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.redacted}
    if part.signature:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    log.debug("dropping reasoning without an Anthropic signature from an assistant turn")
    return None


def _assistant_blocks(parts: list[Part]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Text):
            if part.text:
                blocks.append(_text_block(part))
        elif isinstance(part, ToolCall):
            blocks.append({"type": "tool_use", "id": safe_id(part.id), "name": part.name, "input": tool_input(part)})
        elif isinstance(part, Reasoning):
            block = _reasoning_block(part)
            if block is not None:
                blocks.append(block)
        else:
            log.debug("dropping %s from an assistant turn: Anthropic assistant turns cannot carry it", type(part))
    return blocks


def _user_blocks(parts: list[Part]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tool_result blocks, other blocks) of a user turn."""
    results: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ToolResult):
            results.append(_result_block(part))
        elif isinstance(part, Text):
            if part.text:
                blocks.append(_text_block(part))
        elif isinstance(part, Image):
            blocks.append(_image_block(part))
        elif isinstance(part, Document | Audio):
            blocks.append(documents.anthropic_block(part))
        else:
            log.debug("dropping %s from a user turn: Anthropic user turns cannot carry it", type(part).__name__)
    return results, blocks


def _system_blocks(parts: list[Part]) -> list[dict[str, Any]]:
    texts = [p for p in parts if isinstance(p, Text) and p.text]
    return [_text_block(Text(f"<system>\n{t.text}\n</system>", t.extra)) for t in texts]


class _Turn:
    __slots__ = ("blocks", "results", "role")

    def __init__(self, role: str) -> None:
        self.role = role
        self.results: list[dict[str, Any]] = []
        self.blocks: list[dict[str, Any]] = []

    def content(self) -> list[dict[str, Any]]:
        return self.results + self.blocks


def _message_blocks(message: Message) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if message.role == "assistant":
        return [], _assistant_blocks(message.content)
    if message.role == "user":
        return _user_blocks(message.content)
    return [], _system_blocks(message.content)


def _turns(messages: list[Message]) -> list[_Turn]:
    """Alternating turns: messages that encode to nothing are skipped, neighbours of one role are merged."""
    turns: list[_Turn] = []
    for message in messages:
        results, blocks = _message_blocks(message)
        if not results and not blocks:
            continue
        role = "assistant" if message.role == "assistant" else "user"
        if not turns or turns[-1].role != role:
            turns.append(_Turn(role))
        turns[-1].results.extend(results)
        turns[-1].blocks.extend(blocks)
    return turns


def _pair_tools(turns: list[_Turn]) -> None:
    """Every tool_use gets a result in the next user turn; results without their tool_use become text."""
    offered: list[str] = []
    for turn in turns:
        if turn.role == "assistant":
            offered = [b["id"] for b in turn.blocks if b["type"] == "tool_use"]
            continue
        answered = {b["tool_use_id"] for b in turn.results}
        orphans = [b for b in turn.results if b["tool_use_id"] not in offered]
        for orphan in orphans:
            log.debug("tool result %s has no tool_use before it; sending it as text", orphan["tool_use_id"])
            turn.results.remove(orphan)
            turn.blocks.insert(0, {"type": "text", "text": f"[tool result {orphan['tool_use_id']}]: {_flat(orphan)}"})
        for call_id in offered:
            if call_id not in answered:
                log.debug("tool call %s has no result; answering it with an error result", call_id)
                turn.results.append(
                    {"type": "tool_result", "tool_use_id": call_id, "content": MISSING_RESULT, "is_error": True}
                )
        offered = []


def _flat(result: dict[str, Any]) -> str:
    content = result.get("content", "")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "[image]") for b in content)


def encode_messages(messages: list[Message]) -> list[dict[str, Any]]:
    turns = _turns(messages)
    _pair_tools(turns)
    if turns and turns[0].role == "assistant":
        log.debug("the conversation opens with an assistant turn; adding a user turn before it")
        opening = _Turn("user")
        opening.blocks.append({"type": "text", "text": OPENING_USER_TEXT})
        turns.insert(0, opening)
    if len(turns) > 1 and turns[-1].role == "assistant":
        _trim_prefill(turns[-1])
        if not turns[-1].content():
            turns.pop()
    return [{"role": t.role, "content": t.content()} for t in turns]


def _trim_prefill(turn: _Turn) -> None:
    """The API rejects a final assistant turn that ends with whitespace."""
    while turn.blocks and turn.blocks[-1]["type"] == "text":
        text = turn.blocks[-1]["text"].rstrip()
        if text:
            turn.blocks[-1] = {**turn.blocks[-1], "text": text}
            return
        turn.blocks.pop()


def used_tool_names(messages: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for message in messages:
        for block in message["content"]:
            if block["type"] == "tool_use":
                names[block["name"]] = None
    return list(names)


def encode_tools(request: Request) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for spec in request.tools:
        tool: dict[str, Any] = {"name": spec.name}
        if spec.kind == "custom":
            tool["description"] = freeform.wrapped_description(spec)
        elif spec.description:
            tool["description"] = spec.description
        tool["input_schema"] = CUSTOM_TOOL_SCHEMA if spec.kind == "custom" else (spec.parameters or EMPTY_SCHEMA)
        if spec.extra and "cache_control" in spec.extra:
            tool["cache_control"] = spec.extra["cache_control"]
        tools.append(tool)
    return tools


def encode_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    encoded: dict[str, Any]
    if choice.mode == "tool":
        encoded = {"type": "tool", "name": choice.name}
    else:
        encoded = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice.mode]}
    if choice.parallel is False and choice.mode != "none":
        encoded["disable_parallel_tool_use"] = True
    return encoded
