"""Client access: API keys (``LIP_API_KEY``, ``_2``, ...), per-client and total concurrency limits, errors by path.

Each check returns a refusal or None; ``lip.server.gate`` runs them in order on the way in and never touches the
handler's response, so streaming bodies pass straight through. A refusal is rendered in the protocol of the path the
client called (``error_reply``).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from lip.clientkeys import ClientKey, env_key
from lip.config.load import Settings
from lip.credentials import Secret, key_variable_names, read_numbered
from lip.errors import AdmissionRejected, Forbidden, LipError, ServiceUnavailable, Unauthorized
from lip.protocols.registry import client_key_headers, client_key_params, codec_for_path
from lip.requestid import request_id
from lip.runtime import runtime_of

MIN_KEY_LENGTH = 16
OPEN_PATHS = frozenset({"/", "/healthz"})  # answered without a client key (clients probe / at start)
UNLIMITED_PATHS = frozenset(
    {"/", "/healthz", "/metrics", "/admin/reload", "/admin/usage", "/ui", "/ui/state"}
)  # never refused for being busy
CLIENT: web.RequestKey[str] = web.RequestKey("lip.client", str)
KEY: web.RequestKey[ClientKey] = web.RequestKey("lip.client_key", ClientKey)  # the key a request came with
SLOT: web.RequestKey[str] = web.RequestKey("lip.slot", str)  # the client whose concurrency slot a request holds
PAGE_PATHS = ("/ui",)  # a browser's: a missing key is asked for with HTTP Basic (the key as the password)
BASIC = 'Basic realm="lip", charset="UTF-8"'
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


# ---------------------------------------------------------------- errors in the client's protocol


def error_reply(http: web.Request, error: LipError, headers: Mapping[str, str] | None = None) -> web.Response:
    """``error`` as a JSON response in the protocol of the path ``http`` called (the codec whose route it is; OpenAI's
    shape for lip's own paths)."""
    extra = dict(headers or {})
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        extra["Retry-After"] = str(max(1, round(retry_after)))
    error.request_id = request_id(http)
    body = codec_for_path(http.path).error_body(error)
    return web.Response(body=orjson.dumps(body), status=error.status, content_type="application/json", headers=extra)


# ---------------------------------------------------------------- client keys


def client_key_problems(settings: Settings, env: Mapping[str, str]) -> list[str]:
    """Client keys that are too short to be safe, named by variable, never by value."""
    root = settings.config.server.client_api_key_env_var_root
    names = key_variable_names(env, root)
    return [
        f"{settings.source}: server.client_api_key_env_var_root: {name} is shorter than {MIN_KEY_LENGTH} "
        f"characters; set it to a long random string, e.g. `export {name}=$(openssl rand -hex 32)`"
        for name, key in zip(names, read_numbered(env, root), strict=True)
        if len(key.reveal()) < MIN_KEY_LENGTH
    ]


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def presented_key(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str | None:
    """The key a client sent: ``Authorization: Bearer``, a header its protocol sends a key in (``x-api-key``,
    ``api-key``, ``x-goog-api-key``), or a query parameter (Gemini's ``?key=``; lip never logs a query string)."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    password = _basic_password(value.strip()) if scheme.lower() == "basic" else None
    if password is not None:  # a browser on the status page: the key is the password
        return password
    for name in client_key_headers():
        value = headers.get(name, "").strip()
        if value:
            return value
    if query:
        for name in client_key_params():
            value = query.get(name, "").strip()
            if value:
                return value
    return None


def _basic_password(value: str) -> str | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    password = decoded.partition(":")[2].strip()
    return password or None


def matching_key(keys: list[Secret], candidate: str) -> int | None:
    """The 1-based number of the key ``candidate`` equals; every key is compared, each in constant time."""
    try:
        candidate.encode()
    except UnicodeEncodeError:
        return None
    found = None
    for number, key in enumerate(keys, start=1):
        if key.matches(candidate) and found is None:
            found = number
    return found


def key_refusal(request: web.Request) -> web.Response | None:
    """With client keys configured (env or keys file), every path but /healthz needs one of them: a 401 refusal
    otherwise. The key's name and record go on the request (``CLIENT``, ``KEY``)."""
    runtime = runtime_of(request)
    keys, named = runtime.client_keys, runtime.key_index
    if not runtime.keyed or request.path in OPEN_PATHS:
        return None
    candidate = presented_key(request.headers, request.query)
    challenge = {"WWW-Authenticate": BASIC if request.path.startswith(PAGE_PATHS) else "Bearer"}
    if candidate is None:
        error = Unauthorized(
            "no API key: send one of lip's client keys as 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
        )
        return error_reply(request, error, challenge)
    number = matching_key(keys, candidate)
    found = env_key(number) if number is not None else named.find(candidate) if named else None
    if found is None:
        return error_reply(request, Unauthorized("invalid API key"), challenge)
    request[CLIENT] = found.name
    request[KEY] = found
    return None


def key_of(request: web.Request) -> ClientKey | None:
    """The client key the request came with (None without client keys). ``request.get`` of a missing key raises
    and catches a KeyError inside (~1 µs): asked only when keys are configured."""
    return request.get(KEY) if runtime_of(request).keyed else None


def is_admin(request: web.Request) -> bool:
    """Whether the request may call an admin path: with client keys, an env key or a file key with ``admin: true``;
    without any, only from this machine."""
    if runtime_of(request).keyed:
        key = request.get(KEY)
        return key is not None and key.admin is True
    return is_loopback(request.remote or "")


def admin_refusal(request: web.Request) -> LipError:
    """Why ``is_admin`` said no."""
    if key_of(request) is not None:
        return Forbidden(
            f"{request.path} needs an admin key (an env key, or a keys-file key with admin: true)", code="admin_only"
        )
    return Unauthorized(f"{request.path} is only open to this machine when no client keys are set")


# ---------------------------------------------------------------- concurrency limits


@dataclass(slots=True)
class Limits:
    """Requests in flight, in total and per client (client key number, else remote address)."""

    total: int = 0
    per_client: dict[str, int] = field(default_factory=dict)

    def leave(self, client: str) -> None:
        self.total -= 1
        left = self.per_client[client] - 1
        if left:
            self.per_client[client] = left
        else:
            del self.per_client[client]


LIMITS: web.AppKey[Limits] = web.AppKey("lip.limits", Limits)


def client_of(http: web.Request) -> str:
    """The client's key name with client keys, else its address. Without keys CLIENT is never a key's name, and
    ``http.get`` of a missing key raises and catches a KeyError inside (~1 µs): asked only when keys are set."""
    named = http.get(CLIENT) if runtime_of(http).keyed else None
    return named or http.remote or "unknown"


def slot_refusal(request: web.Request) -> web.Response | None:
    """``server.max_in_flight`` in total (503) and ``server.max_per_client`` per client (429); 0 = unlimited.
    Admitted, the request holds its client's slot until ``release_slot``."""
    if request.path in UNLIMITED_PATHS:
        return None
    server = runtime_of(request).settings.config.server
    limits = request.app[LIMITS]
    client = request[CLIENT] = client_of(request)  # kept: the access log asks again
    if server.max_in_flight and limits.total >= server.max_in_flight:
        busy = ServiceUnavailable(f"lip is at its limit of {server.max_in_flight} requests in flight; retry shortly")
        return error_reply(request, busy, {"Retry-After": "1"})
    if server.max_per_client and limits.per_client.get(client, 0) >= server.max_per_client:
        error = AdmissionRejected(
            f"this client already has {server.max_per_client} requests in flight, the most lip allows; "
            "wait for one to finish",
            retry_after=1.0,
        )
        return error_reply(request, error)
    limits.total += 1
    limits.per_client[client] = limits.per_client.get(client, 0) + 1
    request[SLOT] = client
    return None


def release_slot(request: web.Request) -> None:
    client = request.get(SLOT)
    if client is not None:
        request.app[LIMITS].leave(client)
