"""Byte-exact upstream bodies, client request bodies and the text every target must return intact."""

from __future__ import annotations

import json
from pathlib import Path

MODEL = "bench-model"
CHUNKS = 50
PIECES = [f"tok{i:02d} " for i in range(CHUNKS)]
TEXT = "".join(PIECES)
CREATED = 1_700_000_000
USAGE_IN = 12
PACE_S = 0.02  # the paced upstream's gap between two events (S7, S8)
PACED_STREAM_S = (CHUNKS - 1) * PACE_S  # a paced stream: its first event at once, then one every PACE_S
PACED_PATH = "/paced/v1/chat/completions"


def _dump(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def chat_stream_body() -> bytes:
    """OpenAI Chat Completions SSE: 50 content deltas, a finish chunk carrying usage, then [DONE]."""
    return "".join(chat_stream_events()).encode()


def chat_stream_events() -> list[str]:
    """The events of ``chat_stream_body``, one string each."""
    out: list[str] = []
    for i, piece in enumerate(PIECES):
        delta: dict[str, str] = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}],
        }
        out.append(f"data: {_dump(chunk)}\n\n")
    final = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": CHUNKS, "total_tokens": USAGE_IN + CHUNKS},
    }
    out.append(f"data: {_dump(final)}\n\n")
    out.append("data: [DONE]\n\n")
    return out


def paced_locations() -> str:
    """nginx's echo module serving ``chat_stream_body`` paced: the first content delta at once, then one every
    PACE_S; the finish chunk and ``[DONE]`` go with the last delta, so a stream takes PACED_STREAM_S. Each event is
    flushed on its own (one chunked-encoding chunk, one TCP segment), as a provider's stream arrives."""
    events = chat_stream_events()
    deltas, tail = events[:CHUNKS], "".join(events[CHUNKS:])
    lines = [
        f"location = {PACED_PATH} {{",
        "    default_type text/event-stream;",
        "    echo_read_request_body;",
    ]
    for i, event in enumerate(deltas):
        if i:
            lines.append(f"    echo_sleep {PACE_S};")
        text = event + (tail if i == CHUNKS - 1 else "")
        lines.append(f"    echo -n '{_nginx_quoted(text)}';")
        lines.append("    echo_flush;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nginx_quoted(text: str) -> str:
    """``text`` inside single quotes in an nginx config (the echo module's ``$`` would start a variable)."""
    if "'" in text or "$" in text or "\\" in text:
        raise ValueError("an event nginx cannot quote as is")
    return text.replace("\n", "\\n")


def chat_json_body() -> bytes:
    """One non-streamed ChatCompletion with the same text."""
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": USAGE_IN, "completion_tokens": CHUNKS, "total_tokens": USAGE_IN + CHUNKS},
    }
    return _dump(body).encode()


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {_dump(data)}\n\n"


def anthropic_stream_body() -> bytes:
    """A full Anthropic Messages SSE stream with 50 text deltas."""
    out = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_bench",
                    "type": "message",
                    "role": "assistant",
                    "model": MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": USAGE_IN, "output_tokens": 1},
                },
            },
        ),
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _event("ping", {"type": "ping"}),
    ]
    for piece in PIECES:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        out.append(_event("content_block_delta", delta))
    out.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": CHUNKS},
            },
        )
    )
    out.append(_event("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


def models_body() -> bytes:
    """A model list in OpenAI's shape that also carries the fields Anthropic's /v1/models has."""
    item = {
        "id": MODEL,
        "object": "model",
        "created": CREATED,
        "owned_by": "bench",
        "type": "model",
        "display_name": MODEL,
        "created_at": "2023-11-14T22:13:20Z",
    }
    return _dump({"object": "list", "data": [item], "has_more": False, "first_id": MODEL, "last_id": MODEL}).encode()


def write_upstream_files(www: Path, paced: bool = True) -> dict[str, bytes]:
    """Write every upstream body under `www` and the paced stream's nginx locations beside it (without the echo
    module, ``paced`` False: a 501 there); return URI path -> exact bytes served."""
    files = {
        "/stream/v1/chat/completions": chat_stream_body(),
        "/json/v1/chat/completions": chat_json_body(),
        "/anthropic/v1/messages": anthropic_stream_body(),
        "/models.json": models_body(),
    }
    unpaced = f"location = {PACED_PATH} {{ return 501; }}\n"  # no echo module: the paced rows fail their check
    (www.parent / "paced.conf").write_text(paced_locations() if paced else unpaced)
    for uri, data in files.items():
        path = www / uri.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {**files, PACED_PATH: files["/stream/v1/chat/completions"]}


PROMPT = "Count from zero to forty-nine."


def chat_request(model: str, stream: bool) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 256,
        "stream": stream,
    }
    return _dump(body).encode()


def anthropic_request(model: str) -> bytes:
    body = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": PROMPT}], "stream": True}
    return _dump(body).encode()


def responses_request(model: str) -> bytes:
    body = {"model": model, "input": PROMPT, "max_output_tokens": 256, "stream": True}
    return _dump(body).encode()
