"""Compatible HTTP backends: a codec + a URL + an auth style, with key rotation and per-instance admission.

One class serves every wire protocol; what differs between them is data, the codec's ``HttpDialect`` (where to call,
how to authenticate, which client headers go along, how the model list pages), not code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from lip.backends.base import Closer, EventStream, Opened, RelayBody, RelayStream, Target
from lip.backends.splice import splice
from lip.backends.upstream import UpstreamCall, bare_json, get_json, post, read_rest
from lip.bodylog import TRACE
from lip.canonical.events import Event, Repair, StreamError, ToolCallStart
from lip.canonical.request import Request
from lip.canonical.think_tags import ThinkTags
from lip.config.load import BackendSpec, join_url
from lip.credentials import KeyRing, KeyState, read_numbered, redact
from lip.errors import (
    AdmissionRejected,
    LipError,
    UnsupportedTranslation,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from lip.protocols.codec import Codec, HttpDialect, StreamDecoder
from lip.protocols.sse import SSEDecoder, SSEEvent

log = logging.getLogger(__name__)
USER_AGENT = "lip/0.1"  # sent on every upstream call (the session adds no aiohttp User-Agent: see lip.server)
DEFAULT_COOLDOWN_S = 60.0
NO_DIALECT = HttpDialect("", "")  # a protocol lip has no codec for: every call is refused (501) before it is made
MAX_MODEL_PAGES = 20  # an upstream that always says has_more cannot keep discovery going forever
EXCERPT_CHARS = 500  # of a non-JSON error body, in the client's error message
HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
HTML_TAG = re.compile(r"<[^>]*>")
WHOLE_BODY_FOR_STREAM = "whole_body_for_stream"  # the Repair kind: a stream asked, a whole JSON answer served as one


class Admission:
    """At most ``limit`` requests in flight on one backend instance (0 = no limit).

    A request over the limit waits up to ``wait_s`` for a slot, first come first served, then is refused with
    AdmissionRejected (429 with Retry-After). Every instance has its own slots and its own queue, so a flood on one
    backend never delays a request for another.
    """

    def __init__(self, limit: int, wait_s: float, name: str) -> None:
        self.limit = limit
        self.wait_s = wait_s
        self.name = name
        self.in_flight = 0
        self.waiting = 0
        self.rejected = 0
        self._semaphore = asyncio.Semaphore(limit) if limit > 0 else None

    async def acquire(self) -> None:
        semaphore = self._semaphore
        if semaphore is not None and semaphore.locked():
            self.waiting += 1
            try:
                async with asyncio.timeout(self.wait_s):
                    await semaphore.acquire()
            except TimeoutError:
                self.rejected += 1
                raise AdmissionRejected(
                    f"backend '{self.name}' is at its limit of {self.limit} concurrent requests; retry shortly",
                    retry_after=max(1.0, self.wait_s),
                ) from None
            finally:
                self.waiting -= 1
        elif semaphore is not None:
            await semaphore.acquire()  # a free slot: returns at once
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        if self._semaphore is not None:
            self._semaphore.release()

    def describe(self) -> dict[str, object]:
        return {
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "rejected": self.rejected,
            "max_concurrent_requests": self.limit,
            "admission_wait_s": self.wait_s,
        }


class HttpBackend:
    def __init__(
        self,
        spec: BackendSpec,
        codec: Codec | None,
        session: aiohttp.ClientSession,
        env: Mapping[str, str],
    ) -> None:
        self.spec = spec
        self.codec = codec
        self.session = session
        self.dialect = codec.dialect if codec is not None else NO_DIALECT
        self.auth = spec.kind.auth or self.dialect.auth  # a preset may authenticate its own way (Azure's api-key)
        self.respell = self.dialect.respelling(spec)  # this provider's spelling of a translated body, if its own
        self.keys = KeyRing.of(
            read_numbered(env, spec.key_root, from_one=spec.kind.key_from_one) if spec.key_root else []
        )
        self.admission = Admission(spec.settings.max_concurrent_requests, spec.settings.admission_wait_s, spec.id)
        assert spec.base_url is not None
        self.base_url = spec.base_url
        self.url = join_url(spec.base_url, self.dialect.call_path) if self.dialect.fixed else None  # joined once
        self.models_url = join_url(spec.base_url, self.dialect.models_path)
        count_path = self.dialect.count_tokens_path
        fixed_count = count_path is not None and "{model}" not in count_path
        self.count_tokens_url = join_url(spec.base_url, count_path or "") if fixed_count else None  # joined once
        self._static_names = frozenset(name.lower() for name in spec.settings.headers)  # replace lip's own, any case

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def prefix(self) -> str:
        return self.spec.prefix

    @property
    def protocol(self) -> str:
        return self.spec.protocol

    # ---- headers

    def _headers(self, key: KeyState | None, stream: bool, client_headers: Mapping[str, str]) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if stream:
            headers["Accept"] = "text/event-stream"
        static = self.spec.settings.headers
        if static:
            headers = {k: v for k, v in headers.items() if k.lower() not in self._static_names}
            headers.update(static)
        self.dialect.add_headers(headers, key.secret.reveal() if key is not None else None, self.auth, client_headers)
        traceparent = client_headers.get("traceparent")  # the attempt's trace context, when tracing is on
        if traceparent is not None:
            headers["traceparent"] = traceparent
            if "tracestate" in client_headers:
                headers["tracestate"] = client_headers["tracestate"]
        return headers

    def count_url(self, model: str) -> str | None:
        """Where a count-tokens call for ``model`` goes; None when the protocol has none."""
        if self.count_tokens_url is not None:
            return self.count_tokens_url
        path = self.dialect.count_tokens_path_for(model)
        return join_url(self.base_url, path) if path is not None else None

    def call_url(self, model: str, stream: bool) -> str:
        """Where a call for ``model`` goes (the same URL for every call of most protocols)."""
        if self.url is not None:
            return self.url
        assert self.base_url is not None
        return join_url(self.base_url, self.dialect.call_path_for(model, stream))

    # ---- the call, with key rotation

    async def _send(
        self, body: bytes, stream: bool, client_headers: Mapping[str, str], url: str, sticky: str | None = None
    ) -> UpstreamCall:
        """``sticky``: a conversation's name, which picks the key to start from (lip.routing.affinity)."""
        what = f"backend '{self.id}'"
        if not self.keys.authenticated:
            return await self._post(body, None, stream, client_headers, what, url)
        last: UpstreamStatusError | None = None
        for key in self.keys.candidates(sticky):
            try:
                return await self._post(body, key, stream, client_headers, what, url)
            except UpstreamStatusError as exc:
                if exc.upstream_status == 401 or self.dialect.key_rejected(exc.upstream_status, exc.body):
                    log.warning(
                        "%s: an API key was rejected (HTTP %d); disabled until the config is reloaded",
                        what,
                        exc.upstream_status,
                    )
                    self.keys.disable(key)
                elif exc.upstream_status == 429:
                    cooldown = exc.retry_after if exc.retry_after is not None else DEFAULT_COOLDOWN_S
                    log.info("%s: an API key was rate limited; cooling it for %.0f s", what, cooldown)
                    self.keys.cool(key, cooldown)
                elif exc.upstream_status != 403:
                    raise
                last = exc
        if last is not None:
            raise last
        wait = self.keys.soonest_available()
        raise UpstreamStatusError(
            f"{what}: every API key is disabled or cooling down",
            upstream_status=429 if wait is not None else 401,
            retry_after=wait,
        )

    async def _post(
        self,
        body: bytes,
        key: KeyState | None,
        stream: bool,
        client_headers: Mapping[str, str],
        what: str,
        url: str,
    ) -> UpstreamCall:
        try:
            return await post(
                self.session,
                url,
                body,
                self._headers(key, stream, client_headers),
                self.spec.settings.timeouts,
                what,
            )
        except UpstreamStatusError as exc:
            raise self._explained(exc) from None

    def _explained(self, exc: UpstreamStatusError) -> UpstreamStatusError:
        """The upstream's own message and error type: parsed by the codec of its protocol from a JSON (or
        SSE-framed) body; a bounded excerpt of any other body, alike for every protocol."""
        status, body = exc.upstream_status, exc.body
        message, kind = (exc.message, None)
        if isinstance(body, str):
            excerpt = self._excerpt(body)
            message = (
                f"the upstream answered HTTP {status}: {excerpt}" if excerpt else f"the upstream answered HTTP {status}"
            )
        elif self.codec is not None:
            message, kind = self.codec.upstream_error(status, body)
        return UpstreamStatusError(
            message, upstream_status=status, body=body, retry_after=exc.retry_after, error_type=kind
        )

    # ---- the redaction point (docs/security.md, "What lip rewrites")

    def _redacted(self, text: str) -> str:
        """``text`` without this backend's keys, which a provider may quote (the key it rejected, a debug echo of
        the request). Every upstream-originated text on its way to a client or a log passes here: the message of
        every error that leaves this backend (``_redact_error``, at ``open``, ``count_tokens`` and
        ``list_models``), the error events of translated streams (``_scrubbed``) and the error chunks of relayed
        ones (``_redacted_bytes``). A successful answer is the model's output and is not rewritten."""
        return redact(text, self.keys.secrets())

    def _redact_error(self, error: LipError) -> None:
        error.message = self._redacted(error.message)
        error.args = (error.message,)

    def _redacted_bytes(self, chunk: bytes) -> bytes:
        """A relayed chunk without this backend's keys (only error chunks are checked: they may quote a key)."""
        return self._redacted(chunk.decode("utf-8", "replace")).encode()

    def _scrubbed(self, batch: list[Event]) -> list[Event]:
        """A batch of translated events whose error events are redacted (an upstream's error event may quote a
        key); the events themselves are passed on as they are."""
        if StreamError in set(map(type, batch)):  # rare; looked for in C, not once per event in Python
            for event in batch:
                if type(event) is StreamError:
                    self._redact_error(event.error)
        return batch

    def _excerpt(self, text: str) -> str:
        """A non-JSON body as a one-line excerpt (an HTML page by its title, else its text without the tags);
        redacted before it is cut, so no part of a key survives the cut."""
        text = self._redacted(text)
        if text.lstrip().startswith("<"):
            title = HTML_TITLE.search(text)
            text = title.group(1) if title else HTML_TAG.sub(" ", text)
        return " ".join(text.split())[:EXCERPT_CHARS]

    async def count_tokens(self, request: Request, target: Target, headers: Mapping[str, str]) -> Any:
        """The upstream's count-tokens answer for a request in its own protocol (the client's body with the native
        model, to the dialect's count path); None for a request it would have to translate, or a protocol that
        cannot count."""
        url = self.count_url(target.model)
        if request.protocol != self.protocol or self.codec is None or url is None:
            return None
        body = orjson.dumps(self.codec.with_model(request.raw, target.model))
        try:
            call = await self._send(body, False, headers, url)
            try:
                data = await call.read_body()
            finally:
                call.release()
            return self._answer(data)
        except LipError as exc:
            self._redact_error(exc)
            raise

    # ---- open

    async def open(self, request: Request, target: Target, headers: Mapping[str, str], *, passthrough: bool) -> Opened:
        if self.codec is None:
            raise UnsupportedTranslation(
                f"translation from {request.protocol} to {self.protocol} (backend '{self.id}') is not available yet"
            )
        await self.admission.acquire()
        try:
            if passthrough:
                return await self._open_relay(request, target, headers)
            return await self._open_events(request, target, headers)
        except BaseException as exc:
            self.admission.release()
            if isinstance(exc, LipError):
                self._redact_error(exc)
            raise

    def _release_closer(self, call: UpstreamCall) -> Any:
        released = False

        async def close() -> None:
            nonlocal released
            if not released:
                released = True
                call.close()
                self.admission.release()

        return close

    async def _open_relay(self, request: Request, target: Target, headers: Mapping[str, str]) -> Opened:
        assert self.codec is not None
        body = orjson.dumps(self._cache_key(self.codec.with_model(request.raw, target.model), target))
        url = self.call_url(target.model, request.stream)
        call = await self._send(body, request.stream, headers, url, target.session)
        close = self._release_closer(call)
        try:
            if not request.stream or "json" in call.content_type:
                data = await call.read_body()
            else:
                first, rest = await call.first_chunk()
                if not first:
                    raise UpstreamProtocolError(f"backend '{self.id}': the upstream sent an empty stream")
                if not bare_json(first):
                    spliced = functools.partial(splice, call) if TRACE.get() is None else None  # a trace reads rest
                    return RelayStream(first, rest, close, call.content_type, self._redacted_bytes, spliced)
                data = await read_rest(first, rest, call.what)  # labelled SSE, but one JSON object (an error)
            await close()
            answer = self._answer(data)
            if request.stream:  # a stream was asked for and a whole answer came: lip serves it as one
                return EventStream(
                    [Repair(WHOLE_BODY_FOR_STREAM), *self.codec.decode_response(answer, request)], _empty()
                )
            return RelayBody(data, call.content_type, answer)
        except BaseException:
            await close()
            raise

    def _answer(self, data: bytes) -> dict[str, Any]:
        """A whole 200 body, parsed; it must be a JSON object and not an error object (some providers send errors
        with a 200: the client then gets the upstream's own message, from the one redaction point)."""
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError(
                f"backend '{self.id}': the upstream answered HTTP 200 with invalid JSON"
            ) from None
        if not isinstance(body, dict):
            raise UpstreamProtocolError(
                f"backend '{self.id}': the upstream answered HTTP 200 with JSON that is not an object"
            )
        if body.get("error") or body.get("type") == "error":
            message, _ = self.codec.upstream_error(200, body) if self.codec is not None else ("", None)
            raise UpstreamProtocolError(f"backend '{self.id}': the upstream answered HTTP 200 with an error: {message}")
        return body

    async def _open_events(self, request: Request, target: Target, headers: Mapping[str, str]) -> Opened:
        codec = self.codec
        assert codec is not None
        encoded = self._cache_key(codec.encode_request(request, target.model), target)
        body = orjson.dumps(self.respell(encoded) if self.respell is not None else encoded)
        url = self.call_url(target.model, request.stream)
        call = await self._send(body, request.stream, headers, url, target.session)
        close = self._release_closer(call)
        try:
            if not request.stream or "json" in call.content_type:
                return await self._whole_events(await call.read_body(), request, close)
            first, rest = await call.first_chunk(hold=True)
            if bare_json(first):  # labelled SSE, but one JSON object (an error)
                call.answered()
                return await self._whole_events(await read_rest(first, rest, call.what), request, close)
            decoder = codec.stream_decoder(request)
            if self.spec.think_tags:
                decoder = ThinkTagDecoder(decoder)
            sse = SSEDecoder(self.spec.settings.max_event_bytes)
            batch = [e for s in sse.feed(first) for e in decoder.feed(s)]
            chunks = rest
            repairs: list[Event] = []
            # Until an event other than a Repair, nothing was answered: the first-byte deadline goes on (some
            # upstreams send a comment or a partial line first; a broken one, deltas of blocks it never started)
            while not _answers(batch):
                repairs += batch
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    batch = [e for s in sse.flush() for e in decoder.feed(s)] + decoder.finish()
                    break
                batch = [e for s in sse.feed(chunk) for e in decoder.feed(s)]
            call.answered()
            error = next((e for e in batch if type(e) is not Repair), None)
            if isinstance(error, StreamError):
                raise error.error
            batch = repairs + batch
        except BaseException:
            await close()
            raise
        decoded = _decode(chunks, sse, decoder, self._scrubbed, call.answered, _holding(batch))
        return EventStream(self._scrubbed(batch), decoded, close)

    def _cache_key(self, body: dict[str, Any], target: Target) -> dict[str, Any]:
        """The conversation's name as ``prompt_cache_key`` where this backend takes it (``config.prompt_cache_key``)
        and the client sent none, so the provider routes the conversation's requests to the same prompt cache. ``body``
        is the call's own copy (``with_model`` and ``encode_request`` build a new one)."""
        if target.session is not None and self.spec.prompt_cache_key and "prompt_cache_key" not in body:
            body["prompt_cache_key"] = "lip-" + target.session
        return body

    async def _whole_events(self, data: bytes, request: Request, close: Closer) -> EventStream:
        """A whole answer's events (the upstream's error raised, see ``_answer``); the call is closed first."""
        assert self.codec is not None
        await close()
        events = self.codec.decode_response(self._answer(data), request)
        if self.spec.think_tags:
            events = ThinkTags().feed(events)
        if request.stream:  # a stream was asked for and a whole answer came: lip serves it as one
            events.insert(0, Repair(WHOLE_BODY_FOR_STREAM))
        return EventStream(events, _empty())

    # ---- models

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            return await self._list_models()
        except LipError as exc:
            self._redact_error(exc)
            raise

    async def _list_models(self) -> list[dict[str, Any]]:
        key = next(self.keys.candidates(), None) if self.keys.authenticated else None
        headers = self._headers(key, False, {})
        headers.pop("Content-Type", None)
        models: list[dict[str, Any]] = []
        dialect = self.dialect
        params = dialect.first_models_params()
        for _ in range(MAX_MODEL_PAGES):
            body = await get_json(
                self.session,
                self.models_url,
                headers,
                self.spec.settings.discovery_timeout_s,
                f"backend '{self.id}' model discovery",
                params,
            )
            data = dialect.models_of(body)
            if data is None:
                raise UpstreamProtocolError(f"backend '{self.id}': the model list has no '{dialect.models_key}' array")
            models += [entry for entry in map(dialect.model_entry, data) if entry is not None]
            params = dialect.next_models_params(body, params) if data else None
            if params is None:
                break
        return models

    def diagnostics(self) -> dict[str, Any]:
        return {"keys": self.keys.describe(), "admission": self.admission.describe()}

    def unavailable_for(self) -> float | None:
        if not self.keys.authenticated or self.keys.usable():
            return None
        wait = self.keys.soonest_available()
        return wait if wait is not None else float("inf")  # every key disabled: out until a reload

    async def aclose(self) -> None:
        return None


