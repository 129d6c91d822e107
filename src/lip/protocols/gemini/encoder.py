"""Gemini generateContent, client side: canonical events -> ``alt=sse`` chunks, a whole response, the error shape.

A stream is what Google sends with ``?alt=sse``: ``data: <GenerateContentResponse>`` frames ended by ``\\r\\n\\r\\n``
and no terminal marker (the finish reason comes in a chunk of its own, with an empty text part); the frontend
re-frames them as a JSON array for a client that did not ask for SSE. A tool
call goes out whole, in one part, when it ends (Gemini never streams arguments). Thought text is shown only when
the client asked for it (``thinkingConfig.includeThoughts``), as Gemini does; a Gemini thought signature always
goes out, on the part it belongs to, or on an empty part right after the run it closes (as Gemini streams it).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from lip.canonical.collect import Response, merge_usage
from lip.canonical.events import (
    Event,
    MessageEnd,
    MessageStart,
    ReasoningDelta,
    ReasoningEnd,
    StopReason,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from lip.canonical.request import ToolCall
from lip.errors import LipError, UpstreamStatusError
from lip.protocols.gemini import parts, wire
from lip.protocols.gemini.decoder import STATUS_CODES

STOP_TO_FINISH = {
    StopReason.END_TURN: "STOP",
    StopReason.STOP_SEQUENCE: "STOP",
    StopReason.TOOL_USE: "STOP",
    StopReason.MAX_TOKENS: "MAX_TOKENS",
    StopReason.CONTENT_FILTER: "SAFETY",
    StopReason.REFUSAL: "SAFETY",
    StopReason.ERROR: "OTHER",
}
STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",  # the client's body did not arrive in time (server.body_timeout_s)
    409: "ABORTED",
    413: "INVALID_ARGUMENT",  # Google answers a too-large payload with INVALID_ARGUMENT
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "UNAVAILABLE",
}
FRAME_END = b"\r\n\r\n"  # Google ends each alt=sse event with CRLF CRLF


dumps = orjson.dumps  # a name of its own, not a wrapper: called for every event


def frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + dumps(obj) + FRAME_END


def status_text(error: LipError) -> str:
    if isinstance(error, UpstreamStatusError) and STATUS_CODES.get(str(error.error_type)) == error.status:
        return str(error.error_type)  # a Gemini upstream's own status, when it matches
    return STATUS_TEXT.get(error.status, "INTERNAL" if error.status >= 500 else "INVALID_ARGUMENT")


def error_body(error: LipError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.status, "message": error.message, "status": status_text(error)}
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after > 0:
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{max(1, round(retry_after))}s"}
        body["details"] = [retry]
    return {"error": body}


def usage_body(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(0, usage.output_tokens - usage.reasoning_tokens),
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }
    if usage.reasoning_tokens:
        body["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_tokens:
        body["cachedContentTokenCount"] = usage.cached_tokens
    return body


def _closing(reason: StopReason) -> list[dict[str, Any]]:
    """The parts of the chunk that carries the finish reason: an empty text, so that the chunk has content (the
    google-genai SDK's chat keeps a streamed turn only when every chunk has some); none after a content filter, as
    Gemini sends a blocked candidate."""
    return [] if reason in (StopReason.CONTENT_FILTER, StopReason.REFUSAL) else [{"text": ""}]


def _candidate(content: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": content, "role": "model"}} if content else {}
    if finish is not None:
        candidate["finishReason"] = finish
    candidate["index"] = 0
    return candidate


def encode_response(response: Response, model: str, include_thoughts: bool) -> dict[str, Any]:
    content = parts.model_parts(response.content, client=True, thoughts=include_thoughts)
    content = content or _closing(response.stop_reason)
    return {
        "candidates": [_candidate(content, STOP_TO_FINISH[response.stop_reason])],
        "usageMetadata": usage_body(response.usage),
        "modelVersion": response.model or model,
        "responseId": response.id or uuid.uuid4().hex,
    }


class _Call:
    __slots__ = ("args", "id", "kind", "name")

    def __init__(self, id_: str, name: str, kind: str) -> None:
        self.id, self.name, self.kind = id_, name, kind
        self.args: list[str] = []


class GeminiStreamEncoder:
    """Canonical events -> Gemini ``alt=sse`` chunks; usage goes out with the finish reason."""

    def __init__(self, model: str, include_thoughts: bool) -> None:
        self.model = model
        self.include_thoughts = include_thoughts
        self.usage = Usage()
        self._head: dict[str, Any] = {"modelVersion": model, "responseId": uuid.uuid4().hex}
        self._calls: dict[int, _Call] = {}
        self._thinking = False  # thought text of the open reasoning run went out

    def _chunk(self, content: list[dict[str, Any]], finish: str | None = None, usage: bool = False) -> bytes:
        body: dict[str, Any] = {"candidates": [_candidate(content, finish)]}
        if usage:
            body["usageMetadata"] = usage_body(self.usage)
        return frame({**body, **self._head})

    def encode(self, event: Event) -> bytes:
        match event:
            case TextDelta(text=text):
                self._thinking = False
                return self._chunk([{"text": text}]) if text else b""
            case ReasoningDelta(text=text):
                if not self.include_thoughts or not text:
                    return b""
                self._thinking = True
                return self._chunk([{"text": text, "thought": True}])
            case ReasoningEnd(encrypted=encrypted):
                return self._reasoning_end(wire.unwrap_signature(encrypted))
            case ToolCallStart(index=index, id=id_, name=name, kind=kind):
                self._thinking = False
                self._calls[index] = _Call(id_, name, kind)
            case ToolCallDelta(index=index, arguments=args):
                if index in self._calls:
                    self._calls[index].args.append(args)
            case ToolCallEnd(index=index):
                return self._call(self._calls.pop(index, None))
            case MessageStart(id=id_, model=model):
                self._head = {"modelVersion": model or self.model, "responseId": id_ or self._head["responseId"]}
            case Usage():
                self.usage = merge_usage(self.usage, event)
            case MessageEnd(stop_reason=reason):
                out = b"".join(self._call(self._calls.pop(i)) for i in sorted(self._calls))
                return out + self._chunk(_closing(reason), STOP_TO_FINISH[reason], usage=True)
            case StreamError(error=error):
                return frame(error_body(error))
        return b""

    def finish(self) -> bytes:
        return b""

    def _reasoning_end(self, signature: str | None) -> bytes:
        thinking, self._thinking = self._thinking, False
        if signature is None:
            return b""
        part: dict[str, Any] = {"text": "", "thoughtSignature": signature}
        if thinking:
            part["thought"] = True
        return self._chunk([part])

    def _call(self, call: _Call | None) -> bytes:
        if call is None:
            return b""
        tool = ToolCall(call.id, call.name, "".join(call.args), "custom" if call.kind == "custom" else "function")
        return self._chunk([parts.function_call_part(tool, client=True)])
