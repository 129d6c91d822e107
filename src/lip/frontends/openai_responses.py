"""POST /v1/responses, with ``previous_response_id`` working whatever the backend kind (see lip.response_store)."""

from __future__ import annotations

from dataclasses import dataclass

from lip.canonical.collect import Collector
from lip.canonical.request import Request
from lip.frontends.endpoint import Context, Endpoint, Frontend
from lip.protocols.openai_responses import (
    NAME,
    OpenAIResponsesCodec,
    conversation_to_store,
    prepend_previous,
    previous_response_id,
    previous_response_not_found,
    response_id_for,
    should_store,
)
from lip.protocols.openai_responses.items import unverifiable_reasoning
from lip.response_store import StoredConversation


@dataclass(slots=True)
class ResponsesContext(Context):
    previous: StoredConversation | None = None  # the stored conversation previous_response_id names, when lip has it


class ResponsesEndpoint(Endpoint[ResponsesContext]):
    keeps_content = True  # a finished answer is stored for previous_response_id

    def __init__(self) -> None:
        super().__init__(OpenAIResponsesCodec(), ResponsesContext)

    async def before(self, request: Request, ctx: ResponsesContext) -> Request:
        previous = previous_response_id(request)
        if previous is None:
            return request
        runtime = ctx.runtime
        ctx.previous = await runtime.responses.get(previous)
        if ctx.previous is not None:  # lip owns this id: translate, even to a Responses backend
            return request
        if not any(t.backend.protocol == NAME for t in runtime.planner.plan(ctx.route)):
            raise previous_response_not_found(previous)
        return request  # a Responses upstream may know it: passed through untouched

    def passthrough_allowed(self, request: Request, ctx: ResponsesContext) -> bool:
        if ctx.previous is not None:
            return False
        # reasoning from another kind of backend (a failover, a model switch): translating drops what the upstream
        # cannot verify; unless the upstream holds the history (its own previous_response_id), which only it can use
        raw = request.raw
        return raw.get("previous_response_id") is not None or not unverifiable_reasoning(raw.get("input"))

    def decode_full(self, head: Request, ctx: ResponsesContext) -> Request:
        request = super().decode_full(head, ctx)
        return prepend_previous(request, ctx.previous) if ctx.previous is not None else request

    async def completed(self, request: Request, collector: Collector, ctx: ResponsesContext) -> None:
        response = collector.response
        if should_store(request):
            await ctx.runtime.responses.put(response_id_for(response.id), conversation_to_store(request, response))
        exchange = ctx.exchange
        if exchange.sticky is not None:  # the next turn, by previous_response_id alone, continues this conversation
            await ctx.runtime.affinity.link(response_id_for(response.id), exchange.sticky, exchange.target)


def frontend() -> Frontend:
    endpoint = ResponsesEndpoint()
    return Frontend(endpoint.codec, {"generate": endpoint.handle})