def _answers(batch: Sequence[Event]) -> bool:
    """Whether ``batch`` holds more than repair notes."""
    return any(type(e) is not Repair for e in batch)


def _holding(batch: Sequence[Event]) -> bool:
    """Whether ``batch`` (one that answers) ends by starting a custom tool call: decoders hold its input back until
    it is whole, so the chunks that carry it make no event and are progress all the same."""
    last = batch[-1] if batch else None
    return type(last) is ToolCallStart and last.kind == "custom"


class ThinkTagDecoder:
    """A stream decoder whose events pass through ``ThinkTags`` (the backend's ``think_tags`` is on)."""

    __slots__ = ("_inner", "_tags")

    def __init__(self, inner: StreamDecoder) -> None:
        self._inner = inner
        self._tags = ThinkTags()

    def feed(self, sse: SSEEvent) -> list[Event]:
        return self._tags.feed(self._inner.feed(sse))

    def finish(self) -> list[Event]:
        return self._tags.feed(self._inner.finish())


async def _empty() -> AsyncIterator[Sequence[Event]]:
    return
    yield


async def _decode(
    chunks: AsyncIterator[bytes],
    sse: SSEDecoder,
    decoder: Any,
    scrubbed: Callable[[list[Event]], list[Event]],
    answered: Callable[[], None],
    holding: bool,
) -> AsyncIterator[Sequence[Event]]:
    """Upstream bytes -> SSE events -> canonical event batches (error events redacted by ``scrubbed``); upstream
    failures become a StreamError. ``answered`` is told of every batch that holds an event other than a repair note
    (or of any chunk while a custom tool call's input is held back, see ``_holding``): only those end an idle gap."""
    try:
        async for chunk in chunks:
            batch = [e for s in sse.feed(chunk) for e in decoder.feed(s)]
            if batch and (type(batch[-1]) is not Repair or _answers(batch)):
                answered()
                holding = _holding(batch)
            elif holding:
                answered()
            if batch:
                yield scrubbed(batch)
        tail = [e for s in sse.flush() for e in decoder.feed(s)] + decoder.finish()
    except LipError as exc:
        tail = [StreamError(exc)]
    if tail:
        yield scrubbed(tail)
