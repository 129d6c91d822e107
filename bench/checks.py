"""One-request checks: does a target answer 200 and return the upstream's text intact?"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass

from fixtures import TEXT


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


def post(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 30.0) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        return Reply(resp.status, resp.read())
    finally:
        conn.close()


def sse_data(body: bytes) -> Iterator[tuple[str, str]]:
    """(event name, data) for each SSE event in a complete body."""
    text = body.decode().replace("\r\n", "\n")
    for block in text.split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            yield name, "\n".join(data)


def chat_json_text(body: bytes) -> str:
    content = json.loads(body)["choices"][0]["message"]["content"]
    return str(content)


def chat_sse_text(body: bytes) -> str:
    parts: list[str] = []
    done = False
    for _, data in sse_data(body):
        if data == "[DONE]":
            done = True
            continue
        for choice in json.loads(data).get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
    if not done:
        raise ValueError("stream did not end with data: [DONE]")
    return "".join(parts)


def anthropic_sse_text(body: bytes) -> str:
    parts: list[str] = []
    stopped = False
    for _, data in sse_data(body):
        if data == "[DONE]":  # not Anthropic's protocol, but some proxies add it; tolerate it
            continue
        event = json.loads(data)
        if event.get("type") == "content_block_delta" and event["delta"].get("type") == "text_delta":
            parts.append(event["delta"]["text"])
        elif event.get("type") == "message_stop":
            stopped = True
        elif event.get("type") == "error":
            raise ValueError(f"error event: {data[:300]}")
    if not stopped:
        raise ValueError("stream did not end with message_stop")
    return "".join(parts)


def responses_sse_text(body: bytes) -> str:
    parts: list[str] = []
    completed = False
    for _, data in sse_data(body):
        if data == "[DONE]":  # not in OpenAI's Responses protocol, but LiteLLM sends it; tolerate it
            continue
        event = json.loads(data)
        kind = event.get("type")
        if kind == "response.output_text.delta":
            parts.append(event["delta"])
        elif kind == "response.completed":
            completed = True
        elif kind in ("error", "response.failed"):
            raise ValueError(f"{kind} event: {data[:300]}")
    if not completed:
        raise ValueError("stream did not end with response.completed")
    return "".join(parts)


DECODERS = {
    "chat-json": chat_json_text,
    "chat-sse": chat_sse_text,
    "anthropic-sse": anthropic_sse_text,
    "responses-sse": responses_sse_text,
}


def verify(reply: Reply, kind: str, exact: bytes | None = None) -> str | None:
    """None when the reply is a 200 carrying the upstream's text intact; otherwise what is wrong."""
    if reply.status != 200:
        return f"HTTP {reply.status}: {reply.body[:300]!r}"
    if exact is not None:
        return None if reply.body == exact else "body differs from the upstream's bytes"
    try:
        text = DECODERS[kind](reply.body)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return f"undecodable {kind} reply ({exc}): {reply.body[:300]!r}"
    if text != TEXT:
        return f"text differs: got {text[:120]!r}... expected {TEXT[:60]!r}..."
    return None
