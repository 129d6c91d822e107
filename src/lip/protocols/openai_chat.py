"""OpenAI Chat Completions codec: request decode/encode, chunk <-> event state, error shape.

Mapping decisions (see docs/protocol-mapping.md):

- System and developer messages before the first turn are the system prompt; later ones stay in place as system
  turns. Towards a Chat backend the system prompt is one ``system`` message and ``max_tokens`` the max-tokens field
  (the most widely supported); an effort goes as ``reasoning_effort``, and a thinking budget without one as the
  effort ``effort_for_budget`` names. An assistant turn's reasoning text goes back as ``reasoning_content``
  (DeepSeek, Kimi and GLM refuse a tool loop without it); the backend renames or drops the field per its
  ``reasoning_field`` (``chat_reasoning.place_reasoning``). Proofs (signatures, encrypted content) are dropped.
- A freeform (custom) tool goes as a function taking one string ``input``, described as one (``freeform``); its
  calls are unwrapped on the way back.
- A tool message takes text only: a result's images follow the tool messages in a user message, labelled with the
  call id; an error result's text starts with ``Error``.
- From a Chat backend: ``reasoning_content`` (or ``reasoning``) deltas are reasoning; tool calls with a ``stop`` or
  missing finish reason end as TOOL_USE, so agents never stall. Chat never says when a tool call ends: a call ends
  when a later one starts and its arguments are whole JSON (so one-call-at-a-time clients stream the next call
  live), when an interleaving upstream completes its JSON later, or at the finish reason.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from lip.canonical.collect import Response, merge_usage
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    Repair,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
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
from lip.errors import InvalidRequest, LipError, UpstreamProtocolError, UpstreamStatusError
from lip.protocols import documents, fields, freeform
from lip.protocols.counts import BAD_USAGE, Counts
from lip.protocols.sse import DONE_DATA, DONE_FRAME, SSEEvent, encode, loads_data

NAME = "openai_chat"
log = logging.getLogger(__name__)

FINISH_TO_STOP = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}
STOP_TO_FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
    StopReason.REFUSAL: "content_filter",
    StopReason.ERROR: "stop",
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "invalid_request_error",  # the client's body did not arrive in time (server.body_timeout_s)
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    501: "not_implemented_error",
}
# error codes a Responses client knows (ResponseError.code and those Codex acts on), with the status behind each;
# Chat upstreams use the same codes in their in-stream errors
ERROR_CODE_STATUS = {
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "invalid_prompt": 400,
    "context_length_exceeded": 400,
    "server_error": 500,
}
_TYPE_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "rate_limit_error": 429, "tokens": 429}
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


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


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


def _tool_choice(value: Any, parallel: Any) -> ToolChoice | None:
    if value is None and parallel is None:
        return None
    choice = ToolChoice(parallel=fields.expect(parallel, bool, "parallel_tool_calls") if parallel is not None else None)
    if value is None:
        return choice
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise InvalidRequest("'tool_choice' must be auto, none, required or a named tool", param="tool_choice")
        choice.mode = value  # type: ignore[assignment]
        return choice
    value = fields.expect(value, dict, "tool_choice")
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
        request.unmodelled = fields.unmodelled(request.raw, HELD_KEYS, {})
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


def _encode_tool_call(call: ToolCall) -> dict[str, Any]:
    arguments = call.arguments
    if call.kind == "custom":
        arguments = dumps({"input": call.arguments}).decode()
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments or "{}"}}


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
        out.append({"role": "tool", "tool_call_id": result.call_id, "content": text})
        images = [p for p in result.content if isinstance(p, Image)]
        if images:
            shown += [Text(f"[image from tool call {result.call_id}]"), *images]
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
    fields.log_dropped(log, request, NAME)
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": "\n\n".join(t.text for t in request.system)})
    for message in request.messages:
        _encode_message(message, messages)
    body: dict[str, Any] = {"model": model, "messages": messages}
    p = request.params
    optional = {
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "stop": p.stop or None,
        "reasoning_effort": p.reasoning_effort or effort_for_budget(p.reasoning_budget),
        "n": p.n,
        "user": p.user,
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


# ---------------------------------------------------------------- response: upstream -> canonical


def _obj(value: Any) -> dict[str, Any]:
    """An upstream value that should be an object; anything else reads as empty (upstreams send odd JSON)."""
    return value if isinstance(value, dict) else {}


def _array(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def usage_from(raw: Any) -> tuple[Usage, bool]:
    """The usage object's counts, and whether one was not a count and was dropped (``lip.protocols.counts``)."""
    raw, counts = _obj(raw), Counts()
    usage = Usage(
        input_tokens=counts.of(raw, "prompt_tokens"),
        output_tokens=counts.of(raw, "completion_tokens"),
        cached_tokens=counts.of(_obj(raw.get("prompt_tokens_details")), "cached_tokens"),
        reasoning_tokens=counts.of(_obj(raw.get("completion_tokens_details")), "reasoning_tokens"),
    )
    return usage, counts.dropped


