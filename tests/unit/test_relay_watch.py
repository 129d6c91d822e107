"""The passthrough relay's check for a final event, fed real streams split at every byte."""

from __future__ import annotations

import pytest

from lip.protocols.relay import RelayWatch

COMPLETE = {
    "openai_chat": b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    "openai_responses": b'event: response.output_text.delta\ndata: {"delta":"hi"}\n\n'
    b'event: response.completed\ndata: {"type":"response.completed"}\n\n',
    "anthropic_messages": b'event: content_block_delta\ndata: {"delta":{"text":"hi"}}\n\n'
    b'event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
}
CUT = {
    "openai_chat": b'data: {"choices":[{"index":0,"delta":{"content":"finish_reason [DONE"},"finish_reason":null}]}'
    b"\n\n",
    "openai_responses": b'event: response.output_text.delta\ndata: {"delta":"response.complete"}\n\n',
    "anthropic_messages": b'event: content_block_delta\ndata: {"delta":{"text":"message_sto"}}\n\n',
}


def watched(protocol: str, data: bytes, step: int) -> bool:
    watch = RelayWatch(protocol)
    for start in range(0, len(data), step):
        watch.feed(data[start : start + step])
    return watch.complete


@pytest.mark.parametrize("protocol", sorted(COMPLETE))
@pytest.mark.parametrize("step", [1, 2, 5, 17, 10_000])
def test_a_complete_stream_is_complete_however_it_is_split(protocol: str, step: int) -> None:
    assert watched(protocol, COMPLETE[protocol], step)


@pytest.mark.parametrize("protocol", sorted(CUT))
@pytest.mark.parametrize("step", [1, 3, 10_000])
def test_a_stream_cut_before_its_final_event_is_not(protocol: str, step: int) -> None:
    assert not watched(protocol, CUT[protocol], step)


def test_a_mid_stream_error_counts_as_an_end() -> None:
    assert watched("openai_chat", b'data: {"error":{"message":"boom"}}\n\n', 4)
    assert watched("anthropic_messages", b'event: error\ndata: {"type":"error"}\n\n', 4)


USAGE_STREAMS = {
    "openai_chat": [
        b'data: {"choices":[{"index":0,"delta":{"role":"assistant"}}],"usage":null}\n\n',
        *[b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n\n'] * 5,
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
        b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,'
        b'"prompt_tokens_details":{"cached_tokens":2}}}\n\n',
        b"data: [DONE]\n\n",
    ],
    "anthropic_messages": [
        b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":7,'
        b'"cache_read_input_tokens":0,"output_tokens":1}}}\n\n',
        *[b'event: content_block_delta\ndata: {"delta":{"text":"hi"}}\n\n'] * 5,
        b'event: message_delta\ndata: {"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n',
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ],
}


@pytest.mark.parametrize("protocol", sorted(USAGE_STREAMS))
def test_usage_is_read_from_the_first_and_last_chunks(protocol: str) -> None:
    watch = RelayWatch(protocol)
    for chunk in USAGE_STREAMS[protocol]:
        assert watch.feed(chunk) is chunk
    usage, dropped = watch.usage()
    assert usage is not None and (usage.input_tokens, usage.output_tokens) == (7, 3)
    assert not dropped


def test_only_error_chunks_are_redacted() -> None:
    watch = RelayWatch("openai_chat", lambda chunk: chunk.replace(b"sk-secret", b"[redacted]"))
    plain = b'data: {"choices":[{"index":0,"delta":{"content":"sk-secret"}}]}\n\n'
    assert watch.feed(plain) is plain  # not an error event: relayed untouched
    assert watch.feed(b'data: {"error":{"message":"bad key sk-secret"}}\n\n') == (
        b'data: {"error":{"message":"bad key [redacted]"}}\n\n'
    )


TOOL_CHUNK = (
    b'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f"}}]}}]}\n\n'
)
STOP_CHUNK = b'data: {"choices":[{"index":0,"delta":{},"finish_reason": "stop"}]}\n\n'


def test_a_plain_stop_after_tool_calls_becomes_a_tool_stop() -> None:
    watch = RelayWatch("openai_chat")
    assert watch.feed(TOOL_CHUNK) == TOOL_CHUNK
    assert watch.feed(STOP_CHUNK) == STOP_CHUNK.replace(b'"stop"', b'"tool_calls"')


def test_a_plain_stop_without_tool_calls_is_left_alone() -> None:
    text = (
        b'data: {"choices":[{"index":0,"delta":{"content":"\\"finish_reason\\": \\"stop\\" \\"tool_calls\\":[{"}}]}\n\n'
    )
    watch = RelayWatch("openai_chat")
    assert watch.feed(text) is text  # the same words inside the model's text are escaped: not a tool call
    assert watch.feed(STOP_CHUNK) is STOP_CHUNK


def test_several_choices_are_left_alone() -> None:
    watch = RelayWatch("openai_chat", fix_stop=False)
    watch.feed(TOOL_CHUNK)
    assert watch.feed(STOP_CHUNK) is STOP_CHUNK


def test_an_anthropic_end_turn_after_a_tool_use_block_becomes_tool_use() -> None:
    watch = RelayWatch("anthropic_messages")
    start = b'event: content_block_start\ndata: {"index":0,"content_block":{"type":"tool_use","id":"t","name":"f"}}\n\n'
    end = b'event: message_delta\ndata: {"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\n'
    watch.feed(start)
    assert watch.feed(end) == end.replace(b'"end_turn"', b'"tool_use"')
