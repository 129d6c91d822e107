"""Which conversation a request belongs to, from what the real clients send (recorded from Claude Code 2.1.332 and
Codex 0.171.0, the versions pinned in .agents/package.json), in lip.routing.sessions' order."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from multidict import CIMultiDict

from lip.routing.affinity import digest, scope_of
from lip.routing.selector import parse_selector
from lip.routing.sessions import MAX_ID_CHARS, claude_code_session, previous_response, session_of

CLAUDE_SESSION = "23784068-40c1-4c44-b903-bf2275594906"
CODEX_THREAD = "01a23be6-4ad9-75f1-9570-629895c39d99"
# what Claude Code sends in metadata.user_id (a JSON text), and what versions before it sent
CLAUDE_USER_ID = orjson.dumps({"device_id": "f063155de241", "account_uuid": "", "session_id": CLAUDE_SESSION}).decode()
LEGACY_USER_ID = f"user_f063155de241_account__session_{CLAUDE_SESSION}"


def found(headers: dict[str, str], body: dict[str, Any]) -> tuple[str, str] | None:
    return session_of(CIMultiDict(headers), body)


def test_claude_code_sends_its_session_as_a_header_and_in_metadata() -> None:
    body = {"metadata": {"user_id": CLAUDE_USER_ID}}
    assert found({"X-Claude-Code-Session-Id": CLAUDE_SESSION}, body) == (CLAUDE_SESSION, "claude-code")
    assert found({}, body) == (CLAUDE_SESSION, "metadata.user_id")
    assert found({}, {"metadata": {"user_id": LEGACY_USER_ID}}) == (CLAUDE_SESSION, "metadata.user_id")


@pytest.mark.parametrize(
    "user_id", ["", "user_abc", "{not json", '["a"]', '{"session_id": 3}', '{"device_id": "d"}', "x_session_"]
)
def test_a_user_id_without_a_session_names_none(user_id: str) -> None:
    assert claude_code_session({"user_id": user_id}) is None
    assert claude_code_session("not an object") is None


def test_codex_sends_its_thread_as_headers_and_as_prompt_cache_key() -> None:
    headers = {"session-id": CODEX_THREAD, "thread-id": CODEX_THREAD, "originator": "codex_exec"}
    assert found(headers, {"prompt_cache_key": CODEX_THREAD}) == (CODEX_THREAD, "session-id")
    assert found({"session_id": "older-codex"}, {}) == ("older-codex", "session_id")
    assert found({"thread-id": CODEX_THREAD}, {}) == (CODEX_THREAD, "thread-id")
    assert found({}, {"prompt_cache_key": CODEX_THREAD}) == (CODEX_THREAD, "prompt_cache_key")


def test_lips_own_header_wins_over_every_other_source() -> None:
    headers = {"X-LIP-Session-Id": " mine ", "X-Claude-Code-Session-Id": CLAUDE_SESSION, "session-id": CODEX_THREAD}
    assert found(headers, {"prompt_cache_key": "k", "metadata": {"user_id": CLAUDE_USER_ID}}) == (
        "mine",
        "x-lip-session-id",
    )


def test_blank_ids_are_absent_and_long_ones_are_cut() -> None:
    assert found({"X-LIP-Session-Id": "   ", "session-id": ""}, {"prompt_cache_key": 7}) is None
    assert found({}, {}) is None
    long = "s" * (MAX_ID_CHARS + 50)
    assert found({"X-LIP-Session-Id": long}, {}) == ("s" * MAX_ID_CHARS, "x-lip-session-id")


def test_previous_response_id_is_read_apart() -> None:
    assert previous_response({"previous_response_id": "resp_1"}) == "resp_1"
    assert previous_response({"previous_response_id": None}) is None
    assert found({}, {"previous_response_id": "resp_1"}) is None


def test_ids_are_hashed_per_scope_and_never_sent_as_they_are() -> None:
    assert digest("session", CLAUDE_SESSION) == digest("session", CLAUDE_SESSION)
    assert digest("session", CLAUDE_SESSION) != digest("client", CLAUDE_SESSION)
    assert CLAUDE_SESSION not in digest("session", CLAUDE_SESSION)
    assert len(digest("session", CLAUDE_SESSION)) == 32


def test_a_selector_without_a_block_asks_for_no_affinity() -> None:
    assert scope_of(parse_selector("a:m^b:m")) is None
