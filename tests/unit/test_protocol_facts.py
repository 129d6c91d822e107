"""A protocol's facts live in its codec: the modules that use them name no protocol, and they work for a protocol
whose facts differ from the three lip has (the model in the URL, its own key header, token paging, ``usageMetadata``
instead of ``usage``), as a fourth protocol's codec would fill them in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lip.canonical.events import Usage
from lip.protocols.codec import HttpDialect, RelayRules
from lip.protocols.registry import codec_for_path, codecs
from lip.protocols.relay import RelayWatch, body_usage

SRC = Path(__file__).parents[2] / "src" / "lip"
# the modules the facts used to be tables in (issue 14): they look the facts up, never a protocol by name
USERS = ["protocols/relay.py", "backends/http.py", "routing/overrides.py", "frontends/models.py", "middlewares.py"]
PROTOCOL_NAME = re.compile(r"""["'](openai_chat|openai_responses|anthropic_messages)["']""")


@pytest.mark.parametrize("module", USERS)
def test_the_modules_that_use_a_protocols_facts_name_no_protocol(module: str) -> None:
    text = (SRC / module).read_text()
    assert PROTOCOL_NAME.findall(text) == []
    assert "anthropic-version" not in text


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
