"""The conformance matrix: every client protocol x every backend kind x stream/non-stream, with the official SDKs.

One fake provider serves the four backend kinds (prefixes ``oc`` Chat, ``or`` Responses, ``an`` Anthropic, ``gm``
Gemini) behind one lip per test module (the ``matrix`` fixture, tests/integration/conftest.py). A test describes its
request in neutral terms (`Ask`); `ask()` sends it in the client's own protocol with the SDK's own helpers
(``create``, or ``stream(...)`` + ``get_final_*()``) and returns what the client saw (`Seen`), neutral fields plus
the SDK object; `Rig.upstream()` is the body the backend received, in its native shape, for the test to check.

    async def test_x(matrix: Rig, client: str, backend: str, stream: bool) -> None:
        matrix.fake.queue(Turn(text="hi"))
        seen = await ask(matrix, client, backend, stream, Ask([user("hello")]))
        assert seen.text == "hi" and matrix.upstream(backend)["model"] == MODEL[backend]
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import aiohttp
import openai
import pytest

from tests.fakes import FakeProvider
from tests.fakes.server import Received
from tests.harness import LipServer, backend_row, run_lip

Client = str  # "chat" | "responses" | "messages" | "gemini" (tests take them from parametrize, as plain strings)
Backend = str  # "chat" | "responses" | "anthropic" | "gemini"
CLIENTS = ("chat", "responses", "messages")
BACKENDS = ("chat", "responses", "anthropic")
# the fourth protocol: its row and column of the matrix (tests/integration/test_conformance_gemini.py)
ALL_CLIENTS = (*CLIENTS, "gemini")
ALL_BACKENDS = (*BACKENDS, "gemini")
KIND = {
    "chat": "custom-openai-legacy-compatible",
    "responses": "custom-openai-responses-compatible",
    "anthropic": "custom-anthropic-compatible",
    "gemini": "custom-gemini-compatible",
}
PREFIX = {"chat": "oc", "responses": "or", "anthropic": "an", "gemini": "gm"}
MODEL = {"chat": "gpt-4o", "responses": "gpt-4o", "anthropic": "claude-test", "gemini": "gemini-2.5-flash"}
UPSTREAM_PATH = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "anthropic": "/v1/messages",
    "gemini": "/v1beta/models/gemini-2.5-flash:",  # :generateContent or :streamGenerateContent
}
CLIENT_PATH = {
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
    "messages": "/v1/messages",
    "gemini": "/v1beta/models/{model}:",
}
# The protocol each backend kind speaks, named as the client protocols are (same name = passthrough).
SAME = {"chat": "chat", "responses": "responses", "anthropic": "messages", "gemini": "gemini"}

# Each client's own spelling of a neutral stop reason (Responses: status, or incomplete:<reason>).
STOP: dict[str, dict[str, str]] = {
    "chat": {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "tool_use": "tool_calls",
        "content_filter": "content_filter",
    },
    "responses": {
        "end_turn": "completed",
        "stop_sequence": "completed",
        "max_tokens": "incomplete:max_output_tokens",
        "tool_use": "completed",
        "content_filter": "incomplete:content_filter",
    },
    "messages": {
        "end_turn": "end_turn",
        "stop_sequence": "stop_sequence",
        "max_tokens": "max_tokens",
        "tool_use": "tool_use",
        "content_filter": "refusal",
    },
    "gemini": {  # Gemini says STOP when it calls tools, and names no stop sequence
        "end_turn": "STOP",
        "stop_sequence": "STOP",
        "max_tokens": "MAX_TOKENS",
        "tool_use": "STOP",
        "content_filter": "SAFETY",
    },
}

PIXEL_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cf000000030101005c2d3a8a0000000049454e44ae426082"
    )
).decode()
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def matrix_params(*, stream: bool = True) -> pytest.MarkDecorator:
    """Parametrize ``client``, ``backend`` (and ``stream``) over the whole matrix."""
    cases = [(c, b, s) for c in CLIENTS for b in BACKENDS for s in ((False, True) if stream else (False,))]
    ids = [f"{c}-{b}-{'stream' if s else 'json'}" for c, b, s in cases]
    if stream:
        return pytest.mark.parametrize(("client", "backend", "stream"), cases, ids=ids)
    return pytest.mark.parametrize(("client", "backend"), [(c, b) for c, b, _ in cases], ids=[i[:-5] for i in ids])


# ---------------------------------------------------------------- neutral requests


@dataclass(frozen=True)
class Img:
    url: str | None = None
    data: str | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Result:
    call_id: str
    text: str
    is_error: bool = False


@dataclass(frozen=True)
class Msg:
    role: Literal["user", "assistant", "results", "native"]
    parts: tuple[str | Img, ...] = ()
    calls: tuple[Call, ...] = ()
    results: tuple[Result, ...] = ()
    native: tuple[Any, ...] = ()  # items already in the client's shape (messages, or Responses input items)


def user(*parts: str | Img) -> Msg:
    return Msg("user", parts)


def assistant(text: str = "", *calls: Call) -> Msg:
    return Msg("assistant", (text,) if text else (), calls)


def results(*items: Result) -> Msg:
    return Msg("results", results=items)


def native(*items: Any) -> Msg:
    return Msg("native", native=items)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: dict(WEATHER))


@dataclass
class Ask:
    messages: list[Msg]
    system: str | None = None
    system_role: Literal["system", "developer"] = "system"  # Chat/Responses: send it as a developer message
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str | None = None  # auto | none | required | <a tool's name>
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None  # dropped for a Responses client (the protocol has none)
    user: str | None = None
    reasoning: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # client-native fields, added as they are


def _data_url(img: Img) -> str:
    return img.url or f"data:{img.media_type};base64,{img.data}"


def _chat_message(msg: Msg) -> list[dict[str, Any]]:
    if msg.role == "native":
        return list(msg.native)
    if msg.role == "results":
        return [{"role": "tool", "tool_call_id": r.call_id, "content": r.text} for r in msg.results]
    if msg.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": "".join(map(str, msg.parts)) or None}
        if msg.calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in msg.calls
            ]
        return [out]
    if len(msg.parts) == 1 and isinstance(msg.parts[0], str):
        return [{"role": "user", "content": msg.parts[0]}]
    content = [
        {"type": "text", "text": p} if isinstance(p, str) else {"type": "image_url", "image_url": {"url": _data_url(p)}}
        for p in msg.parts
    ]
    return [{"role": "user", "content": content}]


def _chat(a: Ask) -> dict[str, Any]:
    messages = [{"role": a.system_role, "content": a.system}] if a.system else []
    for msg in a.messages:
        messages += _chat_message(msg)
    body: dict[str, Any] = {"messages": messages}
    if a.tools:
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in a.tools
        ]
    if a.tool_choice in ("auto", "none", "required"):
        body["tool_choice"] = a.tool_choice
    elif a.tool_choice:
        body["tool_choice"] = {"type": "function", "function": {"name": a.tool_choice}}
    optional = {
        "max_completion_tokens": a.max_tokens,
        "temperature": a.temperature,
        "top_p": a.top_p,
        "stop": a.stop,
        "user": a.user,
        "reasoning_effort": "medium" if a.reasoning else None,
    }
    return body | {k: v for k, v in optional.items() if v is not None} | a.extra


def _responses_items(msg: Msg) -> list[dict[str, Any]]:
    if msg.role == "native":
        return list(msg.native)
    if msg.role == "results":
        return [{"type": "function_call_output", "call_id": r.call_id, "output": r.text} for r in msg.results]
    if msg.role == "assistant":
        items: list[dict[str, Any]] = []
        if msg.parts:
            text = "".join(map(str, msg.parts))
            items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]})
        items += [
            {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": json.dumps(c.arguments)}
            for c in msg.calls
        ]
        return items
    content = [
        {"type": "input_text", "text": p}
        if isinstance(p, str)
        else {"type": "input_image", "image_url": _data_url(p), "detail": "auto"}
        for p in msg.parts
    ]
    return [{"type": "message", "role": "user", "content": content}]


def _responses(a: Ask) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    body: dict[str, Any] = {}
    if a.system and a.system_role == "developer":
        items.append({"type": "message", "role": "developer", "content": a.system})
    elif a.system:
        body["instructions"] = a.system
    for msg in a.messages:
        items += _responses_items(msg)
    body["input"] = items
    if a.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
                "strict": False,
            }
            for t in a.tools
        ]
    if a.tool_choice in ("auto", "none", "required"):
        body["tool_choice"] = a.tool_choice
    elif a.tool_choice:
        body["tool_choice"] = {"type": "function", "name": a.tool_choice}
    optional = {
        "max_output_tokens": a.max_tokens,
        "temperature": a.temperature,
        "top_p": a.top_p,
        "safety_identifier": a.user,
        "reasoning": {"effort": "medium", "summary": "auto"} if a.reasoning else None,
    }
    return body | {k: v for k, v in optional.items() if v is not None} | a.extra


def _anthropic_image(img: Img) -> dict[str, Any]:
    if img.url:
        return {"type": "image", "source": {"type": "url", "url": img.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": img.media_type, "data": img.data}}


def _anthropic_message(msg: Msg) -> list[dict[str, Any]]:
    if msg.role == "native":
        return list(msg.native)
    if msg.role == "results":
        blocks: list[dict[str, Any]] = []
        for r in msg.results:
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": r.call_id, "content": r.text}
            if r.is_error:
                block["is_error"] = True
            blocks.append(block)
        return [{"role": "user", "content": blocks}]
    if msg.role == "assistant":
        content: list[dict[str, Any]] = [{"type": "text", "text": str(p)} for p in msg.parts]
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in msg.calls]
        return [{"role": "assistant", "content": content}]
    if len(msg.parts) == 1 and isinstance(msg.parts[0], str):
        return [{"role": "user", "content": msg.parts[0]}]
    parts = [{"type": "text", "text": p} if isinstance(p, str) else _anthropic_image(p) for p in msg.parts]
    return [{"role": "user", "content": parts}]


def _messages(a: Ask) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for msg in a.messages:
        messages += _anthropic_message(msg)
    body: dict[str, Any] = {"messages": messages, "max_tokens": a.max_tokens or 1024}
    if a.system:
        body["system"] = a.system
    if a.tools:
        body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.parameters} for t in a.tools]
    if a.tool_choice:
        kinds = {"auto": "auto", "none": "none", "required": "any"}
        choice = kinds.get(a.tool_choice)
        body["tool_choice"] = {"type": choice} if choice else {"type": "tool", "name": a.tool_choice}
    if a.reasoning:
        body["thinking"] = {"type": "enabled", "budget_tokens": 2048}
        body["max_tokens"] = max(body["max_tokens"], 4096)
    optional = {
        "temperature": a.temperature,
        "top_p": a.top_p,
        "stop_sequences": a.stop,
        "metadata": {"user_id": a.user} if a.user else None,
    }
    return body | {k: v for k, v in optional.items() if v is not None} | a.extra


def _gemini_part(part: str | Img) -> dict[str, Any]:
    if isinstance(part, str):
        return {"text": part}
    if part.url:
        return {"fileData": {"fileUri": part.url, "mimeType": part.media_type or "image/png"}}
    return {"inlineData": {"mimeType": part.media_type, "data": part.data}}


def _gemini_contents(messages: list[Msg]) -> list[Any]:
    names: dict[str, str] = {}  # call id -> name: a functionResponse names its call
    contents: list[Any] = []
    for msg in messages:
        if msg.role == "native":
            contents += msg.native
            for content in msg.native:  # a call's id is lip's (or absent): the result names its call
                for part in content.get("parts", []) if isinstance(content, dict) else []:
                    call = part.get("functionCall") or {}
                    names[call.get("id") or call.get("name")] = call.get("name")
        elif msg.role == "results":
            parts = [
                {"functionResponse": {"name": names.get(r.call_id, r.call_id), "response": {"output": r.text}}}
                for r in msg.results
            ]
            contents.append({"role": "user", "parts": parts})
        elif msg.role == "assistant":
            names |= {c.id: c.name for c in msg.calls}
            parts = [{"text": str(p)} for p in msg.parts]
            parts += [{"functionCall": {"name": c.name, "args": c.arguments}} for c in msg.calls]
            contents.append({"role": "model", "parts": parts})
        else:
            contents.append({"role": "user", "parts": [_gemini_part(p) for p in msg.parts]})
    return contents


def _gemini(a: Ask) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": _gemini_contents(a.messages)}
    if a.system:
        body["systemInstruction"] = {"parts": [{"text": a.system}]}
    if a.tools:
        declarations = [
            {"name": t.name, "description": t.description, "parametersJsonSchema": t.parameters} for t in a.tools
        ]
        body["tools"] = [{"functionDeclarations": declarations}]
    if a.tool_choice in ("auto", "none", "required"):
        mode = {"auto": "AUTO", "none": "NONE", "required": "ANY"}[a.tool_choice]
        body["toolConfig"] = {"functionCallingConfig": {"mode": mode}}
    elif a.tool_choice:
        body["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [a.tool_choice]}}
    config = {
        "maxOutputTokens": a.max_tokens,
        "temperature": a.temperature,
        "topP": a.top_p,
        "stopSequences": a.stop,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048} if a.reasoning else None,
    }  # `user` has no Gemini field
    config = {k: v for k, v in config.items() if v is not None}
    if config:
        body["generationConfig"] = config
    return body | a.extra


def build(client: Client, a: Ask) -> dict[str, Any]:
    """The request body (without model and stream) in the client's protocol."""
    return {"chat": _chat, "responses": _responses, "messages": _messages, "gemini": _gemini}[client](a)


