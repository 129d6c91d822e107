"""What a model accepts: reasoning, its output-token limit, its context window, images.

Known per backend and per model from, in this order, the model's inline inventory item, the row's ``capabilities``
table and the preset's table (glob patterns on the native model name, first match per field), then what discovery
reported. An unknown (None) field changes nothing. A translated request is fitted to its target: reasoning
parameters dropped for a model without reasoning, ``max_tokens`` clamped to the output limit (and the limit made
the default where the protocol requires a value), an image refused for a model without vision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from fnmatch import fnmatchcase

from lip.canonical.request import Image, Request, ToolResult
from lip.errors import InvalidRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Capabilities:
    reasoning: bool | None = None  # takes reasoning parameters (effort, thinking budget)
    max_output_tokens: int | None = None  # the most output tokens one answer may have
    context_window: int | None = None  # input plus output tokens
    vision: bool | None = None  # takes image input

    def or_else(self, other: Capabilities) -> Capabilities:
        """Each unknown field filled from ``other``."""
        return Capabilities(
            *(getattr(self, f.name) if getattr(self, f.name) is not None else getattr(other, f.name) for f in _FIELDS)
        )


_FIELDS = fields(Capabilities)
UNKNOWN = Capabilities()


@dataclass(frozen=True, slots=True)
class CapabilityRule:
    """Capabilities of every model whose native name matches ``pattern`` (a glob: ``*``, ``?``, ``[...]``)."""

    pattern: str
    capabilities: Capabilities

    def matches(self, model: str) -> bool:
        return fnmatchcase(model, self.pattern)


def resolve(model: str, own: Capabilities, rules: Iterable[CapabilityRule]) -> Capabilities:
    """``own`` (the model's item), each unknown field filled from the first matching rule that knows it."""
    found = own
    for rule in rules:
        if rule.matches(model):
            found = found.or_else(rule.capabilities)
    return found


def fit(request: Request, caps: Capabilities, model: str, backend: str) -> Request:
    """A copy of a translated ``request`` that ``model`` on ``backend`` accepts; raises InvalidRequest for an image
    the model cannot take. The request itself is left as it was (other leaves may take it as it is)."""
    if caps is UNKNOWN or caps == UNKNOWN:
        return request
    if caps.vision is False:
        _refuse_images(request, model, backend)
    params = request.params
    changes: dict[str, object] = {}
    if caps.reasoning is False and (params.reasoning_effort is not None or params.reasoning_budget is not None):
        log.debug("model '%s' on backend '%s' takes no reasoning: dropping the reasoning effort/budget", model, backend)
        changes.update(reasoning_effort=None, reasoning_budget=None)
    limit = caps.max_output_tokens
    if limit is not None:
        changes["output_limit"] = limit
        if params.max_tokens is not None and params.max_tokens > limit:
            log.debug("clamping max tokens %d to %d, the limit of model '%s'", params.max_tokens, limit, model)
            changes["max_tokens"] = limit
    return replace(request, params=replace(params, **changes)) if changes else request  # type: ignore[arg-type]


def _refuse_images(request: Request, model: str, backend: str) -> None:
    for m, message in enumerate(request.messages, start=1):
        for p, part in enumerate(message.content, start=1):
            inner = part.content if isinstance(part, ToolResult) else [part]
            if any(isinstance(item, Image) for item in inner):
                what = "a tool result holding an image" if isinstance(part, ToolResult) else "an image"
                raise InvalidRequest(
                    f"message {m} of the conversation, part {p}, is {what}, and model '{model}' on backend "
                    f"'{backend}' takes no image input; remove the image or choose a model with vision",
                    param="messages",
                )
