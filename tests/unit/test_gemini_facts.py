"""Gemini's facts as its codec package states them: the dialect (model in the URL, SSE always, key header, the model
list by ``name``, countTokens per model), the relay's ``usageMetadata``, overrides inside ``generationConfig``, the
JSON-array stream framing, the list shape and the routes."""

from __future__ import annotations

import orjson

from lip.canonical.events import Usage
from lip.canonical.request import Request
from lip.protocols.codec import ListedModel
from lip.protocols.gemini import facts
from lip.protocols.gemini.jsonarray import ArrayFraming
from lip.protocols.relay import RelayWatch, body_usage
from lip.protocols.sse import KEEPALIVE_FRAME
from lip.routing.overrides import apply_overrides

DIALECT = facts.DIALECT


def test_the_model_goes_in_the_path_and_a_stream_is_always_asked_as_sse() -> None:
    assert DIALECT.call_path_for("gemini-2.5-flash", False) == "models/gemini-2.5-flash:generateContent"
    assert DIALECT.call_path_for("gemini-2.5-flash", True) == "models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert DIALECT.count_tokens_path_for("gemini-2.5-pro") == "models/gemini-2.5-pro:countTokens"
    headers: dict[str, str] = {}
    DIALECT.add_headers(headers, "k", DIALECT.auth, {"x-goog-api-key": "the client's own"})
    assert headers == {"x-goog-api-key": "k"}


def test_a_listed_model_is_read_by_its_name_and_one_that_cannot_generate_is_left_out() -> None:
    entry = {
        "name": "models/gemini-2.5-flash",
        "displayName": "Gemini 2.5 Flash",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }
    assert DIALECT.model_entry(entry) == {
        "id": "gemini-2.5-flash",
        "display_name": "Gemini 2.5 Flash",
        "max_input_tokens": 1_048_576,
        "max_tokens": 65_536,
    }
    assert DIALECT.model_entry({"name": "models/e", "supportedGenerationMethods": ["embedContent"]}) is None
    assert DIALECT.model_entry({"id": "no-name"}) is None
    page = {"models": [entry], "nextPageToken": "n2"}
    assert DIALECT.next_models_params(page, {"pageSize": "1000"}) == {"pageSize": "1000", "pageToken": "n2"}


def test_the_relay_reads_usage_metadata_and_knows_the_last_chunk() -> None:
    watch = RelayWatch(facts.RELAY)
    chunks = [
        b'data: {"candidates": [{"content": {"parts": [{"text": "hi"}],"role": "model"}}],"usageMetadata": '
        b'{"promptTokenCount": 9,"totalTokenCount": 9}}\r\n\r\n',
        b'data: {"candidates": [{"content": {"parts": [{"text": "!"}],"role": "model"},"finishReason": "STOP"}],'
        b'"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 2,"thoughtsTokenCount": 3,'
        b'"cachedContentTokenCount": 4,"totalTokenCount": 14}}\r\n\r\n',
    ]
    watch.feed(chunks[0])
    assert not watch.complete
    watch.feed(chunks[1])
    assert watch.complete
    usage = Usage(input_tokens=9, output_tokens=5, cached_tokens=4, reasoning_tokens=3)
    assert watch.usage() == (usage, False)
    assert body_usage(facts.RELAY, {"usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": "x"}}) == (
        Usage(input_tokens=1),
        True,
    )


def test_a_selectors_overrides_go_inside_generation_config_and_the_clients_body_is_left_as_it_was() -> None:
    raw = {"contents": [], "generationConfig": {"temperature": 1.0, "thinkingConfig": {"includeThoughts": True}}}
    request = Request(model="g:m", messages=[], protocol="gemini", raw=raw)
    params = (("max_tokens", "64"), ("temperature", "0.2"), ("reasoning_budget", "128"))
    out = apply_overrides(request, params, True).raw
    assert out["generationConfig"] == {
        "temperature": 0.2,
        "maxOutputTokens": 64,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 128},
    }
    assert raw["generationConfig"] == {"temperature": 1.0, "thinkingConfig": {"includeThoughts": True}}


def test_sse_frames_become_googles_json_array_whatever_the_chunking() -> None:
    frames = b'data: {"a":1}\r\n\r\ndata: {"b":2}\r\n\r\ndata: {"c":3}\r\n\r\n'
    whole = ArrayFraming()
    assert whole.feed(frames) + whole.finish() == b'[{"a":1}\r\n,\r\n{"b":2}\r\n,\r\n{"c":3}\r\n]'
    split = ArrayFraming()
    out = b"".join(split.feed(frames[i : i + 5]) for i in range(0, len(frames), 5)) + split.finish()
    assert orjson.loads(out) == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert out == b'[{"a":1}\r\n,\r\n{"b":2}\r\n,\r\n{"c":3}\r\n]'
    empty = ArrayFraming()
    assert empty.feed(KEEPALIVE_FRAME) == b"\n" and empty.finish() == b"[]"


def test_the_model_list_names_each_model_models_slash_its_selector_and_pages() -> None:
    models = [ListedModel(f"p:m{i}", 0, "p", f"M{i}", 1000, 100) for i in range(3)]
    first = facts.render_page(models, 2, "")
    assert [m["name"] for m in first["models"]] == ["models/p:m0", "models/p:m1"]
    assert first["models"][0]["inputTokenLimit"] == 1000 and first["nextPageToken"] == "2"
    last = facts.render_page(models, 2, first["nextPageToken"])
    assert [m["name"] for m in last["models"]] == ["models/p:m2"] and "nextPageToken" not in last