def _plain_text(chunk: dict[str, Any]) -> str | None:
    """The text of a chunk that holds nothing else (choice 0's delta content; no tool calls, reasoning, finish reason
    or usage), else None."""
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1 or chunk.get("usage"):
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("index") or choice.get("finish_reason"):
        return None
    delta = choice.get("delta")
    if type(delta) is not dict:
        return None
    content = delta.get("content")
    if type(content) is not str or not content:
        return None
    if delta.get("tool_calls") or delta.get("reasoning_content") or delta.get("reasoning"):
        return None
    return content


class ChatStreamDecoder:
    """Chat chunks -> canonical events. Normalises a missing or wrong finish reason when tool calls were made."""

    def __init__(self, custom_tools: frozenset[str] = frozenset()) -> None:
        self.started = False
        self.finished = False
        self.done = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.custom_tools = custom_tools
        self._tools: dict[int, _UpCall] = {}  # by upstream tool index
        self._open_calls: list[_UpCall] = []  # started and not yet ended, in start order
        self._in_reasoning = False

    def feed(self, sse: SSEEvent) -> list[Event]:
        if sse.data == DONE_DATA:
            self.done = True
            return self._end()
        if self.done:
            return []
        try:
            chunk = loads_data(sse.data)
        except orjson.JSONDecodeError:
            return [StreamError(UpstreamProtocolError("the upstream sent a stream chunk that is not JSON"))]
        if not isinstance(chunk, dict):
            return [StreamError(UpstreamProtocolError("the upstream sent a stream chunk that is not an object"))]
        if "error" in chunk:
            status = stream_error_status(chunk["error"])
            message, kind = upstream_error(status, chunk)
            self.done = True
            return [StreamError(UpstreamStatusError(message, upstream_status=status, body=chunk, error_type=kind))]
        if self.started and not self._in_reasoning:
            text = _plain_text(chunk)
            if text is not None:  # the commonest chunk: the general path below would produce exactly this
                return [TextDelta(text)]
        events: list[Event] = []
        if not self.started:
            self.started = True
            events.append(
                MessageStart(
                    id=str(chunk.get("id") or f"chatcmpl-{uuid.uuid4().hex}"),
                    model=str(chunk.get("model") or ""),
                    created=_count(chunk.get("created")) or int(time.time()),
                )
            )
        for choice in _array(chunk.get("choices")):
            if isinstance(choice, dict) and not choice.get("index"):
                self._choice(choice, events)
        if chunk.get("usage"):
            self.usage, dropped = usage_from(chunk["usage"])
            if dropped:
                events.append(Repair(BAD_USAGE))
        return events

    def _choice(self, choice: dict[str, Any], events: list[Event]) -> None:
        delta = _obj(choice.get("delta"))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._in_reasoning = True
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._close_reasoning(events)
            events.append(TextDelta(content))
        for call in _array(delta.get("tool_calls")):
            self._close_reasoning(events)
            self._tool_delta(call, events)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
            self._close_tools(events)

    def _close_reasoning(self, events: list[Event]) -> None:
        if self._in_reasoning:
            self._in_reasoning = False
            events.append(ReasoningEnd())

    def _tool_delta(self, call: Any, events: list[Event]) -> None:
        if not isinstance(call, dict):
            return
        upstream_index = call.get("index")
        if not isinstance(upstream_index, int):
            upstream_index = len(self._tools)
        function = _obj(call.get("function"))
        tool = self._tools.get(upstream_index)
        if tool is None:
            tool = self._tools[upstream_index] = self._start_call(call, function, events)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._tool_args(tool, arguments, events)

    def _start_call(self, call: dict[str, Any], function: dict[str, Any], events: list[Event]) -> _UpCall:
        """A new call: every open call whose arguments are already a whole JSON value ends first, so a client that
        takes one call at a time streams this one live (the common case: the upstream sends call 0, then call 1)."""
        for tool in [t for t in self._open_calls if t.complete()]:
            self._end_call(tool, events)
        name = str(function.get("name") or "")
        tool = _UpCall(len(self._tools), custom=name in self.custom_tools)
        call_id = str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}")
        events.append(ToolCallStart(tool.index, call_id, name, "custom" if tool.custom else "function"))
        self._open_calls.append(tool)
        return tool

    def _tool_args(self, tool: _UpCall, arguments: str, events: list[Event]) -> None:
        if tool.ended:  # its arguments were whole JSON already: nothing valid can follow
            if not arguments.isspace():
                events.append(Repair("tool_fragment_after_end"))
            return
        tool.parts.append(arguments)
        if not tool.custom:
            events.append(ToolCallDelta(tool.index, arguments))
        if tool is not self._open_calls[-1] and _may_close(arguments) and tool.complete():
            self._end_call(tool, events)  # an interleaving upstream finished an earlier call

    def _end_call(self, tool: _UpCall, events: list[Event]) -> None:
        tool.ended = True
        self._open_calls.remove(tool)
        if tool.custom:
            events.append(ToolCallDelta(tool.index, _unwrap_custom("".join(tool.parts))))
        events.append(ToolCallEnd(tool.index))

    def _close_tools(self, events: list[Event]) -> None:
        for tool in sorted(self._open_calls, key=lambda t: t.index):
            self._end_call(tool, events)
        self.finished = True

    def _stop_reason(self) -> StopReason:
        if self._tools and self.finish_reason in (None, "stop", "tool_calls", "function_call"):
            return StopReason.TOOL_USE  # upstreams that say "stop" (or nothing) while calling tools
        return FINISH_TO_STOP.get(self.finish_reason or "stop", StopReason.END_TURN)

    def _end(self) -> list[Event]:
        events: list[Event] = []
        if not self.started:
            return [StreamError(UpstreamProtocolError("the upstream stream ended before it sent anything"))]
        self._close_reasoning(events)
        if not self.finished:
            self._close_tools(events)
        if self.usage is not None:
            events.append(self.usage)
        events.append(MessageEnd(self._stop_reason()))
        return events

    def finish(self) -> list[Event]:
        if self.done:
            return []
        self.done = True
        if self.finish_reason is None:
            return [StreamError(UpstreamProtocolError("the upstream stream ended before it finished"))]
        return self._end()


