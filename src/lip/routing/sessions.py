"""Which conversation a request belongs to, read from what clients already send (docs/routing.md#sessions).

In order, the first one present wins::

    X-LIP-Session-Id header                      any client that wants to say it (lip's own)
    X-Claude-Code-Session-Id header              Claude Code (every request of a session)
    metadata.user_id (Anthropic Messages body)   Claude Code: a JSON text with "session_id", or the older
                                                 "user_<hash>_account_<uuid>_session_<uuid>"
    session-id / session_id header               Codex (the thread's id; session_id in older versions)
    thread-id header                             Codex
    prompt_cache_key (Chat and Responses body)   Codex and any OpenAI client that keys its own prompt cache
    previous_response_id (Responses body)        a Responses chain without any of the above: lip.routing.affinity
                                                 follows it to the session of the response it names

Pure: no I/O. An id is trimmed and at most ``MAX_ID_CHARS`` long (a longer one is cut); it is never sent anywhere
as is: lip.routing.affinity hashes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

MAX_ID_CHARS = 256
HEADERS = (
    ("x-lip-session-id", "x-lip-session-id"),
    ("x-claude-code-session-id", "claude-code"),
)
CODEX_HEADERS = ("session-id", "session_id", "thread-id")
LEGACY_USER_ID = re.compile(r"_session_([0-9A-Za-z-]{8,64})$")  # Claude Code before the JSON user_id


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:MAX_ID_CHARS] or None


def claude_code_session(metadata: Any) -> str | None:
    """The session part of Claude Code's ``metadata.user_id``: JSON with ``session_id``, or the older spelling."""
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    if user_id.startswith("{"):
        try:
            parsed = orjson.loads(user_id)
        except orjson.JSONDecodeError:
            return None
        return _clean(parsed.get("session_id")) if isinstance(parsed, dict) else None
    legacy = LEGACY_USER_ID.search(user_id)
    return legacy.group(1) if legacy else None


def session_of(headers: Mapping[str, str], body: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the session id, where it was read) from a request's headers (case-insensitive) and JSON body; None when the
    request names no session (a Responses chain is followed apart: ``previous_response_id``)."""
    for name, where in HEADERS:
        found = _clean(headers.get(name))
        if found:
            return found, where
    found = claude_code_session(body.get("metadata"))
    if found:
        return found, "metadata.user_id"
    for name in CODEX_HEADERS:
        found = _clean(headers.get(name))
        if found:
            return found, name
    found = _clean(body.get("prompt_cache_key"))
    if found:
        return found, "prompt_cache_key"
    return None


def previous_response(body: Mapping[str, Any]) -> str | None:
    """The ``previous_response_id`` a Responses request continues, if any."""
    return _clean(body.get("previous_response_id"))
