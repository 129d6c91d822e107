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
