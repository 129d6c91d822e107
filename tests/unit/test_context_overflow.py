"""An upstream's "the prompt is too long" fails over, by its code where it has one, else by the wording each
provider uses (the bodies below are the providers' own, as their users reported them); a leaf is skipped before it
is tried when the estimate does not suit its bounds or its model's window."""

from __future__ import annotations

from typing import Any

import pytest

from lip.backends.base import Target
from lip.backends.local_stub import LocalStubBackend
from lip.config import load_text
from lip.errors import ContextTooLarge, UpstreamStatusError
from lip.inventory import Inventory
from lip.routing.context import TOO_LARGE, suited, why_skipped
from lip.routing.failover import is_context_overflow, reason, should_fail_over

OPENAI = (
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 202868 tokens. "
    "Please reduce the length of the messages."
)
REFUSALS: list[tuple[str, int, Any, str]] = [
    (
        "openai",
        400,
        {
            "error": {
                "message": OPENAI,
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
        OPENAI,
    ),
    (
        "openai-responses",
        400,
        {"error": {"message": "x", "type": "invalid_request_error", "code": "context_length_exceeded"}},
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
    ),
    (
        "vllm",
        400,
        {"object": "error", "message": OPENAI, "type": "BadRequestError", "param": None, "code": 400},
        OPENAI,
    ),
    (
        "anthropic",
        400,
        {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": "prompt is too long: 208656 tokens > 200000 maximum"},
        },
        "prompt is too long: 208656 tokens > 200000 maximum",
    ),
    (
        "gemini",
        400,
        {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x"}},
        "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
    ),
    (
        "llama.cpp",
        400,
        {
            "error": {
                "code": 400,
                "message": "x",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 14429,
                "n_ctx": 8192,
            }
        },
        "request (14429 tokens) exceeds the available context size (8192 tokens), try increasing it",
    ),
    ("llama.cpp-500", 500, {"error": {"code": 500, "type": "server_error"}}, "Context size has been exceeded."),
    ("ollama", 400, {"error": "x"}, "the input length exceeds the context length"),
    (
        "openrouter",
        400,
        {"error": {"message": "x", "code": 400}},
        "This endpoint's maximum context length is 131072 tokens. However, you requested about 138956 tokens",
    ),
    (
        "mistral",
        400,
        {"object": "error", "message": "x", "type": "invalid_request_message_error"},
        "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length",
    ),
    ("bedrock", 400, {"message": "x"}, "Input is too long for requested model."),
]


@pytest.mark.parametrize(("who", "status", "body", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_prompt_too_long_fails_over(who: str, status: int, body: Any, message: str) -> None:
    error = UpstreamStatusError(message, upstream_status=status, body=body)
    assert is_context_overflow(error)
    assert should_fail_over(error)
    assert reason(error) == f"http_{status}_context_length_exceeded"


@pytest.mark.parametrize(
    "message",
    [
        "Invalid request.",
        "max_tokens is too large: 900000",
        "context too long",
        "Request exceeds the maximum allowed number of bytes.",
    ],
)
def test_other_client_errors_still_do_not_fail_over(message: str) -> None:
    error = UpstreamStatusError(message, upstream_status=400, body={"error": {"message": message}})
    assert not is_context_overflow(error)
    assert not should_fail_over(error)


def test_a_success_status_is_never_an_overflow() -> None:
    assert not is_context_overflow(UpstreamStatusError(OPENAI, upstream_status=200))


CONFIG = """
plugins:
  backends:
    - id: small
      kind: local-stub
      config:
        backend_prefix: small
        models: {source: inline, items: [{native_id: m, context_window: 1000}]}
    - id: big
      kind: local-stub
      config: {backend_prefix: big}
"""


def targets() -> tuple[list[Target], Inventory]:
    settings = load_text(CONFIG, "t.yaml", {})
    backends = {spec.prefix: LocalStubBackend(spec) for spec in settings.backends}
    inventory = Inventory(backends.values())
    return [Target(backends["small"], "m"), Target(backends["big"], "m", max_context=5000)], inventory


def test_a_leaf_too_small_for_the_estimate_is_skipped() -> None:
    plan, inventory = targets()
    assert [t.leaf for t in suited(plan, inventory, None, lambda _: 2000)] == ["big:m"]
    assert [t.leaf for t in suited(plan, inventory, None, lambda _: 1000)] == ["small:m", "big:m"]
    with pytest.raises(ContextTooLarge) as refused:
        suited(plan, inventory, None, lambda _: 5001)
    assert refused.value.status == 413 and refused.value.message == TOO_LARGE


def test_a_body_smaller_than_every_bound_is_not_estimated() -> None:
    plan, inventory = targets()

    def never(tokenizer: str | None) -> int:
        raise AssertionError("estimated")

    assert len(suited(plan, inventory, 900, never)) == 2
    asked: list[str | None] = []
    assert len(suited(plan, inventory, 1001, lambda name: asked.append(name) or 10)) == 2
    assert asked == [None, None]  # each leaf's tokenizer (the default here)


def test_an_estimate_lip_cannot_make_skips_nothing() -> None:
    plan, inventory = targets()
    assert len(suited(plan, inventory, 10**9, lambda _: None)) == 2


def test_min_context_is_exclusive_and_max_context_inclusive_as_in_the_go_project() -> None:
    assert why_skipped(100, (100, None)) is not None
    assert why_skipped(101, (100, None)) is None
    assert why_skipped(200, (None, 200)) is None
    assert why_skipped(201, (None, 200)) is not None
