"""Base URLs: checked, joined with an API path, masked for messages, and taken from a preset's environment."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote_plus, urlsplit

from lip.backends.presets import KindSpec


def mask_url(url: str) -> str:
    """The URL with any userinfo, every query value and the fragment replaced by ``***``, for messages and
    diagnostics.

    Query names are kept (``?api-version=***``): an operator may have put a token in any value. A URL without a
    host (``https:/user:key@host``) has its path masked up to its last ``@``: that may be userinfo too.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***:***@" + parts.netloc.rpartition("@")[2])
    if not parts.netloc and "@" in parts.path:
        parts = parts._replace(path="***@" + parts.path.rpartition("@")[2])
    masked = parts._replace(query=_masked_query(parts.query), fragment="***" if parts.fragment else "").geturl()
    return masked + "#" if url.endswith("#") and not masked.endswith("#") else masked


def _masked_query(query: str) -> str:
    """Each value masked, names kept; a bare item (``?abc``) may itself be a token, so it is masked whole."""
    return "&".join(name + "=***" if sep else "***" for name, sep, _ in _query_items(query))


def _query_items(query: str) -> list[tuple[str, str, str]]:
    """``a=1&b`` as [("a", "=", "1"), ("b", "", "")], each part as written (no re-encoding)."""
    return [part.partition("=") for part in query.split("&") if part]


def check_base_url(url: str) -> str | None:
    """What is wrong with ``url`` as a base URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an absolute http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user or password (credentials come from api_key_env_var_root)"
    if parts.fragment or url.endswith("#"):
        return "must not contain a fragment ('#...')"
    if port == 0:
        return "has an invalid port"
    return None


def join_url(base: str, path: str) -> str:
    """Join a base URL and an API path (which may carry its own query) into one URL.

    The base's path prefix and the API path meet at exactly one slash; the base's query string (e.g. an Azure-style
    ``?api-version=...``) is kept and placed after the joined path, followed by the API path's own parameters
    except those the base already names (the operator's value wins).
    """
    parts = urlsplit(base)
    api_path, _, api_query = path.partition("?")
    joined = parts.path.rstrip("/") + "/" + api_path.lstrip("/")
    return parts._replace(path=joined, query=merged_query(parts.query, api_query)).geturl()


def merged_query(base: str, extra: str) -> str:
    items = _query_items(base)
    taken = {unquote_plus(name) for name, _, _ in items}
    items += [item for item in _query_items(extra) if unquote_plus(item[0]) not in taken]
    return "&".join("".join(item) for item in items)


def strip_trailing_slashes(url: str) -> str:
    """``url`` with trailing slashes removed from its path only (a query value may end in one)."""
    parts = urlsplit(url)
    return parts._replace(path=parts.path.rstrip("/")).geturl()


def preset_url(kind: KindSpec, env: Mapping[str, str]) -> str | None:
    """The base URL a preset takes from the environment (``url_env``, then ``version_env``), or None."""
    value = env.get(kind.url_env, "").strip() if kind.url_env else ""
    if not value:
        return None
    url = strip_trailing_slashes(value)
    if kind.url_path and not urlsplit(url).path.endswith(kind.url_path):
        url = join_url(url, kind.url_path)
    version = env.get(kind.version_env, "").strip() if kind.version_env else ""
    if version:  # after any api-version the endpoint variable already has (that one wins)
        parts = urlsplit(url)
        url = parts._replace(query=merged_query(parts.query, "api-version=" + quote(version, safe=""))).geturl()
    return url
