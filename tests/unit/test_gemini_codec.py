"""The Gemini codec's request side: a Gemini client's body in, the canonical request out, and a canonical request
as the body a Gemini upstream takes (checked against the google-genai SDK's own types)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.genai import types

from lip.errors import InvalidRequest
from lip.protocols.gemini import GeminiCodec
from lip.protocols.registry import codec_of

CODEC = GeminiCodec()


def _sdk_request(body: dict[str, Any]) -> None:
    """What a Gemini upstream would be sent, as the SDK's strict types read it (unknown fields fail)."""
    for content in body["contents"]:
        types.Content.model_validate_json(orjson.dumps(content))
    if "systemInstruction" in body:
        types.Content.model_validate_json(orjson.dumps(body["systemInstruction"]))
    for tool in body.get("tools", []):
        types.Tool.model_validate_json(orjson.dumps(tool))
    if "toolConfig" in body:
        types.ToolConfig.model_validate_json(orjson.dumps(body["toolConfig"]))
    if "generationConfig" in body:
        types.GenerationConfig.model_validate_json(orjson.dumps(body["generationConfig"]))


def test_the_registry_names_the_gemini_codec() -> None:
    codec = codec_of("gemini")
    assert codec is not None and codec.name == "gemini"


def test_decode_takes_the_model_and_stream_flag_the_frontend_adds_and_keeps_neither_in_the_raw_body() -> None:
    body = {"model": "provider:gemini-2.5-flash", "stream": True, "contents": [{"parts": [{"text": "hi"}]}]}
    request = CODEC.decode_head(body, {})
    assert (request.model, request.stream, request.protocol) == ("provider:gemini-2.5-flash", True, "gemini")
    assert request.raw == {"contents": [{"parts": [{"text": "hi"}]}]}
    assert body["model"] == "provider:gemini-2.5-flash"  # the caller's body is left as it was
    assert CODEC.with_model(request.raw, "gemini-2.5-pro") == request.raw
    assert CODEC.with_model(body, "gemini-2.5-pro") == request.raw


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "contents": []}, "contents"),
        ({"model": "m"}, "contents"),
        ({"model": "m", "contents": [{"parts": "x"}]}, "contents[0].parts"),
        ({"model": "m", "contents": [{"role": "system", "parts": []}]}, "contents[0].role"),
        (
            {"model": "m", "contents": [{"parts": [{"inlineData": {"data": "AA=="}}]}]},
            "contents[0].parts[0].inlineData.mimeType",
        ),
    ],
)
def test_malformed_gemini_input_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode_request(body, {})
    assert caught.value.param == param


def test_a_plain_turn_goes_to_a_gemini_upstream_in_the_sdks_shape() -> None:
    request = CODEC.decode_request(
        {
            "model": "m",
            "systemInstruction": {"parts": [{"text": "be brief"}]},
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2, "topK": 3},
        },
        {},
    )
    body = CODEC.encode_request(request, "gemini-2.5-flash")
    _sdk_request(body)
    assert body["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    assert body["generationConfig"] == {"maxOutputTokens": 64, "temperature": 0.2, "topK": 3}
    assert "model" not in body and "stream" not in body


def test_the_error_shape_is_googles() -> None:
    body = CODEC.error_body(InvalidRequest("'contents' is required", param="contents"))
    assert body == {"error": {"code": 400, "message": "'contents' is required", "status": "INVALID_ARGUMENT"}}
    assert CODEC.error_frame(InvalidRequest("x")).endswith(b"\r\n\r\n")
