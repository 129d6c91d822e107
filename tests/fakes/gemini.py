"""Fake Gemini API (generateContent): validation as Google rejects, `GenerateContentResponse` bodies, both stream
framings, countTokens, and the thought-signature rule.

Paths: `POST …/models/{model}:generateContent`, `:streamGenerateContent` (with `?alt=sse`: `data: {…}` frames ended
by `\\r\\n\\r\\n`; without it: one JSON array written as it goes, `[{…}` then `\\r\\n,\\r\\n{…}` per chunk and
`\\r\\n]`, each element pretty-printed as Google prints it), `:countTokens`; keys in `x-goog-api-key` or `?key=`.

A stream: thought parts (`thought: true`, only when `thinkingConfig.includeThoughts`), text parts, then each
function call whole in one part; every chunk carries `usageMetadata` (the prompt count until the last, which has the
candidates and thoughts as well) and the last chunk its `finishReason`. Gemini has no call ids and says `STOP` when
it calls tools. A thinking answer's signature (`thoughtSignature`, base64) rides on the first function call part, or
on the last text part when there is no call; a later request whose model turn sends back a function call this fake
signed without that signature is refused with Google's 400 (`thought_signature`), as Gemini 3 refuses it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

import orjson

from tests.fakes.endpoint import mid_stream_error
from tests.fakes.errors import ApiError, Family, google_error
from tests.fakes.script import ErrorMidStream, Turn, neutral_finish
from tests.fakes.wire import Frame, make_id, split_text

__all__ = ["DUMMY_SIGNATURES", "SSE_KEY", "GeminiFrame", "GeminiGenerate"]

SSE_KEY = "__fake_alt_sse__"  # set by the server on a stream's body: the client asked for ?alt=sse
LIP_ONLY = ("stream", "model")  # what the fake's server adds to a body after validation
DUMMY_SIGNATURES = frozenset({"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"})
_FINISH = {
    "end_turn": "STOP",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
}
TOP_FIELDS = frozenset(
    {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent"}
)
CONFIG_FIELDS = frozenset(
    {
        "stopSequences",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseModalities",
        "candidateCount",
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseLogprobs",
        "logprobs",
        "enableEnhancedCivicAnswers",
        "speechConfig",
        "thinkingConfig",
        "imageConfig",
        "mediaResolution",
    }
)
THINKING_FIELDS = frozenset({"includeThoughts", "thinkingBudget", "thinkingLevel"})
PART_DATA = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
PART_FIELDS = frozenset({*PART_DATA, "thought", "thoughtSignature", "videoMetadata", "partMetadata"})
# the OpenAPI subset `parameters` takes (`parametersJsonSchema` takes any JSON Schema)
SCHEMA_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
DECLARATION_FIELDS = frozenset({"name", "description", "parameters", "parametersJsonSchema", "response", "behavior"})


# values that are data, not fields: their keys are the client's own (a schema's property names, a call's arguments)
OPAQUE = frozenset(
    {"properties", "args", "response", "parametersJsonSchema", "responseJsonSchema", "example", "default"}
)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: Any) -> Any:
    """A body with its field names in lowerCamelCase: Google reads proto field names (``function_declarations``,
    as google-genai sends some) and JSON names alike."""
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, inner in value.items():
        name = camel(key)
        if name == "properties" and isinstance(inner, dict):
            out[name] = {prop: camel_keys(schema) for prop, schema in inner.items()}
        else:
            out[name] = inner if name in OPAQUE else camel_keys(inner)
    return out


def bad(message: str) -> ApiError:
    return google_error(400, message)


def unknown(name: str, at: str | None = None) -> ApiError:
    where = f" at '{at}'" if at else ""
    return bad(f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.')


def _check_fields(obj: dict[str, Any], known: frozenset[str], at: str | None) -> None:
    for name in obj:
        if name not in known:
            raise unknown(name, at)


def _check_schema(schema: Any, at: str) -> None:
    if not isinstance(schema, dict):
        raise bad(f"Invalid value at '{at}', expected an object")
    _check_fields(schema, SCHEMA_FIELDS, at)
    for name, inner in (schema.get("properties") or {}).items():
        _check_schema(inner, f"{at}.properties[{name}].value")
    if "items" in schema:
        _check_schema(schema["items"], f"{at}.items")
    for i, inner in enumerate(schema.get("anyOf") or []):
        _check_schema(inner, f"{at}.any_of[{i}]")


def _check_tools(tools: Any) -> None:
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        for j, declaration in enumerate(tool.get("functionDeclarations") or []):
            at = f"tools[{i}].function_declarations[{j}]"
            _check_fields(declaration, DECLARATION_FIELDS, at)
            if not declaration.get("name"):
                raise bad(f"* GenerateContentRequest.{at}.name: Name cannot be empty.")
            if "parameters" in declaration:
                _check_schema(declaration["parameters"], f"{at}.parameters")


def _check_config(config: Any) -> None:
    if config is None:
        return
    _check_fields(config, CONFIG_FIELDS, "generation_config")
    thinking = config.get("thinkingConfig")
    if thinking is not None:
        _check_fields(thinking, THINKING_FIELDS, "generation_config.thinking_config")
        if "thinkingBudget" in thinking and "thinkingLevel" in thinking:
            raise bad("You can only set only one of thinking budget and thinking level.")
    maximum = config.get("maxOutputTokens")
    if maximum is not None and (not isinstance(maximum, int) or maximum < 1):
        raise bad("* GenerateContentRequest.generation_config.max_output_tokens: must be positive")


def _check_contents(contents: Any) -> None:
    if not isinstance(contents, list) or not contents:
        raise bad("* GenerateContentRequest.contents: contents is not specified\n")
    for i, content in enumerate(contents):
        role = content.get("role", "user")
        if role not in ("user", "model"):
            raise bad("Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise bad(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n")
        for j, part in enumerate(parts):
            _check_fields(part, PART_FIELDS, f"contents[{i}].parts[{j}]")
            if sum(name in part for name in PART_DATA) != 1:
                raise bad(
                    f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must "
                    "have one initialized field\n"
                )
    _check_call_turns(contents)


def _check_call_turns(contents: list[dict[str, Any]]) -> None:
    """Each turn of function responses follows a model turn of as many function calls, as Google checks."""
    for i, content in enumerate(contents):
        responses = [p for p in content["parts"] if "functionResponse" in p]
        if not responses:
            continue
        before = contents[i - 1] if i else {}
        calls = [p for p in before.get("parts", []) if "functionCall" in p] if before.get("role") == "model" else []
        if not calls:
            raise bad(
                "Please ensure that function response turn comes immediately after a function call turn. And the "
                "number of function response parts should be equal to number of function call parts of the function "
                "call turn."
            )
        if len(calls) != len(responses):
            raise bad(
                "Please ensure that the number of function response parts is equal to the number of function call "
                "parts of the function call turn."
            )


class GeminiFrame(Frame):
    """One chunk as Google writes it: an SSE `data:` frame ended by `\\r\\n\\r\\n`, or an element of the JSON array
    (`first`: opens the array; `close`: the array's end)."""

    __slots__ = ("close", "first", "sse")

    def __init__(self, data: dict[str, Any], *, sse: bool, first: bool = False, close: bool = False) -> None:
        super().__init__(None, data)
        object.__setattr__(self, "sse", sse)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "close", close)

    def encode(self) -> bytes:
        if self.close:
            return b"\r\n]"
        assert isinstance(self.data, dict)
        if self.sse:
            return b"data: " + orjson.dumps(self.data) + b"\r\n\r\n"
        pretty = orjson.dumps(self.data, option=orjson.OPT_INDENT_2)
        return (b"[" if self.first else b"\r\n,\r\n") + pretty


