"""OpenAI Chat Completions codec: request decode/encode, chunk <-> event state, error shape.

Mapping decisions (see docs/protocol-mapping.md):

- System and developer messages before the first turn are the system prompt; later ones stay in place as system
  turns. Towards a Chat backend the system prompt is one ``system`` message and ``max_tokens`` the max-tokens field
  (the most widely supported); an effort goes as ``reasoning_effort``, and a thinking budget without one as the
  effort ``effort_for_budget`` names. An assistant turn's reasoning text goes back as ``reasoning_content``
  (DeepSeek, Kimi and GLM refuse a tool loop without it). A backend's ``reasoning_field`` renames or drops that
  field, and its ``max_tokens_field`` renames ``max_tokens`` (``spelling``, through the dialect). Proofs
  (signatures, encrypted content) are dropped.
- A freeform (custom) tool goes as a function taking one string ``input``, described as one (``freeform``); its
  calls are unwrapped on the way back.
- A tool message takes text only: a result's images follow the tool messages in a user message, labelled with the
  call id; an error result's text starts with ``Error``. A tool call id longer than OpenAI's 40 characters (another
  provider's) goes as a digest of itself (``wire_call_id``), in the call and in its result alike.
- From a Chat backend: ``reasoning_content`` (or ``reasoning``) deltas are reasoning; tool calls with a ``stop`` or
  missing finish reason end as TOOL_USE, so agents never stall. Chat never says when a tool call ends: a call ends
  when a later one starts and its arguments are whole JSON (so one-call-at-a-time clients stream the next call
  live), when an interleaving upstream completes its JSON later, or at the finish reason.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from lip.canonical.collect import Response
from lip.canonical.events import (
    Event,
)
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
from lip.errors import InvalidRequest, LipError
from lip.protocols import documents, dropped, fields, freeform
from lip.protocols.codec import ModelList, RawParams, Route
from lip.protocols.openai_chat import facts
from lip.protocols.openai_chat.decoder import ChatStreamDecoder, decode_completion, upstream_error
from lip.protocols.openai_chat.encoder import ChatStreamEncoder, dumps, encode_completion, error_body
from lip.protocols.sse import encode

NAME = "openai_chat"
log = logging.getLogger("lip.protocols.openai_chat")
MAX_CALL_ID = 40  # OpenAI refuses a longer tool call id in a request's history (string_above_max_length)

# A freeform ("custom") tool goes to Chat-only backends as a function taking one string.
CUSTOM_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The raw input for this tool."}},
    "required": ["input"],
}


# Top-level fields of a Chat body that the canonical model holds (or lip honours itself); the rest have no
# equivalent in the other protocols (frequency_penalty, logprobs, service_tier, prompt_cache_key, ...).
HELD_KEYS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "reasoning_effort",
        "response_format",
        "n",
        "user",
        "seed",
        "metadata",
    }
)


# ---------------------------------------------------------------- request: client -> canonical


def _image_from_url(url: str, detail: str | None) -> Image:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";", 1)[0] or None
        return Image(data=data, media_type=media_type, detail=detail)
    return Image(url=url, detail=detail)


def _content_parts(content: Any, where: str) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Text(content)] if content else []
    items = fields.expect(content, (str, list), where)
    parts: list[Part] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        item = fields.expect(item, dict, at)
        kind = item.get("type")
        if kind == "text":
            parts.append(Text(fields.required(item, "text", str, f"{at}.text")))
        elif kind == "refusal":
            parts.append(Text(fields.required(item, "refusal", str, f"{at}.refusal")))
        elif kind == "image_url":
            image = fields.required(item, "image_url", (dict, str), f"{at}.image_url")
            if isinstance(image, str):
                parts.append(_image_from_url(image, None))
            else:
                url = fields.required(image, "url", str, f"{at}.image_url.url")
                parts.append(_image_from_url(url, fields.optional(image, "detail", str, f"{at}.image_url.detail")))
        elif kind == "file":
            parts.append(documents.from_chat_file(item, at))
        elif kind == "input_audio":
            parts.append(documents.from_chat_audio(item, at))
        else:
            raise InvalidRequest(f"'{at}.type' {kind!r} is not supported by lip's Chat translation", param=f"{at}.type")
    return parts


def _tool_calls(calls: Any, where: str) -> list[Part]:
    parts: list[Part] = []
    for i, call in enumerate(fields.expect(calls, list, where)):
        at = f"{where}[{i}]"
        call = fields.expect(call, dict, at)
        if call.get("type") == "custom":
            custom = fields.required(call, "custom", dict, f"{at}.custom")
            name = fields.required(custom, "name", str, f"{at}.custom.name")
            args = fields.optional(custom, "input", str, f"{at}.custom.input") or ""
            parts.append(
                ToolCall(id=fields.required(call, "id", str, f"{at}.id"), name=name, arguments=args, kind="custom")
            )
            continue
        function = fields.required(call, "function", dict, f"{at}.function")
        name = fields.required(function, "name", str, f"{at}.function.name")
        args = fields.optional(function, "arguments", str, f"{at}.function.arguments") or ""
        parts.append(ToolCall(id=fields.required(call, "id", str, f"{at}.id"), name=name, arguments=args))
    return parts


def _tool_result(message: dict[str, Any], where: str) -> ToolResult:
    call_id = fields.required(message, "tool_call_id", str, f"{where}.tool_call_id")
    content = [p for p in _content_parts(message.get("content"), f"{where}.content") if isinstance(p, Text | Image)]
    return ToolResult(call_id=call_id, content=content)


def _append(messages: list[Message], role: Any, parts: list[Part]) -> None:
    """Append, merging into the previous message of the same role (tool results follow each other)."""
    if messages and messages[-1].role == role and role == "user":
        messages[-1].content.extend(parts)
    else:
        messages.append(Message(role=role, content=parts))


def _messages(items: list[Any]) -> tuple[list[Text], list[Message]]:
    system: list[Text] = []
    messages: list[Message] = []
    for i, raw in enumerate(items):
        at = f"messages[{i}]"
        message = fields.expect(raw, dict, at)
        role = fields.required(message, "role", str, f"{at}.role")
        if role in ("system", "developer"):
            texts = [p for p in _content_parts(message.get("content"), f"{at}.content") if isinstance(p, Text)]
            if messages:
                messages.append(Message(role="system", content=list(texts)))
            else:
                system.extend(texts)
        elif role == "user":
            _append(messages, "user", _content_parts(message.get("content"), f"{at}.content"))
        elif role == "assistant":
            parts: list[Part] = []
            reasoning = message.get("reasoning_content") or message.get("reasoning")  # DeepSeek's or OpenRouter's
            if isinstance(reasoning, str) and reasoning:
                parts.append(Reasoning(text=reasoning))
            parts.extend(_content_parts(message.get("content"), f"{at}.content"))
            if message.get("tool_calls"):
                parts.extend(_tool_calls(message["tool_calls"], f"{at}.tool_calls"))
            messages.append(Message(role="assistant", content=parts))
        elif role == "tool":
            _append(messages, "user", [_tool_result(message, at)])
        else:
            raise InvalidRequest(
                f"'{at}.role' {role!r} is not one of system, developer, user, assistant, tool", param=f"{at}.role"
            )
    return system, messages


def _tools(items: Any) -> list[ToolSpec]:
    specs: list[ToolSpec] = []
    for i, raw in enumerate(fields.expect(items, list, "tools")):
        at = f"tools[{i}]"
        tool = fields.expect(raw, dict, at)
        if tool.get("type") == "custom":
            custom = fields.required(tool, "custom", dict, f"{at}.custom")
            specs.append(
                ToolSpec(
                    name=fields.required(custom, "name", str, f"{at}.custom.name"),
                    description=fields.optional(custom, "description", str),
                    kind="custom",
                    extra={"format": custom["format"]} if isinstance(custom.get("format"), dict) else None,
                )
            )
            continue
        if tool.get("type", "function") != "function":
            raise InvalidRequest(f"'{at}.type' {tool.get('type')!r} is not supported", param=f"{at}.type")
        function = fields.required(tool, "function", dict, f"{at}.function")
        specs.append(
            ToolSpec(
                name=fields.required(function, "name", str, f"{at}.function.name"),
                description=fields.optional(function, "description", str, f"{at}.function.description"),
                parameters=fields.optional(function, "parameters", dict, f"{at}.function.parameters"),
                strict=fields.optional(function, "strict", bool, f"{at}.function.strict"),
            )
        )
    return specs


def tool_choice_opening(value: Any, parallel: Any, named: str) -> tuple[ToolChoice | None, dict[str, Any] | None]:
    """What Chat and Responses read alike in ``tool_choice``: absent, ``parallel_tool_calls`` and the modes auto,
    none and required (``named`` says what else the protocol takes). The choice, and the object form left to read."""
    if value is None and parallel is None:
        return None, None
    choice = ToolChoice(parallel=fields.expect(parallel, bool, "parallel_tool_calls") if parallel is not None else None)
    if value is None:
        return choice, None
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise InvalidRequest(f"'tool_choice' must be auto, none, required or {named}", param="tool_choice")
        choice.mode = value  # type: ignore[assignment]
        return choice, None
    return choice, fields.expect(value, dict, "tool_choice")


def _tool_choice(value: Any, parallel: Any) -> ToolChoice | None:
    choice, value = tool_choice_opening(value, parallel, "a named tool")
    if choice is None or value is None:
        return choice
    if value.get("type") == "allowed_tools":
        allowed = fields.required(value, "allowed_tools", dict, "tool_choice.allowed_tools")
        mode = fields.optional(allowed, "mode", str, "tool_choice.allowed_tools.mode")
        choice.mode = "required" if mode == "required" else "auto"
        log.debug("tool_choice allowed_tools narrows to %s for non-Chat targets", choice.mode)
        return choice
    holder = value.get("function") or value.get("custom") or {}
    name = holder.get("name") if isinstance(holder, dict) else None
    if not isinstance(name, str):
        raise InvalidRequest("'tool_choice.function.name' is required for a named tool choice", param="tool_choice")
    choice.mode, choice.name = "tool", name
    return choice


def _response_format(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    value = fields.expect(value, dict, "response_format")
    kind = value.get("type")
    if kind == "json_schema":
        schema = fields.required(value, "json_schema", dict, "response_format.json_schema")
        return {
            "type": "json_schema",
            "name": schema.get("name", "response"),
            "schema": schema.get("schema", {}),
            "strict": schema.get("strict"),
            "description": schema.get("description"),
        }
    if kind in ("json_object", "text"):
        return {"type": kind}
    raise InvalidRequest(
        "'response_format.type' must be text, json_object or json_schema", param="response_format.type"
    )


def _params(body: dict[str, Any]) -> Params:
    max_tokens = fields.optional(body, "max_completion_tokens", int)
    if max_tokens is None:
        max_tokens = fields.optional(body, "max_tokens", int)
    return Params(
        max_tokens=max_tokens,
        temperature=fields.optional(body, "temperature", float),
        top_p=fields.optional(body, "top_p", float),
        stop=fields.stop_list(body.get("stop"), "stop"),
        reasoning_effort=fields.optional(body, "reasoning_effort", str),
        response_format=_response_format(body.get("response_format")),
        n=fields.optional(body, "n", int),
        user=fields.optional(body, "user", str),
        seed=fields.optional(body, "seed", int),
    )


class OpenAIChatCodec:
    name = NAME
    dialect = facts.DIALECT
    relay = facts.RELAY
    raw_params: RawParams = facts.RAW_PARAMS
    routes: tuple[str, ...] = facts.ROUTES
    served: tuple[Route, ...] = facts.SERVED
    client_key_headers: tuple[str, ...] = facts.CLIENT_KEY_HEADERS
    client_key_params: tuple[str, ...] = ()
    model_list: ModelList | None = facts.MODEL_LIST

    # ---- frontend side

    def decode_head(self, body: Any, headers: Mapping[str, str]) -> Request:
        body = fields.body_object(body)
        model = fields.model_field(body)
        messages = fields.required(body, "messages", list)
        if not messages:
            raise InvalidRequest("'messages' must contain at least one message", param="messages")
        stream = bool(fields.optional(body, "stream", bool))
        options = fields.optional(body, "stream_options", dict) or {}
        return Request(
            model=model,
            messages=[],
            stream=stream,
            include_usage=bool(options.get("include_usage")),
            protocol=NAME,
            raw=body,
        )

    def decode_request(self, body: Any, headers: Mapping[str, str]) -> Request:
        request = self.decode_head(body, headers)
        system, messages = _messages(request.raw["messages"])
        request.system, request.messages = system, messages
        if request.raw.get("tools"):
            request.tools = _tools(request.raw["tools"])
        request.tool_choice = _tool_choice(request.raw.get("tool_choice"), request.raw.get("parallel_tool_calls"))
        request.params = _params(request.raw)
        request.metadata = fields.optional(request.raw, "metadata", dict)
        request.unmodelled_of = _unmodelled
        return request

    def stream_encoder(self, request: Request) -> ChatStreamEncoder:
        return ChatStreamEncoder(include_usage=request.include_usage)

    def encode_response(self, response: Response, request: Request) -> dict[str, Any]:
        return encode_completion(response)

    def error_body(self, error: LipError) -> dict[str, Any]:
        return error_body(error)

    def error_frame(self, error: LipError) -> bytes:
        return encode(dumps(error_body(error)))

    # ---- backend side

    def encode_request(self, request: Request, model: str) -> dict[str, Any]:
        return encode_request(request, model)

    def stream_decoder(self, request: Request) -> ChatStreamDecoder:
        return ChatStreamDecoder(custom_tools=request.custom_tool_names())

    def decode_response(self, body: Any, request: Request) -> list[Event]:
        return decode_completion(body, request.custom_tool_names())

    def upstream_error(self, status: int, body: Any) -> tuple[str, str | None]:
        return upstream_error(status, body)

    def with_model(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        return {**body, "model": model}


# ---------------------------------------------------------------- request: canonical -> upstream


def _image_url(image: Image) -> dict[str, Any]:
    url = image.url if image.url is not None else f"data:{image.media_type or 'image/png'};base64,{image.data}"
    payload: dict[str, Any] = {"url": url}
    if image.detail:
        payload["detail"] = image.detail
    return {"type": "image_url", "image_url": payload}


def _user_content(parts: list[Part]) -> str | list[dict[str, Any]]:
    if not parts:
        return ""
    if len(parts) == 1 and isinstance(parts[0], Text):
        return parts[0].text
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, Text):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, Image):
            content.append(_image_url(part))
        elif isinstance(part, Document | Audio):
            content.append(documents.chat_part(part))
    return content


def wire_call_id(call_id: str) -> str:
    """A tool call id as a Chat upstream takes it: OpenAI refuses an id longer than ``MAX_CALL_ID`` in the history
    (``string_above_max_length``), and other ids are longer (lip's Gemini ids carry a thought signature; some
    clients send 50-character ``fc_`` item ids as call ids). A longer id becomes ``call_`` and 35 hex digits of its
    SHA-256: the same for the call and its result, and only what this upstream sees (the client keeps its own id)."""
    if len(call_id) <= MAX_CALL_ID:
        return call_id
    return "call_" + hashlib.sha256(call_id.encode()).hexdigest()[: MAX_CALL_ID - 5]


def _encode_tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments
    if call.kind == "custom":
        arguments = dumps({"input": call.arguments}).decode()
    function = {"name": call.name, "arguments": arguments or "{}"}
    return {"id": wire_call_id(call.id), "type": "function", "function": function}


def _encode_message(message: Message, out: list[dict[str, Any]]) -> None:
    if message.role in ("system", "developer"):
        out.append({"role": "system", "content": "\n".join(p.text for p in message.content if isinstance(p, Text))})
        return
    if message.role == "assistant":
        text = "".join(p.text for p in message.content if isinstance(p, Text))
        calls = [_encode_tool_call(p) for p in message.content if isinstance(p, ToolCall)]
        encoded: dict[str, Any] = {"role": "assistant", "content": text or None}
        reasoning = "".join(p.text for p in message.content if isinstance(p, Reasoning))
        if reasoning:
            encoded["reasoning_content"] = reasoning
        if calls:
            encoded["tool_calls"] = calls
        out.append(encoded)
        return
    results = [p for p in message.content if isinstance(p, ToolResult)]
    shown: list[Part] = []  # a Chat tool message takes text only: a result's images follow in a user message
    for result in results:
        text = "\n".join(p.text for p in result.content if isinstance(p, Text))
        if result.is_error and not text.startswith("Error"):
            text = f"Error: {text}"
        call_id = wire_call_id(result.call_id)
        out.append({"role": "tool", "tool_call_id": call_id, "content": text})
        images = [p for p in result.content if isinstance(p, Image)]
        if images:
            shown += [Text(f"[image from tool call {call_id}]"), *images]
    rest = shown + [p for p in message.content if isinstance(p, Text | Image | Document | Audio)]
    if rest or not results:
        out.append({"role": "user", "content": _user_content(list(rest))})


def _encode_tools(request: Request) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    for tool in request.tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.kind == "custom":
            function["description"] = freeform.wrapped_description(tool)
        elif tool.description:
            function["description"] = tool.description
        if tool.kind == "custom":
            function["parameters"] = CUSTOM_TOOL_SCHEMA
        else:
            function["parameters"] = tool.parameters or {"type": "object", "properties": {}}
            if tool.strict is not None:
                function["strict"] = tool.strict
        tools.append({"type": "function", "function": function})
    return tools


def _encode_tool_choice(choice: ToolChoice) -> Any:
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def _encode_response_format(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("type") != "json_schema":
        return {"type": value.get("type", "text")}
    schema: dict[str, Any] = {"name": value.get("name") or "response", "schema": value.get("schema") or {}}
    if value.get("strict") is not None:
        schema["strict"] = value["strict"]
    if value.get("description"):
        schema["description"] = value["description"]
    return {"type": "json_schema", "json_schema": schema}


def effort_for_budget(budget: int | None) -> str | None:
    """An Anthropic thinking budget as an OpenAI reasoning effort: < 4096 low, < 16384 medium, else high."""
    if budget is None or budget <= 0:
        return None
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def encode_request(request: Request, model: str) -> dict[str, Any]:
    fields.log_dropped(log, request, NAME, ("metadata",) if request.metadata else ())
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": "\n\n".join(t.text for t in request.system)})
    for message in request.messages:
        _encode_message(message, messages)
    if not messages:  # a system prompt alone is a conversation Chat takes; nothing at all is not
        raise fields.no_turns(request, "Chat")
    body: dict[str, Any] = {"model": model, "messages": messages}
    p = request.params
    optional = {
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "stop": p.stop or None,
        "reasoning_effort": p.reasoning_effort or effort_for_budget(p.reasoning_budget),
        "n": p.n,
        "user": fields.end_user(p.user) if p.user else None,
        "seed": p.seed,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if p.response_format:
        body["response_format"] = _encode_response_format(p.response_format)
    if request.tools:
        body["tools"] = _encode_tools(request)
    if request.tool_choice is not None:
        if request.tools or request.tool_choice.mode == "none":
            body["tool_choice"] = _encode_tool_choice(request.tool_choice)
        if request.tool_choice.parallel is not None and request.tools:
            body["parallel_tool_calls"] = request.tool_choice.parallel
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _unmodelled(raw: dict[str, Any]) -> tuple[str, ...]:
    return fields.unmodelled(raw, HELD_KEYS, {}) + dropped.chat_inner(raw)
