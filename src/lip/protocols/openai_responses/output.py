"""OpenAI Responses output: the output items and the response object lip answers a Responses client with (the
encoder), the ids it mints for them, and the opaque reasoning payload both sides carry (the decoder reads it back).

Opaque reasoning rides in ``encrypted_content``: a Responses client only ever sees one opaque field, so an
Anthropic thinking signature travels as ``lip-signature:<sig>`` and redacted thinking as ``lip-redacted:<data>``;
both come home unchanged when the client sends the item back (``items`` decodes them with
``reasoning_from_payload``). Real Responses ``encrypted_content`` stays as is.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from lip.canonical.events import ReasoningEnd, StopReason, Usage
from lip.canonical.request import Reasoning, Request, Text, ToolCall, ToolOrigin
from lip.ids import unique_hex
from lip.protocols.openai_responses import tools as responses_tools

# An Anthropic ``refusal`` (its streaming classifiers stopped the answer) is what Responses calls content_filter.
INCOMPLETE_REASONS = {
    StopReason.MAX_TOKENS: "max_output_tokens",
    StopReason.CONTENT_FILTER: "content_filter",
    StopReason.REFUSAL: "content_filter",
}

SIGNATURE_PREFIX = "lip-signature:"
LIP_ID_MARK = "lip"  # after the prefix of every id lip mints: rs_lip…, msg_lip…, fc_lip…
REDACTED_PREFIX = "lip-redacted:"
# Every reasoning payload lip wraps starts with this (the two above, lip.protocols.gemini.wire's "lip-gemini:"):
# another provider's proof, which no Responses upstream made and none can verify (OpenAI's own start "gAAAA").
LIP_ENVELOPE = "lip-"


# ---------------------------------------------------------------- opaque reasoning payloads


def opaque_payload(signature: str | None, encrypted: str | None, redacted: str | None) -> str | None:
    """The one ``encrypted_content`` string a Responses client carries for any kind of opaque reasoning."""
    if encrypted:
        return encrypted
    if signature:
        return SIGNATURE_PREFIX + signature
    if redacted:
        return REDACTED_PREFIX + redacted
    return None


def reasoning_from_payload(text: str, payload: str | None, item_id: str | None) -> Reasoning:
    if payload and payload.startswith(SIGNATURE_PREFIX):
        return Reasoning(text=text, signature=payload[len(SIGNATURE_PREFIX) :], id=item_id)
    if payload and payload.startswith(REDACTED_PREFIX):
        return Reasoning(text=text, redacted=payload[len(REDACTED_PREFIX) :], id=item_id)
    return Reasoning(text=text, encrypted=payload or None, id=item_id)


def reasoning_end_from_payload(payload: str | None, item_id: str | None) -> ReasoningEnd:
    part = reasoning_from_payload("", payload, item_id)
    return ReasoningEnd(signature=part.signature, encrypted=part.encrypted, redacted=part.redacted, id=part.id)


# ---------------------------------------------------------------- output items (frontend side)


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = [output_text_part(text)]
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def reasoning_item(item_id: str, text: str, payload: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": []}
    if text:
        item["summary"] = [{"type": "summary_text", "text": text}]
    if payload:
        item["encrypted_content"] = payload
    return item


def call_item(
    item_id: str, call_id: str, name: str, arguments: str, kind: str, status: str, origin: ToolOrigin | None = None
) -> dict[str, Any]:
    named = responses_tools.origin_fields(origin, name)
    if kind == "custom":
        return {"id": item_id, "type": "custom_tool_call", "call_id": call_id, **named, "input": arguments}
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        **named,
    }


# ---------------------------------------------------------------- ids lip mints


def new_id(prefix: str) -> str:
    """An id lip mints (``rs_lip…``), recognisable when a client sends the item back (``unverifiable_reasoning``).
    Unguessable: a ``resp_`` id is the key of a stored conversation."""
    return prefix + LIP_ID_MARK + uuid.uuid4().hex


def new_item_id(prefix: str) -> str:
    """An output item's id (``msg_``, ``rs_``, ``fc_``…): unique, marked as lip's, never a lookup key."""
    return prefix + LIP_ID_MARK + unique_hex()


def minted_by_lip(item_id: str) -> bool:
    return item_id.partition("_")[2].startswith(LIP_ID_MARK)


# ---------------------------------------------------------------- the response object (frontend side)


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_creation_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def response_head(request: Request, response_id: str, model: str, created: int) -> dict[str, Any]:
    """The response object as ``response.created`` announces it; the request's settings echoed."""
    raw = request.raw
    reasoning = object_of(raw.get("reasoning"))
    text = object_of(raw.get("text"))
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": raw.get("instructions"),
        "max_output_tokens": raw.get("max_output_tokens"),
        "max_tool_calls": raw.get("max_tool_calls"),
        "model": model,
        "output": [],
        "parallel_tool_calls": raw.get("parallel_tool_calls") is not False,
        "previous_response_id": raw.get("previous_response_id"),
        "prompt_cache_key": raw.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": raw.get("safety_identifier"),
        "store": raw.get("store") is not False,
        "temperature": raw.get("temperature"),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity") or "medium"},
        "tool_choice": raw.get("tool_choice") or "auto",
        "tools": raw.get("tools") or [],
        "top_p": raw.get("top_p"),
        "truncation": raw.get("truncation") or "disabled",
        "usage": None,
        "user": raw.get("user"),
        "metadata": raw.get("metadata") or {},
    }


def object_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def finished_response(
    head: dict[str, Any], output: list[dict[str, Any]], usage: Usage, reason: StopReason
) -> dict[str, Any]:
    body = {**head, "output": output, "usage": usage_body(usage)}
    incomplete = INCOMPLETE_REASONS.get(reason)
    if incomplete:
        body["status"], body["incomplete_details"] = "incomplete", {"reason": incomplete}
    else:
        body["status"], body["completed_at"] = "completed", int(time.time())
    return body


def output_items(
    content: list[Text | Reasoning | ToolCall], status: str, origins: dict[str, ToolOrigin]
) -> list[dict[str, Any]]:
    """A collected answer's parts as output items: adjacent text joins one message item."""
    output: list[dict[str, Any]] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            output.append(message_item(new_item_id("msg_"), "".join(text), status))
            text.clear()

    for part in content:
        if isinstance(part, Text):
            text.append(part.text)
            continue
        flush()
        if isinstance(part, ToolCall):
            prefix = "ctc_" if part.kind == "custom" else "fc_"
            origin = origins.get(part.name)
            item = call_item(new_item_id(prefix), part.id, part.name, part.arguments, part.kind, "completed", origin)
            output.append(item)
            continue
        payload = opaque_payload(part.signature, part.encrypted, part.redacted)
        if part.text or payload:
            item_id = part.id if part.id and part.id.startswith("rs_") else new_item_id("rs_")
            output.append(reasoning_item(item_id, part.text, payload))
    flush()
    return output