class GeminiGenerate:
    """POST …/models/{model}:generateContent and :streamGenerateContent; :countTokens."""

    family: Family = "gemini"

    def __init__(self) -> None:
        self.signed: dict[tuple[str, bytes], str] = {}  # (name, args) of each call signed -> its signature

    def validate(self, body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad("Invalid JSON payload received. Expected an object.")
        body = camel_keys(body)
        _check_fields(body, TOP_FIELDS, None)
        _check_contents(body.get("contents"))
        _check_tools(body.get("tools"))
        _check_config(body.get("generationConfig"))
        self._check_signatures(body["contents"])
        return body

    def _check_signatures(self, contents: list[dict[str, Any]]) -> None:
        for i, content in enumerate(contents):
            if content.get("role") != "model":
                continue
            for part in content["parts"]:
                call = part.get("functionCall")
                if not isinstance(call, dict):
                    continue
                signed = self.signed.get((str(call.get("name")), orjson.dumps(call.get("args") or {})))
                sent = part.get("thoughtSignature")
                if signed is not None and sent != signed and sent not in DUMMY_SIGNATURES:
                    raise bad(
                        f"Function call is missing a thought_signature in functionCall parts. This is required for "
                        f"tools to work correctly, and missing thought_signature may lead to degraded model "
                        f"performance. Additional data, function call `default_api:{call.get('name')}` , position "
                        f"{i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more "
                        "details."
                    )

    def count_tokens(self, body: Any) -> dict[str, Any]:
        """A deterministic estimate (about one token per four bytes); ``contents`` or a ``generateContentRequest``
        (which must name its model), never both."""
        if not isinstance(body, dict):
            raise bad("Invalid JSON payload received. Expected an object.")
        body = camel_keys(body)
        _check_fields(body, frozenset({"contents", "generateContentRequest"}), None)
        inner = body.get("generateContentRequest")
        if inner is not None and "contents" in body:
            raise bad("contents and generate_content_request cannot both be set.")
        if inner is not None:
            if not str(inner.get("model", "")).startswith("models/"):
                raise bad("* CountTokensRequest.generate_content_request.model: unexpected model name format\n")
            self.validate({k: v for k, v in inner.items() if k != "model"}, {})
            measured: Any = inner
        else:
            _check_contents(body.get("contents"))
            measured = body["contents"]
        total = max(1, len(orjson.dumps(measured)) // 4)
        return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}

    # -- answers -------------------------------------------------------------------------------------------------

    def respond(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        parts = self._parts(body, turn, turn.chunks)
        candidate = self._candidate(turn, parts)
        return self._chunk(body, [candidate] if candidate else [], _usage(turn, final=True))

    def frames(self, body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Frame]:
        sse = bool(body.get(SSE_KEY))
        parts = self._parts(body, turn, turn.chunks)
        chunks: list[dict[str, Any]] = []
        for part in parts or [{"text": ""}]:
            content = {"parts": [part], "role": "model"}
            chunks.append(self._chunk(body, [{"content": content, "index": 0}], _usage(turn, final=False)))
        last = chunks[-1]
        last["candidates"] = [self._candidate(turn, last["candidates"][0]["content"]["parts"])]
        last["usageMetadata"] = _usage(turn, final=True)
        if fault is not None:
            err = mid_stream_error(self.family, fault)
            error = {"error": {"code": err.status, "message": err.message, "status": err.type}}
            chunks = [*chunks[: fault.after_chunks], error]
        frames: list[Frame] = [GeminiFrame(c, sse=sse, first=i == 0) for i, c in enumerate(chunks)]
        if not sse:
            frames.append(GeminiFrame({}, sse=False, close=True))
        return frames

    def stream_headers(self, body: dict[str, Any]) -> dict[str, str]:
        sse = bool(body.get(SSE_KEY))
        return {"content-type": "text/event-stream" if sse else "application/json; charset=UTF-8"}

    def _chunk(self, body: dict[str, Any], candidates: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"candidates": candidates, "usageMetadata": usage}
        out["modelVersion"] = str(body.get("model", "gemini"))
        out["responseId"] = make_id("", 22)
        return out

    def _candidate(self, turn: Turn, parts: list[dict[str, Any]]) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if not turn.omit_finish_reason:
            candidate["finishReason"] = _FINISH[neutral_finish(turn)]
        if neutral_finish(turn) == "content_filter":
            candidate["safetyRatings"] = [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
            ]
        return candidate

    def _parts(self, body: dict[str, Any], turn: Turn, pieces: int) -> list[dict[str, Any]]:
        thinking = ((body.get("generationConfig") or {}).get("thinkingConfig")) or {}
        parts: list[dict[str, Any]] = []
        if turn.reasoning is not None and thinking.get("includeThoughts"):
            parts += [{"text": p, "thought": True} for p in split_text(turn.reasoning, pieces)]
        parts += [{"text": p} for p in split_text(turn.text, pieces)]
        signature = self._signature(turn) if turn.reasoning is not None else None
        for n, call in enumerate(turn.tool_calls):
            part: dict[str, Any] = {"functionCall": {"name": call.name, "args": orjson.loads(call.arguments or "{}")}}
            if signature is not None and n == 0:
                part["thoughtSignature"] = signature
                self.signed[(call.name, orjson.dumps(part["functionCall"]["args"]))] = signature
            parts.append(part)
        if signature is not None and not turn.tool_calls:
            text = [p for p in parts if "text" in p and not p.get("thought")]
            if text:
                text[-1]["thoughtSignature"] = signature
            else:
                parts.append({"text": "", "thoughtSignature": signature})
        return parts

    def _signature(self, turn: Turn) -> str:
        raw = (turn.reasoning_signature or "sig-" + secrets.token_hex(24)).encode()
        return base64.b64encode(raw).decode()


def _usage(turn: Turn, *, final: bool) -> dict[str, Any]:
    u = turn.usage
    usage: dict[str, Any] = {"promptTokenCount": u.input_tokens}
    if final:
        usage["candidatesTokenCount"] = max(0, u.output_tokens - u.reasoning)
        if u.reasoning:
            usage["thoughtsTokenCount"] = u.reasoning
        if u.cached:
            usage["cachedContentTokenCount"] = u.cached
    usage["totalTokenCount"] = u.input_tokens + (u.output_tokens if final else 0)
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.input_tokens}]
    return usage
