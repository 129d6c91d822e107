"""Context windows: a leaf is skipped, before it is tried, when the prompt does not suit it.

A leaf is skipped when the estimate of the prompt's tokens is

- above its ``[max_context=N]``, or at most its ``[min_context=N]`` (the Go project's rules), or
- above the context window its model is known to have (the model's inventory item, the row's or the preset's
  capability table, or what discovery reported: ``lip.capabilities``).

An upstream that refuses the prompt as too long fails over like any leaf failure (lip.routing.failover). When
every leaf was skipped or refused for the prompt's size, the client gets the Go project's 413 (``ContextTooLarge``,
with its message).

The estimate is lip.tokenizer's, with each backend's ``tokenizer``, made at most once a request per tokenizer and
only when it can matter: a body of at most N bytes has at most N tokens (a token is at least a byte), so a request
smaller than every upper bound of the plan is not tokenized, unless a leaf has a ``min_context``. An estimate lip
cannot make (a body it cannot decode) skips nothing: the upstreams judge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from lip.backends.base import Target
from lip.canonical.request import Request
from lip.errors import ContextTooLarge, LipError
from lip.inventory import Inventory
from lip.tokenizer import prompt_tokens

log = logging.getLogger(__name__)
TOO_LARGE = "request exceeds context limits for all configured model routes"  # the Go project's wording (413)
Tokens = Callable[[str | None], int | None]  # a tokenizer's name (None: the default) -> the prompt's tokens


def too_large() -> ContextTooLarge:
    return ContextTooLarge(TOO_LARGE)


def limits(target: Target, inventory: Inventory) -> tuple[int | None, int | None]:
    """(the fewest tokens the leaf takes, exclusive; the most it takes): its annotations and its model's window."""
    window = inventory.capabilities(target.backend.prefix, target.model).context_window
    upper = target.max_context
    if window is not None and (upper is None or window < upper):
        upper = window
    return target.min_context, upper


def why_skipped(tokens: int, bounds: tuple[int | None, int | None]) -> str | None:
    lower, upper = bounds
    if upper is not None and tokens > upper:
        return f"the prompt (about {tokens} tokens) is larger than its {upper}-token limit"
    if lower is not None and tokens <= lower:
        return f"the prompt (about {tokens} tokens) is not above its min_context of {lower}"
    return None


def suited(
    targets: Sequence[Target],
    inventory: Inventory,
    body_bytes: int | None,
    tokens_of: Tokens,
) -> Sequence[Target]:
    """The targets the prompt suits, in order; ``ContextTooLarge`` when none does. ``body_bytes``: the request
    body's size when known; ``tokens_of``: the estimate with a target's tokenizer, asked only when a bound may
    apply."""
    bounds = [limits(t, inventory) for t in targets]
    if not any(lower is not None or upper is not None for lower, upper in bounds):
        return targets  # the commonest: no bound at all
    if body_bytes is not None and all(
        lower is None and (upper is None or body_bytes <= upper) for lower, upper in bounds
    ):
        return targets  # a body smaller than every upper bound: no need to estimate
    kept: list[Target] = []
    for target, bound in zip(targets, bounds, strict=True):
        tokens = tokens_of(target.backend.spec.tokenizer) if bound != (None, None) else None
        why = why_skipped(tokens, bound) if tokens is not None else None
        if why is None:
            kept.append(target)
        else:
            log.info("leaf %s skipped: %s", target.leaf, why)
    if not kept:
        raise too_large()
    return kept


def estimated(decode: Callable[[], Request]) -> Tokens:
    """``tokens_of`` for ``suited``: the estimate of the request ``decode`` gives, once per tokenizer; None when it
    cannot be decoded."""
    counted: dict[str | None, int | None] = {}

    def tokens(tokenizer: str | None) -> int | None:
        if tokenizer not in counted:
            try:
                counted[tokenizer] = prompt_tokens(decode(), tokenizer)
            except LipError:
                counted[tokenizer] = None
        return counted[tokenizer]

    return tokens
