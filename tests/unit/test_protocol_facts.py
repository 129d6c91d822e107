"""A protocol's facts live in its codec: the modules that use them name no protocol, and they work for a protocol
whose facts differ from the three lip has (the model in the URL, its own key header, token paging, ``usageMetadata``
instead of ``usage``), as a fourth protocol's codec would fill them in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lip.canonical.events import Usage
from lip.protocols.codec import HttpDialect, RelayRules
from lip.protocols.registry import codec_for_path, codec_of, codecs, forwarded_client_headers, says_model_missing
from lip.protocols.relay import RelayWatch, body_usage, one_answer

SRC = Path(__file__).parents[2] / "src" / "lip"
# the modules the facts used to be tables in (issue 14): they look the facts up, never a protocol by name
USERS = [
    "protocols/relay.py",
    "backends/http.py",
    "routing/overrides.py",
    "routing/failover.py",
    "routing/router.py",
    "frontends/endpoint.py",
    "frontends/models.py",
    "middlewares.py",
]
PROTOCOL_NAME = re.compile(r"""["'](openai_chat|openai_responses|anthropic_messages)["']""")
# a protocol's own fields and codes: a body's max tokens, an assistant turn's reasoning, Chat's answer count, the
# error codes for a missing model, Anthropic's headers
PROTOCOL_FIELD = re.compile(
    r"""["'](max_tokens|max_completion_tokens|reasoning_content|n|model_not_found|not_found_error|anthropic-\w+)["']"""
)


@pytest.mark.parametrize("module", USERS)
def test_the_modules_that_use_a_protocols_facts_name_no_protocol(module: str) -> None:
    text = (SRC / module).read_text()
    assert PROTOCOL_NAME.findall(text) == []
    assert "anthropic-version" not in text


@pytest.mark.parametrize("module", ["backends/http.py", "routing/failover.py", "frontends/endpoint.py"])
def test_the_backend_the_failover_rules_and_the_endpoint_name_no_protocols_field(module: str) -> None:
    assert PROTOCOL_FIELD.findall((SRC / module).read_text()) == []


def test_the_relay_reads_usage_by_the_codecs_field_not_a_literal_usage_key() -> None:
    def read(found: list[dict[str, Any]]) -> tuple[Usage | None, bool]:
        last = found[-1]
        return Usage(input_tokens=last["promptTokenCount"], output_tokens=last["candidatesTokenCount"]), False

    rules = RelayRules(terminal_markers=(b'"finishReason"',), usage_field="usageMetadata", read_usage=read)
    watch = RelayWatch(rules)
    chunks = [
        b'data: {"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}\r\n\r\n',
        b'data: {"candidates":[{"content":{"parts":[{"text":" there"}]}}]}\r\n\r\n',
        b'data: {"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":7,'
        b'"candidatesTokenCount":3}}\r\n\r\n',
    ]
    assert [watch.feed(chunk) for chunk in chunks] == chunks
    assert watch.complete
    assert watch.usage() == (Usage(input_tokens=7, output_tokens=3), False)
    body = {"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1}, "usage": {"prompt_tokens": 99}}
    assert body_usage(rules, body) == (Usage(input_tokens=5, output_tokens=1), False)


GEMINI_LIKE = HttpDialect(
    "v1beta/models/{model}:generateContent",
    "v1beta/models",
    stream_call_path="v1beta/models/{model}:streamGenerateContent?alt=sse",
    auth="x-goog-api-key",
    models_key="models",
    models_page=("pageSize", 1000),
    models_cursor=("pageToken", "nextPageToken", ""),
)


def test_a_dialect_puts_the_model_and_the_stream_flag_in_the_call_path() -> None:
    assert not GEMINI_LIKE.fixed
    assert GEMINI_LIKE.call_path_for("gemini-2.5-flash", False) == "v1beta/models/gemini-2.5-flash:generateContent"
    assert GEMINI_LIKE.call_path_for("a/b c", True) == "v1beta/models/a%2Fb%20c:streamGenerateContent?alt=sse"
    assert codecs()[0].dialect.fixed  # the protocols lip has call one URL, joined once per backend


def test_a_dialect_sends_the_key_in_its_header_and_forwards_its_client_headers() -> None:
    headers: dict[str, str] = {}
    GEMINI_LIKE.add_headers(headers, "k1", GEMINI_LIKE.auth, {"anthropic-beta": "x"})
    assert headers == {"x-goog-api-key": "k1"}
    anthropic = codec_for_path("/v1/messages").dialect
    headers = {}
    anthropic.add_headers(headers, "k2", "bearer", {"anthropic-beta": "b", "other": "o"})
    assert headers == {"anthropic-version": "2023-06-01", "anthropic-beta": "b", "Authorization": "Bearer k2"}


def test_a_dialect_pages_a_model_list_by_its_cursor() -> None:
    params = GEMINI_LIKE.first_models_params()
    assert params == {"pageSize": "1000"}
    page = {"models": [{"name": "models/a"}], "nextPageToken": "t2"}
    assert GEMINI_LIKE.models_of(page) == [{"name": "models/a"}]
    assert GEMINI_LIKE.next_models_params(page, params) == {"pageSize": "1000", "pageToken": "t2"}
    assert GEMINI_LIKE.next_models_params({"models": []}, params) is None
    assert GEMINI_LIKE.models_of({"data": []}) is None


def test_a_path_gets_the_error_shape_of_the_codec_whose_route_it_is() -> None:
    assert codec_for_path("/v1/messages/count_tokens").name == codec_for_path("/v1/messages").name
    assert codec_for_path("/v1/responses").routes == ("/v1/responses",)
    assert codec_for_path("/v1/models") is codecs()[0]


@dataclass
class Row:
    """A backend row's spelling settings, as lip.config.load.BackendSpec has them."""

    max_tokens_field: str = "max_tokens"
    reasoning_field: str = "reasoning_content"


def test_a_dialect_respells_a_translated_body_as_the_backends_row_says() -> None:
    chat = codec_of("openai_chat")
    assert chat is not None
    assert chat.dialect.respelling(Row()) is None  # the codec's own spelling: the body goes as it is encoded
    body = {"max_tokens": 5, "messages": [{"role": "assistant", "content": "a", "reasoning_content": "r"}]}
    respell = chat.dialect.respelling(Row("max_completion_tokens", "reasoning"))
    assert respell is not None
    assert respell(body) == {
        "max_completion_tokens": 5,
        "messages": [{"role": "assistant", "content": "a", "reasoning": "r"}],
    }
    dropped = chat.dialect.respelling(Row(reasoning_field="none"))
    assert dropped is not None
    assert dropped({"messages": [{"role": "assistant", "reasoning_content": "r"}]}) == {
        "messages": [{"role": "assistant"}]
    }
    for codec in codecs():  # the other protocols have one spelling
        if codec is not chat:
            assert codec.dialect.respelling(Row("max_completion_tokens", "none")) is None


def test_the_relay_fixes_a_stop_only_for_one_answer_where_a_protocol_can_ask_for_several() -> None:
    several = RelayRules(answers_field="candidateCount")
    assert one_answer(several, {}) and one_answer(several, {"candidateCount": 1})
    assert not one_answer(several, {"candidateCount": 2})
    assert one_answer(RelayRules(), {"candidateCount": 2})  # a protocol without the field: always one
    assert not one_answer("openai_chat", {"n": 3})


def test_the_client_headers_forwarded_are_the_ones_the_dialects_name() -> None:
    named = {
        name for c in codecs() for name in (*(n for n, _ in c.dialect.default_headers), *c.dialect.forwarded_headers)
    }
    assert set(forwarded_client_headers()) == named
    assert "authorization" not in {name.lower() for name in forwarded_client_headers()}


def test_a_missing_model_is_read_in_each_protocols_error_shape() -> None:
    for codec, body in [
        ("openai_chat", {"error": {"message": "m", "type": "invalid_request_error", "code": "model_not_found"}}),
        ("anthropic_messages", {"type": "error", "error": {"type": "not_found_error", "message": "m"}}),
    ]:
        found = codec_of(codec)
        assert found is not None and found.dialect.model_missing(body)
        assert says_model_missing(body)
    assert not says_model_missing({"error": {"code": {"unhashable": []}, "type": ["x"]}})
    assert not says_model_missing("model_not_found")
