"""The SSE decoder (feed/flush from byte lists) and encoder."""

from __future__ import annotations

import time

import pytest

from lip.errors import UpstreamProtocolError
from lip.protocols.sse import DONE_FRAME, KEEPALIVE_FRAME, SSEDecoder, SSEEvent, encode, loads_data

TRANSCRIPT = (
    b'data: {"a":1}\n\n'
    b'event: message_start\ndata: {"b":2}\n\n'
    b": keep-alive comment\n\n"
    b"id: 7\nevent: ping\ndata: line one\ndata: line two\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SSEEvent(b'{"a":1}'),
    SSEEvent(b'{"b":2}', "message_start"),
    SSEEvent(b"line one\nline two", "ping", "7"),
    SSEEvent(b"[DONE]", None, "7"),  # the last event id persists, as the SSE spec says
]


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for chunk in chunks for e in decoder.feed(chunk)]
    return events + decoder.flush()


def test_one_chunk() -> None:
    assert decode([TRANSCRIPT]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16])
def test_any_split_gives_the_same_events(size: int) -> None:
    chunks = [TRANSCRIPT[i : i + size] for i in range(0, len(TRANSCRIPT), size)]
    assert decode(chunks) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings(newline: bytes) -> None:
    data = TRANSCRIPT.replace(b"\n", newline)
    assert decode([data[i : i + 1] for i in range(len(data))]) == EXPECTED
    assert decode([data + b"data: after\n\n"])[: len(EXPECTED)] == EXPECTED


def test_a_cr_only_stream_that_ends_on_cr_decodes() -> None:
    assert decode([TRANSCRIPT.replace(b"\n", b"\r")]) == EXPECTED


def test_crlf_split_between_chunks_is_one_line_break() -> None:
    assert decode([b"data: x\r", b"\n\r", b"\n"]) == [SSEEvent(b"x")]


def test_split_utf8_sequence() -> None:
    data = 'data: {"t":"héllo ✓ 日本"}\n\n'.encode()
    cut = data.index("✓".encode()) + 1
    assert decode([data[:cut], data[cut:]]) == [SSEEvent('{"t":"héllo ✓ 日本"}'.encode())]


def test_events_are_emitted_as_soon_as_their_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [SSEEvent(b"a")]
    assert decoder.feed(b"data: b\n\ndata: c") == [SSEEvent(b"b")]
    assert decoder.flush() == [SSEEvent(b"c")]


def test_flush_emits_a_last_event_without_its_blank_line() -> None:
    assert decode([b"data: tail\n"]) == [SSEEvent(b"tail")]
    assert decode([b"data: tail"]) == [SSEEvent(b"tail")]


def test_flush_on_nothing() -> None:
    assert decode([]) == []
    assert decode([b"", b": only a comment\n\n"]) == []


def test_field_without_space_and_unknown_fields() -> None:
    assert decode([b"data:x\nretry: 100\nfoo: bar\n\n"]) == [SSEEvent(b"x")]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode([b"data:  two spaces\n\n"]) == [SSEEvent(b" two spaces")]


def test_empty_data_line_is_an_event() -> None:
    assert decode([b"data:\n\n"]) == [SSEEvent(b"")]


def test_event_name_without_data_still_dispatches() -> None:
    assert decode([b"event: ping\n\n"]) == [SSEEvent(b"", "ping")]


def test_encode() -> None:
    assert encode('{"a":1}') == b'data: {"a":1}\n\n'
    assert encode(b'{"a":1}', "message_start") == b'event: message_start\ndata: {"a":1}\n\n'
    assert encode("[DONE]") == DONE_FRAME
    assert decode([KEEPALIVE_FRAME]) == []


def test_encode_then_decode_round_trips() -> None:
    frames = [encode(f'{{"i":{i}}}', "e" if i % 2 else None) for i in range(5)]
    assert decode(frames) == [SSEEvent(f'{{"i":{i}}}'.encode(), "e" if i % 2 else None) for i in range(5)]


def test_an_invalid_utf8_byte_in_json_data_becomes_a_replacement_character() -> None:
    assert loads_data(b'{"t":"a\xffb"}') == {"t": "a\ufffdb"}


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_an_event_split_over_many_chunks_is_joined_once(newline: bytes) -> None:
    """Each chunk is searched on its own: a 32 MB event in 16 KiB chunks decodes in well under a second here (a
    decoder that rescans its buffer per chunk copies ~32 GB and takes minutes)."""
    size, piece = 32 * 2**20, 16 * 1024
    chunks = [b"data: " + b"x" * (piece - 6)] + [b"x" * piece] * (size // piece - 1)
    chunks += [newline + b"event: e" + newline, newline]
    decoder = SSEDecoder(max_event_bytes=0)
    started = time.perf_counter()
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.flush()
    assert time.perf_counter() - started < 5  # generous: a bound, not a benchmark
    assert [(len(e.data), e.event) for e in events] == [(size - 6, "e")]


def test_a_blank_line_split_between_chunks_ends_the_event() -> None:
    assert decode([b"data: a", b"bc\n", b"\n", b"data: d\n", b"\ndata: e\n\n"]) == [
        SSEEvent(b"abc"),
        SSEEvent(b"d"),
        SSEEvent(b"e"),
    ]


def test_an_event_over_the_cap_is_a_protocol_error() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    assert decoder.feed(b"data: " + b"x" * 90) == []
    with pytest.raises(UpstreamProtocolError, match="larger than 100 bytes"):
        decoder.feed(b"x" * 10)
    one_chunk = SSEDecoder(max_event_bytes=100)
    with pytest.raises(UpstreamProtocolError):
        one_chunk.feed(b'data: {"a":1}\n\ndata: ' + b"x" * 200)


def test_events_up_to_the_cap_pass() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    event = b"data: " + b"x" * 92 + b"\n\n"  # 100 bytes with its blank line
    chunks = [event[:50], event[50:], event]
    assert [len(e.data) for c in chunks for e in decoder.feed(c)] == [92, 92]