class _UpCall:
    """A tool call a Chat upstream is streaming: its canonical index and the argument fragments so far."""

    __slots__ = ("custom", "ended", "index", "parts")

    def __init__(self, index: int, custom: bool) -> None:
        self.index = index
        self.custom = custom  # a freeform tool: its {"input": ...} JSON is buffered and unwrapped at the end
        self.parts: list[str] = []
        self.ended = False

    def complete(self) -> bool:
        """The arguments are a whole JSON object or array, so no further fragment can belong to them."""
        return bool(self.parts) and _may_close(self.parts[-1]) and _is_json("".join(self.parts))


def _may_close(fragment: str) -> bool:
    """Cheap pre-check: a fragment that could end a JSON object or array (its last non-space is } or ])."""
    tail = fragment.rstrip()
    return tail.endswith(("}", "]")) if tail else True


def _is_json(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return text.rstrip().endswith(("}", "]"))


def _unwrap_custom(arguments: str) -> str:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(value, dict) and isinstance(value.get("input"), str):
        return str(value["input"])
    return arguments


def decode_completion(body: Any, custom_tools: frozenset[str] = frozenset()) -> list[Event]:
    """A non-streamed Chat completion as the canonical events it is the collection of."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise UpstreamProtocolError("the upstream answered without a 'choices' list")
    decoder = ChatStreamDecoder(custom_tools)
    choice = next((c for c in body["choices"] if isinstance(c, dict) and not c.get("index")), None) or {}
    message = _obj(choice.get("message"))
    delta = {
        "reasoning_content": message.get("reasoning_content") or message.get("reasoning"),
        "content": message.get("content"),
        "tool_calls": [
            {**call, "index": i} for i, call in enumerate(_array(message.get("tool_calls"))) if isinstance(call, dict)
        ],
    }
    chunk = {k: body.get(k) for k in ("id", "model", "created", "usage")}
    chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason") or "stop"}]
    events = decoder.feed(SSEEvent(dumps(chunk)))
    return events + decoder.feed(SSEEvent(DONE_DATA))


def stream_error_status(error: Any) -> int:
    """The HTTP status an in-stream error object stands for: an integer ``code`` (OpenRouter), a known ``code`` or
    ``type`` (a rate limit mid-stream stays a rate limit), else 500."""
    error = _obj(error)
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return code
    return ERROR_CODE_STATUS.get(str(code)) or _TYPE_STATUS.get(str(error.get("type"))) or 500


def upstream_error(status: int, body: Any) -> tuple[str, str | None]:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            kind = error.get("type") or error.get("code")
            return (str(message) if message else f"upstream error {status}", str(kind) if kind else None)
        if isinstance(error, str):
            return error, None
        if isinstance(body.get("message"), str):
            return str(body["message"]), None
    return f"the upstream answered HTTP {status}", None


# ---------------------------------------------------------------- response: canonical -> client


def error_body(error: LipError) -> dict[str, Any]:
    kind = ERROR_TYPES.get(error.status, "server_error" if error.status >= 500 else "invalid_request_error")
    code: str | None = error.code
    if isinstance(error, UpstreamStatusError) and error.error_type:
        kind = error.error_type if error.status < 500 else kind
    return {
        "error": {
            "message": error.message,
            "type": kind,
            "param": getattr(error, "param", None),
            "code": code,
        }
    }


def _usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _tool_call_body(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def encode_completion(response: Response) -> dict[str, Any]:
    text = "".join(p.text for p in response.content if isinstance(p, Text))
    reasoning = "".join(p.text for p in response.content if isinstance(p, Reasoning))
    calls = [_tool_call_body(p) for p in response.content if isinstance(p, ToolCall)]
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    return {
        "id": response.id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": response.created or int(time.time()),
        "model": response.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": STOP_TO_FINISH[response.stop_reason]}
        ],
        "usage": _usage_body(response.usage),
    }


TEXT_CHUNK_HEAD = b'"choices":[{"index":0,"delta":{"content":'
TEXT_CHUNK_TAIL = b'},"logprobs":null,"finish_reason":null}]}\n\n'


class ChatStreamEncoder:
    """Canonical events -> Chat chunks; usage is held until the finish chunk and sent when the client asked."""

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.usage = Usage()
        self._prefix = b""
        self._failed = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = dumps({"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish})
        return b"data: " + self._prefix + b'"choices":[' + choice + b"]}\n\n"

    def encode(self, event: Event) -> bytes:
        if type(event) is TextDelta:  # the commonest event: _chunk({"content": text}) from a byte template
            return b"data: " + self._prefix + TEXT_CHUNK_HEAD + dumps(event.text) + TEXT_CHUNK_TAIL
        match event:
            case TextDelta(text=text):
                return self._chunk({"content": text})
            case ToolCallDelta(index=index, arguments=args):
                return self._chunk({"tool_calls": [{"index": index, "function": {"arguments": args}}]})
            case ReasoningDelta(text=text):
                return self._chunk({"reasoning_content": text})
            case ToolCallStart(index=index, id=id_, name=name):
                call = {"index": index, "id": id_, "type": "function", "function": {"name": name, "arguments": ""}}
                return self._chunk({"tool_calls": [call]})
            case MessageStart(id=id_, model=model, created=created):
                head = {
                    "id": id_,
                    "object": "chat.completion.chunk",
                    "created": created or int(time.time()),
                    "model": model,
                }
                self._prefix = dumps(head)[:-1] + b","
                return self._chunk({"role": "assistant", "content": ""})
            case Usage():
                self.usage = merge_usage(self.usage, event)
                return b""
            case MessageEnd(stop_reason=reason):
                out = self._chunk({}, STOP_TO_FINISH[reason])
                if self.include_usage:
                    out += (
                        b"data: " + self._prefix + b'"choices":[],"usage":' + dumps(_usage_body(self.usage)) + b"}\n\n"
                    )
                return out
            case StreamError(error=error):
                self._failed = True
                return encode(dumps(error_body(error)))
            case _:
                return b""

    def finish(self) -> bytes:
        return b"" if self._failed else DONE_FRAME