# ---------------------------------------------------------------- what the client saw


@dataclass
class Seen:
    text: str
    reasoning: list[tuple[str, str | None]]  # (text, opaque proof: signature / encrypted_content)
    calls: list[tuple[str, str, Any]]  # (id, name, parsed arguments)
    stop: str  # the client's own spelling (see STOP)
    usage: dict[str, int]  # input (all prompt tokens), output, cached, reasoning
    raw: Any  # the SDK's final object
    fragments: list[list[str]] = field(default_factory=list)  # streamed argument pieces, per tool call in order
    events: list[Any] = field(default_factory=list)  # the SDK's stream events


def _chat_seen(completion: Any) -> Seen:
    choice = completion.choices[0]
    msg = choice.message
    reasoning = (msg.model_extra or {}).get("reasoning_content")
    u = completion.usage
    usage = {}
    if u is not None:
        usage = {
            "input": u.prompt_tokens,
            "output": u.completion_tokens,
            "cached": (u.prompt_tokens_details.cached_tokens or 0) if u.prompt_tokens_details else 0,
            "reasoning": (u.completion_tokens_details.reasoning_tokens or 0) if u.completion_tokens_details else 0,
        }
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls or []]
    return Seen(
        text=msg.content or "",
        reasoning=[(reasoning, None)] if reasoning else [],
        calls=calls,
        stop=str(choice.finish_reason),
        usage=usage,
        raw=completion,
    )


