"""The Gemini codec's request side: a Gemini client's body in, the canonical request out, and a canonical request
as the body a Gemini upstream takes (checked against the google-genai SDK's own types)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from google.genai import types

from lip.canonical.request import Image, Reasoning, Text, ToolCall, ToolChoice, ToolResult
from lip.errors import InvalidRequest
from lip.protocols.gemini import GeminiCodec, params, wire
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


# ---------------------------------------------------------------- a Gemini client's body -> canonical

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
SIG = "Cg8BZmluYWwtdGV4dC1zaWc="


def test_every_part_kind_in_either_spelling_decodes() -> None:
    body = {
        "model": "m",
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "look"},
                    {"inline_data": {"mime_type": "image/png", "data": PNG}},
                    {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                    {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x.example/a.jpg"}},
                    {"file_data": {"file_uri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
                ],
            },
            {
                "role": "model",
                "parts": [
                    {"text": "plan", "thought": True, "thoughtSignature": SIG},
                    {"text": "Sure."},
                    {"function_call": {"name": "f", "args": {"a": 1}}},
                    {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                ],
            },
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "one"}}}]},
        ],
    }
    request = CODEC.decode_request(body, {})
    assert [t.text for t in request.system] == ["sys"]
    user, model, results = request.messages
    assert [type(p).__name__ for p in user.content] == ["Text", "Image", "Document", "Audio", "Image", "Document"]
    image, pdf, audio = user.content[1:4]
    assert (image.media_type, image.data) == ("image/png", PNG)  # type: ignore[union-attr]
    assert (pdf.media_type, pdf.where) == ("application/pdf", "contents[0].parts[2].inlineData")  # type: ignore[union-attr]
    assert audio.format == "wav"  # type: ignore[union-attr]
    assert user.content[4].url == "https://x.example/a.jpg"  # type: ignore[union-attr]
    reasoning, text, call = model.content
    assert reasoning == Reasoning(text="plan", encrypted=wire.wrap_signature(SIG))
    assert text == Text("Sure.") and isinstance(call, ToolCall) and call.arguments == '{"a":1}'
    [result] = results.content
    assert isinstance(result, ToolResult) and result.call_id == call.id and result.content == [Text("one")]
    assert request.unmodelled == ("contents[].parts[].executableCode",)


def test_function_responses_find_their_calls_by_id_else_by_name_and_order() -> None:
    calls = [
        {"functionCall": {"name": "read", "args": {"p": "a"}}},
        {"functionCall": {"name": "read", "args": {"p": "b"}}},
        {"functionCall": {"name": "ls", "args": {}, "id": "given-1"}},
    ]
    responses = [
        {"functionResponse": {"name": "ls", "id": "given-1", "response": {"error": "denied"}}},
        {"functionResponse": {"name": "read", "response": {"result": {"lines": 3}}}},
        {"functionResponse": {"name": "read", "response": {"text": "B"}}},
        {"functionResponse": {"name": "nobody", "response": {}}},
    ]
    body = {
        "model": "m",
        "contents": [
            {"role": "user", "parts": [{"text": "go"}]},
            {"role": "model", "parts": calls},
            {"role": "user", "parts": responses},
        ],
    }
    request = CODEC.decode_request(body, {})
    made = [p for p in request.messages[1].content if isinstance(p, ToolCall)]
    got = [p for p in request.messages[2].content if isinstance(p, ToolResult)]
    assert made[2].id == "given-1"
    assert [r.call_id for r in got[:3]] == ["given-1", made[0].id, made[1].id]
    assert (got[0].is_error, got[0].content) == (True, [Text("denied")])
    assert got[1].content == [Text('{"lines":3}')] and got[2].content == [Text('{"text":"B"}')]
    assert got[3].call_id not in {m.id for m in made}
    again = CODEC.decode_request(body, {})  # the same conversation mints the same ids (prompt caches still match)
    assert [p.id for p in again.messages[1].content if isinstance(p, ToolCall)] == [m.id for m in made]


def test_tools_tool_config_and_generation_config_decode() -> None:
    body = {
        "model": "m",
        "contents": [{"parts": [{"text": "x"}]}],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "a", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}}
                ]
            },
            {"function_declarations": [{"name": "b", "parametersJsonSchema": {"type": "object"}, "description": "B"}]},
            {"googleSearch": {}},
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["b"]}},
        "generationConfig": {
            "maxOutputTokens": 100,
            "temperature": 0.5,
            "topP": 0.9,
            "topK": 40,
            "stopSequences": ["END"],
            "candidateCount": 1,
            "seed": 7,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}},
            "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True},
            "presencePenalty": 0.1,
        },
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    request = CODEC.decode_request(body, {})
    assert [(t.name, t.parameters) for t in request.tools] == [
        ("a", {"type": "object", "properties": {"q": {"type": "string"}}}),
        ("b", {"type": "object"}),
    ]
    assert request.tool_choice == ToolChoice(mode="tool", name="b")
    p = request.params
    assert (p.max_tokens, p.temperature, p.top_p, p.stop, p.n, p.seed) == (100, 0.5, 0.9, ["END"], 1, 7)
    assert p.reasoning_effort == "high" and p.reasoning_budget is None
    assert p.response_format == {
        "type": "json_schema",
        "name": "response",
        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "strict": None,
    }
    assert set(request.unmodelled) == {
        "safetySettings",
        "generationConfig.topK",
        "generationConfig.presencePenalty",
        "tools[googleSearch]",
    }


@pytest.mark.parametrize(
    ("config", "effort", "budget"),
    [
        ({"thinkingBudget": 2048}, None, 2048),
        ({"thinkingBudget": 0}, None, None),
        ({"thinkingBudget": -1}, None, None),
        ({"thinking_level": "low"}, "low", None),
    ],
)
def test_thinking_config_decodes_to_an_effort_or_a_budget(config: dict[str, Any], effort: Any, budget: Any) -> None:
    body = {"model": "m", "contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"thinkingConfig": config}}
    p = CODEC.decode_request(body, {}).params
    assert (p.reasoning_effort, p.reasoning_budget) == (effort, budget)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("AUTO", ToolChoice(mode="auto")), ("none", ToolChoice(mode="none")), ("ANY", ToolChoice(mode="required"))],
)
def test_function_calling_modes(mode: str, expected: ToolChoice) -> None:
    body = {
        "model": "m",
        "contents": [{"parts": [{"text": "x"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": mode}},
    }
    assert CODEC.decode_request(body, {}).tool_choice == expected
    body["toolConfig"] = {"functionCallingConfig": {"mode": "SOMETIMES"}}
    with pytest.raises(InvalidRequest) as caught:
        CODEC.decode_request(body, {})
    assert caught.value.param == "toolConfig.functionCallingConfig.mode"


def test_count_tokens_takes_a_whole_generate_content_request() -> None:
    inner = {"model": "models/p:gemini-x", "contents": [{"parts": [{"text": "count me"}]}], "tools": []}
    request = CODEC.decode_count_tokens({"model": "p:gemini-x", "generateContentRequest": inner}, {})
    assert request.model == "p:gemini-x" and request.messages[0].content == [Text("count me")]
    assert CODEC.with_model(request.raw, "gemini-x") == {  # what a Gemini upstream's countTokens takes
        "generateContentRequest": {**inner, "model": "models/gemini-x"}
    }
    plain = CODEC.decode_count_tokens({"model": "g", "contents": inner["contents"]}, {})
    assert CODEC.with_model(plain.raw, "gemini-x") == {"contents": inner["contents"]}


# ---------------------------------------------------------------- canonical -> a Gemini upstream


def _from(protocol: str, body: dict[str, Any], model: str = "gemini-2.5-flash") -> dict[str, Any]:
    codec = codec_of(protocol)
    assert codec is not None
    upstream = CODEC.encode_request(codec.decode_request(body, {}), model)
    _sdk_request(upstream)
    return upstream


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "g", "messages": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize(
    ("fields", "model", "thinking"),
    [
        ({"reasoning_effort": "high"}, "gemini-2.5-flash", {"thinkingBudget": 24576, "includeThoughts": True}),
        ({"reasoning_effort": "low"}, "gemini-2.5-pro", {"thinkingBudget": 1024, "includeThoughts": True}),
        ({"reasoning_effort": "medium"}, "gemini-3-pro-preview", {"thinkingLevel": "high", "includeThoughts": True}),
        ({"reasoning_effort": "medium"}, "gemini-3-flash", {"thinkingLevel": "medium", "includeThoughts": True}),
        ({"reasoning_effort": "none"}, "gemini-2.5-flash", {"thinkingBudget": 0}),
        ({"reasoning_effort": "none"}, "gemini-2.5-pro", {"thinkingBudget": 128}),
        ({}, "gemini-2.5-flash", None),
    ],
)
def test_reasoning_efforts_become_thinking_budgets_or_levels(fields: dict[str, Any], model: str, thinking: Any) -> None:
    config = _from("openai_chat", _chat(**fields), model).get("generationConfig", {})
    assert config.get("thinkingConfig") == thinking


def test_an_anthropic_thinking_budget_is_kept_within_the_models_range() -> None:
    body = {
        "model": "g",
        "max_tokens": 60000,
        "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 50000},
        "stop_sequences": ["a", "b", "c", "d", "e", "f"],
    }
    config = _from("anthropic_messages", body, "gemini-2.5-pro")["generationConfig"]
    assert config == {
        "maxOutputTokens": 60000,
        "stopSequences": ["a", "b", "c", "d", "e"],  # Gemini takes five
        "thinkingConfig": {"thinkingBudget": 32768, "includeThoughts": True},
    }


def test_response_formats_and_tool_choice_go_as_geminis() -> None:
    schema = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}, "required": ["b"]}
    response_format = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema, "strict": True}}
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    body = _from("openai_chat", _chat(response_format=response_format, tools=tools, tool_choice="required"))
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {"b": {"type": "STRING"}, "a": {"type": "INTEGER"}},
            "required": ["b"],
            "propertyOrdering": ["b", "a"],
        },
    }
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    named = {"type": "function", "function": {"name": "f"}}
    body = _from("openai_chat", _chat(response_format={"type": "json_object"}, tools=tools, tool_choice=named))
    assert body["generationConfig"] == {"responseMimeType": "application/json"}
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
    assert _from("openai_chat", _chat(tool_choice="none"))["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}


def test_images_documents_and_system_turns_go_as_gemini_parts() -> None:
    content = [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://x.example/cat.webp"}},
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}},
    ]
    body = _from(
        "openai_chat",
        {
            "model": "g",
            "messages": [
                {"role": "system", "content": "top"},
                {"role": "assistant", "content": "earlier"},
                {"role": "user", "content": content},
                {"role": "system", "content": "later"},
            ],
        },
    )
    assert body["systemInstruction"] == {"parts": [{"text": "top"}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "(continue)"}]},
        {"role": "model", "parts": [{"text": "earlier"}]},
        {
            "role": "user",
            "parts": [
                {"text": "see"},
                {"inlineData": {"mimeType": "image/png", "data": PNG}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://x.example/cat.webp"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                {"text": "<system>\nlater\n</system>"},
            ],
        },
    ]
    file_id = {"type": "file", "file": {"file_id": "file-abc"}}
    with pytest.raises(InvalidRequest) as caught:
        _from("openai_chat", {"model": "g", "messages": [{"role": "user", "content": [file_id]}]})
    assert caught.value.param == "messages[0].content[0]"


def test_what_gemini_has_no_field_for_is_named_in_one_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="lip.protocols")
    _from("openai_chat", _chat(user="u1", metadata={"k": "v"}, frequency_penalty=0.2))
    lines = [r.getMessage() for r in caplog.records if "dropping fields" in r.getMessage()]
    assert lines == [
        "dropping fields with no gemini equivalent from the openai_chat request: frequency_penalty, metadata, user"
    ]
    caplog.clear()
    chat = codec_of("openai_chat")
    assert chat is not None
    gemini_body = {
        "model": "g",
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"topK": 3},
        "tools": [{"codeExecution": {}}],
    }
    chat.encode_request(CODEC.decode_request(gemini_body, {}), "gpt")
    lines = [r.getMessage() for r in caplog.records if "dropping fields" in r.getMessage()]
    assert lines == [
        "dropping fields with no openai_chat equivalent from the gemini request: "
        "generationConfig.topK, tools[codeExecution]"
    ]


def test_same_protocol_translation_keeps_what_only_gemini_understands() -> None:
    body = {
        "model": "g",
        "contents": [{"parts": [{"text": "x"}]}],
        "tools": [{"googleSearch": {}}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc",
        "generationConfig": {"topK": 3, "max_output_tokens": 10, "thinkingConfig": {"thinkingBudget": 0}},
    }
    upstream = CODEC.encode_request(CODEC.decode_request(body, {}), "gemini-2.5-flash")
    assert upstream["tools"] == [{"googleSearch": {}}]
    assert upstream["safetySettings"] == body["safetySettings"] and upstream["cachedContent"] == "cachedContents/abc"
    assert upstream["generationConfig"] == {"topK": 3, "thinkingConfig": {"thinkingBudget": 0}, "maxOutputTokens": 10}


def test_more_than_one_candidate_is_a_400_naming_the_clients_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        _from("openai_chat", _chat(n=2))
    assert caught.value.param == "n"
    body = {"model": "g", "contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 3}}
    with pytest.raises(InvalidRequest) as caught:
        CODEC.encode_request(CODEC.decode_request(body, {}), "gemini-2.5-flash")
    assert caught.value.param == "generationConfig.candidateCount"


# What google-genai 1.x sends (captured from the SDK): it mixes spellings inside one body.
SDK_BODY = {
    "contents": [
        {"parts": [{"text": "hi"}, {"inlineData": {"data": "iVBORy4u", "mime_type": "image/png"}}], "role": "user"},
        {
            "parts": [{"functionCall": {"args": {"city": "P"}, "name": "weather"}, "thoughtSignature": "AQJzaWc="}],
            "role": "model",
        },
        {"parts": [{"functionResponse": {"name": "weather", "response": {"output": "sunny"}}}], "role": "user"},
    ],
    "systemInstruction": {"parts": [{"text": "be brief"}], "role": "user"},
    "tools": [
        {
            "functionDeclarations": [
                {
                    "description": "Weather in a city.",
                    "name": "weather",
                    "parameters_json_schema": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string"},
                            "unit": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        },
                        "required": ["city"],
                    },
                    "response_json_schema": {"type": "string"},
                }
            ]
        }
    ],
    "generationConfig": {
        "temperature": 0.3,
        "topK": 4.0,
        "maxOutputTokens": 50,
        "thinkingConfig": {"include_thoughts": True, "thinking_budget": 1024},
    },
}


def test_the_google_genai_sdks_own_body_decodes_and_goes_to_another_protocol() -> None:
    request = CODEC.decode_request({**SDK_BODY, "model": "g", "stream": False}, {})
    assert request.system == [Text("be brief")]
    user, model, result = request.messages
    assert user.content[1] == Image(data="iVBORy4u", media_type="image/png")
    [call] = model.content
    assert isinstance(call, ToolCall) and wire.call_signature(call.id) == "AQJzaWc="
    assert result.content == [ToolResult(call.id, [Text("sunny")])]
    assert request.tools[0].parameters == SDK_BODY["tools"][0]["functionDeclarations"][0]["parameters_json_schema"]
    assert (request.params.reasoning_budget, request.params.max_tokens) == (1024, 50)
    assert params.include_thoughts(request.raw)
    chat = codec_of("openai_chat")
    assert chat is not None
    body = chat.encode_request(request, "gpt")
    assert body["messages"][2]["tool_calls"][0]["id"] == call.id
    assert body["messages"][3] == {"role": "tool", "tool_call_id": call.id, "content": "sunny"}


def test_a_streamed_turn_split_into_contents_by_the_sdks_chat_is_one_turn() -> None:
    """The google-genai chat keeps each streamed chunk as a content of its own and sends them all back."""
    call_sig = "CiQBjz1rX2ZpcnN0LWNhbGwtc2lnbmF0dXJlLys="
    model = [
        [{"text": "think", "thought": True}],
        [{"text": "", "thought": True, "thoughtSignature": SIG}],
        [{"text": "Hel"}],
        [{"text": "lo"}],
        [{"functionCall": {"name": "weather", "args": {"city": "P"}}, "thoughtSignature": call_sig}],
        [{"functionCall": {"name": "weather", "args": {"city": "R"}, "id": "toolu_9"}}],
        [{"text": ""}],
    ]
    responses = [
        {"functionResponse": {"name": "weather", "response": {"output": "sunny"}}},
        {"functionResponse": {"name": "weather", "id": "toolu_9", "response": {"output": "rain"}}},
    ]
    contents = [
        {"role": "user", "parts": [{"text": "hi"}]},
        *({"role": "model", "parts": parts} for parts in model),
        {"role": "user", "parts": responses},
    ]
    request = CODEC.decode_request({"model": "g", "contents": contents}, {})
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    chat = codec_of("openai_chat")
    assert chat is not None
    messages = chat.encode_request(request, "gpt")["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert [c["function"]["arguments"] for c in messages[1]["tool_calls"]] == ['{"city":"P"}', '{"city":"R"}']
    assert [m["content"] for m in messages[2:]] == ["sunny", "rain"]
    upstream = CODEC.encode_request(request, "gemini-3-pro-preview")
    assert upstream["contents"][1]["parts"] == [
        {"text": "think", "thought": True, "thoughtSignature": SIG},
        {"text": "Hel"},
        {"text": "lo"},
        {"functionCall": {"name": "weather", "args": {"city": "P"}}, "thoughtSignature": call_sig},
        {"functionCall": {"name": "weather", "args": {"city": "R"}}},
    ]
