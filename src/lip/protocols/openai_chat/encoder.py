"""OpenAI Chat Completions, client side: canonical events -> chunks, a whole completion, the error shape."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from lip.canonical.collect import Response, merge_usage
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import (
    Reasoning,
    Text,
    ToolCall,
)
from lip.errors import LipError, UpstreamStatusError
from lip.protocols.sse import DONE_FRAME, encode

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
    401: "invalid_request_error",  # OpenAI's type for a missing or wrong key (code invalid_api_key)
    403: "permission_error",
    404: "not_found_error",
    408: "invalid_request_error",  # the client's body did not arrive in time (server.body_timeout_s)
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    501: "not_implemented_error",
}


dumps = orjson.dumps  # a name of its own, not a wrapper: called for every event


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
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
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