def _responses_seen(response: Any) -> Seen:
    reasoning = [
        ("".join(s.text for s in item.summary), item.encrypted_content)
        for item in response.output
        if item.type == "reasoning"
    ]
    calls = [(i.call_id, i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"]
    stop = str(response.status)
    if response.status == "incomplete" and response.incomplete_details is not None:
        stop = f"incomplete:{response.incomplete_details.reason}"
    u = response.usage
    usage = {}
    if u is not None:
        usage = {
            "input": u.input_tokens,
            "output": u.output_tokens,
            "cached": u.input_tokens_details.cached_tokens,
            "reasoning": u.output_tokens_details.reasoning_tokens,
        }
    return Seen(response.output_text, reasoning, calls, stop, usage, response)


def _messages_seen(message: Any) -> Seen:
    content = message.content
    u = message.usage
    cached, created = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
    details = u.output_tokens_details
    usage = {
        "input": u.input_tokens + cached + created,
        "output": u.output_tokens,
        "cached": cached,
        "reasoning": (getattr(details, "thinking_tokens", None) or 0) if details is not None else 0,
    }
    return Seen(
        text="".join(b.text for b in content if b.type == "text"),
        reasoning=[(b.thinking, b.signature) for b in content if b.type == "thinking"],
        calls=[(b.id, b.name, b.input) for b in content if b.type == "tool_use"],
        stop=str(message.stop_reason),
        usage=usage,
        raw=message,
    )


def _gemini_seen(chunks: list[Any]) -> Seen:
    """What the google-genai SDK gave: one response, or a stream's chunks (their parts in order)."""
    parts = [p for c in chunks for cand in (c.candidates or [])[:1] if cand.content for p in cand.content.parts or []]
    finish = next((cand.finish_reason for c in chunks for cand in (c.candidates or [])[:1] if cand.finish_reason), None)
    u = next((c.usage_metadata for c in reversed(chunks) if c.usage_metadata is not None), None)
    usage = {}
    if u is not None:
        thoughts = u.thoughts_token_count or 0
        usage = {
            "input": u.prompt_token_count or 0,
            "output": (u.candidates_token_count or 0) + thoughts,
            "cached": u.cached_content_token_count or 0,
            "reasoning": thoughts,
        }
    reasoning = [
        (p.text or "", base64.b64encode(p.thought_signature).decode() if p.thought_signature else None)
        for p in parts
        if p.thought
    ]
    calls = [(fc.id or fc.name, fc.name, fc.args) for p in parts if (fc := p.function_call) is not None]
    text = "".join(p.text or "" for p in parts if p.text and not p.thought)
    stop = finish.value if finish is not None and hasattr(finish, "value") else str(finish)
    return Seen(text, reasoning, calls, stop, usage, chunks[-1] if chunks else None, events=chunks)


def _piece(event: Any) -> tuple[Any, str] | None:
    """A streamed piece of tool-call arguments, keyed by the call it belongs to, from any of the SDKs' events."""
    if event.type == "tool_calls.function.arguments.delta":
        return event.index, event.arguments_delta
    if event.type == "response.function_call_arguments.delta":
        return event.output_index, event.delta
    if event.type == "content_block_delta" and event.delta.type == "input_json_delta" and event.delta.partial_json:
        return event.index, event.delta.partial_json
    return None


async def _read(stream: Any) -> tuple[list[Any], list[list[str]]]:
    """Every event of an SDK stream, and the tool-call argument pieces per call in order."""
    events = [event async for event in stream]
    by_call: dict[Any, list[str]] = {}
    for key, piece in filter(None, map(_piece, events)):
        by_call.setdefault(key, []).append(piece)
    return events, list(by_call.values())


async def _chat_call(rig: Rig, backend: Backend, stream: bool, body: dict[str, Any]) -> Seen:
    client = rig.openai
    if not stream:
        return _chat_seen(await client.chat.completions.create(model=rig.selector(backend), **body))
    body = {"stream_options": {"include_usage": True}, **body}
    async with client.chat.completions.stream(model=rig.selector(backend), **body) as s:
        events, fragments = await _read(s)
        final: Any
        try:
            final = await s.get_final_completion()
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            final = exc.completion  # the helper refuses to "parse" a cut answer; the completion is all there
    return replace(_chat_seen(final), events=events, fragments=fragments)


async def _responses_call(rig: Rig, backend: Backend, stream: bool, body: dict[str, Any]) -> Seen:
    client = rig.openai
    if not stream:
        return _responses_seen(await client.responses.create(model=rig.selector(backend), **body))
    async with client.responses.stream(model=rig.selector(backend), **body) as s:
        events, fragments = await _read(s)
        incomplete = [e.response for e in events if e.type == "response.incomplete"]
        # The helper keeps only a `response.completed`; an incomplete answer's response rides on its own event.
        final = incomplete[-1] if incomplete else await s.get_final_response()
    return replace(_responses_seen(final), events=events, fragments=fragments)


async def _messages_call(rig: Rig, backend: Backend, stream: bool, body: dict[str, Any]) -> Seen:
    client = rig.anthropic
    if not stream:
        return _messages_seen(await client.messages.create(model=rig.selector(backend), **body))
    async with client.messages.stream(model=rig.selector(backend), **body) as s:
        events, fragments = await _read(s)
        final = await s.get_final_message()
    return replace(_messages_seen(final), events=events, fragments=fragments)


async def _gemini_call(rig: Rig, backend: Backend, stream: bool, body: dict[str, Any]) -> Seen:
    """The body's ``contents`` and the rest as the SDK's config (it takes the REST names)."""
    models = rig.gemini.aio.models
    contents = body.pop("contents")
    config = {**body.pop("generationConfig", {}), **body}
    if not stream:
        return _gemini_seen(
            [await models.generate_content(model=rig.selector(backend), contents=contents, config=config)]
        )
    chunks = [
        c
        async for c in await models.generate_content_stream(
            model=rig.selector(backend), contents=contents, config=config
        )
    ]
    return _gemini_seen(chunks)


def _sdk_kwargs(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as keyword arguments of the SDK ``method``; fields it does not declare go in ``extra_body``
    (the anthropic SDK no longer declares ``temperature``/``top_p``, which the API still takes)."""
    known = set(inspect.signature(method).parameters)
    kwargs = {k: v for k, v in body.items() if k in known}
    extra = {k: v for k, v in body.items() if k not in known}
    return kwargs | ({"extra_body": extra} if extra else {})


async def ask(rig: Rig, client: Client, backend: Backend, stream: bool, a: Ask) -> Seen:
    """Send ``a`` through lip in ``client``'s protocol to ``backend`` with the official SDK; what it saw."""
    if client == "gemini":
        return await _gemini_call(rig, backend, stream, build(client, a))
    calls = {"chat": _chat_call, "responses": _responses_call, "messages": _messages_call}
    methods = {
        "chat": rig.openai.chat.completions.create,
        "responses": rig.openai.responses.create,
        "messages": rig.anthropic.messages.create,
    }
    return await calls[client](rig, backend, stream, _sdk_kwargs(methods[client], build(client, a)))


def history(client: Client, seen: Seen) -> Msg:
    """The assistant turn ``seen`` as the client sends it back next turn, straight from the SDK's own objects."""
    raw = seen.raw
    if client == "gemini":  # every part of the answer (a stream's in order), thought signatures on theirs
        chunks = seen.events or [raw]
        parts = [
            p for c in chunks for cand in (c.candidates or [])[:1] if cand.content for p in cand.content.parts or []
        ]
        return native(
            {"role": "model", "parts": [p.model_dump(exclude_none=True, by_alias=True, mode="json") for p in parts]}
        )
    if client == "chat":
        message = raw.choices[0].message.model_dump(exclude_none=True, exclude={"parsed", "annotations", "refusal"})
        for call in message.get("tool_calls", []):
            call.get("function", {}).pop("parsed_arguments", None)
        return native(message)
    if client == "responses":
        return native(*(item.model_dump(exclude_none=True, exclude={"parsed_arguments"}) for item in raw.output))
    blocks = [b.model_dump(exclude_none=True) for b in raw.content]
    return native({"role": "assistant", "content": blocks})


# ---------------------------------------------------------------- what an upstream received, read back


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def upstream_conversation(backend: str, body: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """(system prompt, [(role, text)] of the turns) as the upstream got them."""
    if backend == "gemini":
        system = "".join(p.get("text", "") for p in (body.get("systemInstruction") or {}).get("parts", []))
        roles = {"user": "user", "model": "assistant"}
        turns = [
            (roles[c.get("role", "user")], "".join(p.get("text", "") for p in c["parts"] if not p.get("thought")))
            for c in body["contents"]
            if not any("functionResponse" in p for p in c["parts"])
        ]
        return system, turns
    if backend == "anthropic":
        system = body.get("system") or ""
        return _text(system), [(m["role"], _text(m["content"])) for m in body["messages"]]
    if backend == "responses":
        items = body["input"]
        system = [body["instructions"]] if body.get("instructions") else []
        system += [_text(i["content"]) for i in items if i.get("role") in ("system", "developer")]
        turns = [(i["role"], _text(i["content"])) for i in items if i.get("role") in ("user", "assistant")]
        return "\n\n".join(system), turns
    messages = body["messages"]
    system = "\n\n".join(_text(m["content"]) for m in messages if m["role"] in ("system", "developer"))
    return system, [(m["role"], _text(m["content"])) for m in messages if m["role"] in ("user", "assistant")]


def upstream_exchange(
    backend: str, body: dict[str, Any]
) -> tuple[list[tuple[str, str, Any]], list[tuple[str, str, bool]]]:
    """(calls the assistant made, results the user returned) as the upstream got them: (id, name, args) and
    (call id, text, is_error). Gemini's calls have no id: the name stands for it."""
    if backend == "gemini":
        parts = [(c.get("role", "user"), p) for c in body["contents"] for p in c["parts"]]
        calls = [
            (p["functionCall"]["name"],) * 2 + (p["functionCall"].get("args", {}),)
            for r, p in parts
            if "functionCall" in p
        ]
        outs = [
            (p["functionResponse"]["name"], _text_of(p["functionResponse"].get("response")), False)
            for _, p in parts
            if "functionResponse" in p
        ]
        return calls, outs
    if backend == "chat":
        calls = [
            (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for m in body["messages"]
            if m["role"] == "assistant"
            for c in m.get("tool_calls") or []
        ]
        outs = [(m["tool_call_id"], _text(m["content"]), False) for m in body["messages"] if m["role"] == "tool"]
        return calls, outs
    if backend == "responses":
        items = body["input"]
        calls = [
            (i["call_id"], i["name"], json.loads(i["arguments"])) for i in items if i.get("type") == "function_call"
        ]
        outs = [(i["call_id"], _text(i["output"]), False) for i in items if i.get("type") == "function_call_output"]
        return calls, outs
    blocks = [(m["role"], b) for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    calls = [(b["id"], b["name"], b["input"]) for role, b in blocks if b["type"] == "tool_use" and role == "assistant"]
    outs = [
        (b["tool_use_id"], _text(b.get("content", "")), bool(b.get("is_error")))
        for role, b in blocks
        if b["type"] == "tool_result" and role == "user"
    ]
    return calls, outs


def _text_of(response: Any) -> str:
    """A Gemini functionResponse's ``response`` as text: its ``output``/``result``/``content``, else its JSON."""
    if isinstance(response, dict):
        for key in ("output", "result", "content"):
            if isinstance(response.get(key), str):
                return str(response[key])
    return json.dumps(response)


# ---------------------------------------------------------------- raw HTTP (for the strict wire validators)


async def raw_call(rig: Rig, client: Client, backend: Backend, stream: bool, a: Ask) -> tuple[int, bytes]:
    """POST the request with a plain HTTP client: (status, body bytes) exactly as lip sent them."""
    if client == "gemini":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        url = rig.lip.url + CLIENT_PATH[client].format(model=rig.selector(backend)) + method
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=build(client, a), headers={"x-goog-api-key": "client-key"}) as response,
        ):
            return response.status, await response.read()
    body = {"model": rig.selector(backend), **build(client, a)}
    if stream:
        body["stream"] = True
        if client == "chat":
            body["stream_options"] = {"include_usage": True}
    headers = {"authorization": "Bearer client-key"}
    if client == "messages":
        headers["anthropic-version"] = "2023-06-01"
    async with (
        aiohttp.ClientSession() as session,
        session.post(rig.lip.url + CLIENT_PATH[client], json=body, headers=headers) as response,
    ):
        return response.status, await response.read()


# ---------------------------------------------------------------- the rig


@dataclass
class Rig:
    fake: FakeProvider
    lip: LipServer

    def __post_init__(self) -> None:
        self.openai = self.lip.openai()
        self.anthropic = self.lip.anthropic()
        self.gemini = self.lip.gemini(api_version="v1beta")

    @staticmethod
    def selector(backend: Backend) -> str:
        """``prefix:model`` of a backend kind (any other name stands for itself: a prefix lip does not know)."""
        return f"{PREFIX.get(backend, backend)}:{MODEL.get(backend, 'model')}"

    def reset(self) -> None:
        self.fake.script.clear()
        self.fake.received.clear()

    def requests(self, backend: Backend) -> list[Received]:
        if backend == "gemini":
            return [r for r in self.fake.received if r.path.startswith(UPSTREAM_PATH[backend])]
        return [r for r in self.fake.received if r.path == UPSTREAM_PATH[backend]]

    def upstream(self, backend: Backend) -> dict[str, Any]:
        """The body of the one generation request ``backend`` received in this test."""
        got = self.requests(backend)
        others = [r.path for r in self.fake.received if r not in got and not r.path.endswith("/models")]
        assert len(got) == 1 and not others, f"expected one request to {UPSTREAM_PATH[backend]}: {others or got}"
        body: dict[str, Any] = got[0].body
        return body


def matrix_config(fake: FakeProvider) -> dict[str, Any]:
    rows = []
    for backend in ALL_BACKENDS:
        base = {"anthropic": fake.url, "gemini": fake.url + "/v1beta"}.get(backend, fake.url + "/v1")
        rows.append(backend_row(PREFIX[backend], base, kind=KIND[backend], circuit_failures=100000))
    return {"plugins": {"backends": rows}}


@asynccontextmanager
async def running_rig() -> AsyncIterator[Rig]:
    async with FakeProvider() as fake, run_lip(matrix_config(fake)) as lip:
        rig = Rig(fake, lip)
        rig.reset()
        yield rig
