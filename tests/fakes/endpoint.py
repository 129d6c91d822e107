"""The contract every fake generation endpoint (Chat, Responses, Messages) fulfils for the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tests.fakes.errors import ApiError, Family, default_error
from tests.fakes.script import ErrorMidStream, Turn
from tests.fakes.wire import Frame

__all__ = ["Endpoint", "mid_stream_error"]


class Endpoint(Protocol):
    """One wire protocol: validation the way the provider rejects, the JSON answer, and the SSE transcript."""

    family: Family

    def validate(self, body: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        """Return the body as a dict, or raise `ApiError` exactly where the real provider answers 4xx."""
        ...

    def respond(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        """The non-streaming answer to `body`."""
        ...

    def frames(self, body: dict[str, Any], turn: Turn, fault: ErrorMidStream | None = None) -> list[Frame]:
        """The streamed answer; with `fault`, cut after `fault.after_chunks` events and end with the native error."""
        ...


def mid_stream_error(family: Family, fault: ErrorMidStream) -> ApiError:
    err = default_error(family, fault.status)
    if fault.message is not None:
        err.message = fault.message
    return err
