"""Gemini's wire spellings: field names in either case, and the carriers lip gives a thought signature.

Google's JSON parser takes a field in lowerCamelCase (``inlineData``, what the SDKs send) or in the proto's
snake_case (``inline_data``, what many curl examples send); lip reads both and writes camelCase.

A thought signature (``thoughtSignature`` on a part) is opaque and only a Gemini model can check it; Gemini 3 refuses
a later turn whose function call lost its signature. Canonically it rides where each client carries something back:

- on a function call, inside the tool call id lip mints (Gemini gives calls no id): ``call_lip<16 hex>`` alone, or
  followed by ``_s<the signature in base64url>`` (``_x<its UTF-8 in base64url>`` when it is not canonical base64),
  so every client, Chat's included, returns it with the call;
- on a thought or text part, as reasoning whose ``encrypted`` payload is ``lip-gemini:<signature>``: an Anthropic
  client carries it in a thinking block's signature, a Responses client in ``encrypted_content``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import uuid
from typing import Any

from lip.errors import InvalidRequest
from lip.protocols import fields

SIGNATURE_PREFIX = "lip-gemini:"  # in Reasoning.encrypted: a Gemini thought signature
CALL_PREFIX = "call_lip"
# Google's documented stand-in for a function call that no Gemini model made (history from another provider):
# Gemini 3 then skips the check it would otherwise fail the request on.
FOREIGN_SIGNATURE = "skip_thought_signature_validator"
_MINTED = re.compile(r"call_lip([0-9a-f]{16})(?:_([sx])([A-Za-z0-9_-]*))?")
_CANONICAL_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_TO_URL = str.maketrans("+/", "-_")
_FROM_URL = str.maketrans("-_", "+/")


@functools.cache
def snake(camel: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel)


def get(obj: dict[str, Any], camel: str) -> Any:
    """``obj[camel]``, or its snake_case spelling; None when neither is set."""
    value = obj.get(camel)
    return obj.get(snake(camel)) if value is None else value


def has(obj: dict[str, Any], camel: str) -> bool:
    return camel in obj or snake(camel) in obj


def required(obj: dict[str, Any], camel: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = get(obj, camel)
    if value is None:
        raise InvalidRequest(f"'{where}' is required", param=where)
    return fields.expect(value, kind, where)


def optional(obj: dict[str, Any], camel: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = get(obj, camel)
    return None if value is None else fields.expect(value, kind, where)


# ---------------------------------------------------------------- thought signatures


def wrap_signature(signature: str) -> str:
    return SIGNATURE_PREFIX + signature


def unwrap_signature(encrypted: str | None) -> str | None:
    """The Gemini signature of a reasoning payload, None when the payload is another provider's."""
    if encrypted and encrypted.startswith(SIGNATURE_PREFIX):
        return encrypted[len(SIGNATURE_PREFIX) :] or None
    return None


def mint_call_id(seed: str, signature: str | None = None) -> str:
    """A tool call id for a Gemini call (stable for one ``seed``), carrying its signature when it has one."""
    call_id = CALL_PREFIX + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    if not signature:
        return call_id
    if _CANONICAL_B64.fullmatch(signature):
        return f"{call_id}_s{signature.translate(_TO_URL).rstrip('=')}"
    raw = base64.urlsafe_b64encode(signature.encode("utf-8", "surrogatepass")).decode().rstrip("=")
    return f"{call_id}_x{raw}"


def random_seed() -> str:
    return uuid.uuid4().hex


def minted(call_id: str) -> bool:
    """Whether lip minted ``call_id`` for a Gemini call (no client nor upstream gave it)."""
    return _MINTED.fullmatch(call_id) is not None


def call_signature(call_id: str) -> str | None:
    """The signature a minted call id carries, None when it carries none (or is not lip's)."""
    match = _MINTED.fullmatch(call_id)
    if match is None or not match.group(2) or not match.group(3):
        return None
    payload = match.group(3) + "=" * (-len(match.group(3)) % 4)
    if match.group(2) == "s":
        return payload.translate(_FROM_URL)
    try:
        return base64.urlsafe_b64decode(payload).decode("utf-8", "surrogatepass")
    except (binascii.Error, UnicodeDecodeError):
        return None
