"""Selector + aliases + inventory -> an ordered list of attempts (backend, native model, overrides).

The order is the failover order: the choices of a chain in turn, and within a weighted choice a weighted random
permutation (the first leaf is the weighted draw; each next one is the re-draw among the rest, which is what
excluding a failed leaf and drawing again means). Everything a client can get wrong is found here, before the
first attempt: a malformed selector, an unknown prefix, an unsupported per-leaf parameter.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import overload

from lip.backends.base import Backend, Target
from lip.config.load import Settings
from lip.errors import InvalidRequest, ModelNotFound, UnknownBackend
from lip.inventory import Inventory
from lip.routing.overrides import parse_overrides
from lip.routing.selector import Arm, Leaf, Race, Selector, SelectorError, parse_selector, refusal

MAX_CACHED_SELECTORS = 1024


@dataclass(slots=True)
class Plan(Sequence[Target]):
    """A request's attempts in failover order (it reads as their sequence), with the selector's route-wide
    settings (its ``{...}`` block)."""

    targets: list[Target]
    selector: Selector
    ttft_s: float | None = None  # one budget for the first output across every attempt
    affinity: str | None = None  # "session" or "client": the weighted picks stick to the session or client

    @overload
    def __getitem__(self, index: int) -> Target: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Target]: ...

    def __getitem__(self, index: int | slice) -> Target | Sequence[Target]:
        return self.targets[index]

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)  # Sequence's own would index until an IndexError

    @property
    def races(self) -> bool:
        return any(t.race for t in self.targets)

    def check_stream(self, stream: bool) -> None:
        """A race serves the first leg to stream output: a request that does not stream cannot have one."""
        if not stream and self.races:
            raise InvalidRequest(
                "a race ('!' in the model selector) needs a streaming request (stream: true): lip serves the first "
                "leg to produce output and cancels the others; use '|' for failover without streaming",
                param="model",
            )


class Planner:
    def __init__(
        self,
        settings: Settings,
        backends: Mapping[str, Backend],
        inventory: Inventory,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.backends = backends  # by prefix
        self.inventory = inventory
        self.rng = rng or random.Random()
        self._selectors: dict[str, Selector] = {}  # parsed selectors by requested model, bounded
        route = settings.config.routing.default_route
        self._default_route = parse_selector(route) if route else None  # checked at start
        # the targets of a selector that draws nothing at random, by requested model and inventory generation
        self._fixed: dict[str, tuple[int, list[Target]]] = {}
        self._default_fixed = self._default_route is None or _draws_nothing(self._default_route)

    def resolve_alias(self, model: str) -> str:
        """The replacement of the first alias whose pattern matches the whole ``model``; else ``model``."""
        for alias in self.settings.aliases:
            match = alias.pattern.fullmatch(model)
            if match is not None:
                return match.expand(alias.replacement)
        return model

    def selector(self, model: str) -> Selector:
        """The parsed selector of ``model`` (after aliases), checked for what lip refuses (a 400 before anything is
        tried: a selector form lip does not serve, an unsupported per-leaf parameter); parsed and checked once per
        distinct model, then cached (a refused one is not cached)."""
        cached = self._selectors.get(model)
        if cached is not None:
            return cached
        text = self.resolve_alias(model)
        try:
            selector = parse_selector(text)
        except SelectorError as exc:
            via = f" (the alias '{model}' expands to it)" if text != model else ""
            raise InvalidRequest(
                f"invalid model selector {exc.text!r}{via}: {exc.reason} at position {exc.position}", param="model"
            ) from None
        refused = refusal(selector)
        if refused is not None:
            raise InvalidRequest(refused, param="model")
        for leaf in selector.leaves():
            parse_overrides(leaf.params)
        if len(self._selectors) >= MAX_CACHED_SELECTORS:
            self._selectors.clear()
        self._selectors[model] = selector
        return selector

    def plan(self, model: str, rng: random.Random | None = None, *, first: bool = False) -> Plan:
        """The attempts of ``model``; ``rng``: the weighted draws' (a sticky conversation's seeded one:
        lip.routing.affinity); ``first``: the request opens its session, so a ``[first]`` leaf of a weighted arm goes
        before the weighted draw (the Go project's first-request steering)."""
        selector = self.selector(model)
        ttft = float(selector.ttft_timeout) if selector.ttft_timeout is not None else None
        generation = self.inventory.generation
        cached = None if first else self._fixed.get(model)
        if cached is not None and cached[0] == generation:
            targets = cached[1]
        else:
            targets = self._targets_of(selector, model, rng, first)
            if not first and self._default_fixed and _draws_nothing(selector):  # the same targets every time
                if len(self._fixed) >= MAX_CACHED_SELECTORS:
                    self._fixed.clear()
                self._fixed[model] = (generation, targets)
        return Plan(list(targets), selector, ttft, selector.affinity)  # a list of its own: the kept one stays

    def _targets_of(self, selector: Selector, model: str, rng: random.Random | None, first: bool) -> list[Target]:
        targets: list[Target] = []
        for number, arm in enumerate(selector.chain, start=1):
            race = number if isinstance(arm, Race) else 0
            for leaf in self.order(arm, first, rng):
                for t in self._targets(leaf, model):
                    if first and leaf.first and not isinstance(arm, Race):
                        t = replace(t, opens_session=True)
                    # a default route's own race keeps its legs together, numbered apart from the request's arms
                    number_as = race or (-(number * 1000 + t.race) if t.race else 0)
                    targets.append(replace(t, race=number_as) if number_as != t.race else t)
        if not targets:
            raise ModelNotFound(f"model '{model}' resolves to no enabled backend")
        return targets

    def order(self, arm: Arm, first: bool = False, rng: random.Random | None = None) -> list[Leaf]:
        """A race's legs as written; a weighted random permutation of a choice: the first is the weighted draw (or
        its ``[first]`` leaf when ``first``), the rest are the re-draws."""
        leaves = list(arm.leaves)
        if len(leaves) == 1 or isinstance(arm, Race):
            return leaves
        rng = rng or self.rng
        ordered: list[Leaf] = []
        if first:
            ordered.extend(leaf for leaf in leaves if leaf.first)
            leaves = [leaf for leaf in leaves if not leaf.first]
        while leaves:
            pick = rng.choices(range(len(leaves)), weights=[leaf.weight for leaf in leaves])[0]
            ordered.append(leaves.pop(pick))
        return ordered

    def _targets(self, leaf: Leaf, requested: str, fallback: bool = True) -> list[Target]:
        if leaf.prefix is None:
            return self._bare(leaf, requested, fallback)
        backend = self.backends.get(leaf.prefix)
        if backend is not None:
            return [_target(backend, self._native(leaf.prefix, leaf.model), leaf)]
        whole = f"{leaf.prefix}:{leaf.model}"  # 'llama3:8b' may be a bare model name that has a ':'
        if self.inventory.backends_with(whole):
            return self._bare(replace(leaf, prefix=None, model=whole), requested, fallback)
        if fallback and self.settings.config.routing.default_route:
            return self._default(leaf, requested)
        known = ", ".join(sorted(self.backends)) or "(none)"
        raise UnknownBackend(f"unknown backend prefix '{leaf.prefix}' in model '{requested}'; known prefixes: {known}")

    def _native(self, prefix: str, model: str) -> str:
        entry = self.inventory.by_prefix.get(prefix)
        found = entry.find(model) if entry is not None else None
        return found.native_id if found is not None else model

    def _bare(self, leaf: Leaf, requested: str, fallback: bool) -> list[Target]:
        """Every backend that lists the model, in config order; else the default route; else 404."""
        holders = self.inventory.backends_with(leaf.model)
        if holders:
            return [_target(h.backend, self._native(h.backend.prefix, leaf.model), leaf) for h in holders]
        if fallback and self.settings.config.routing.default_route:
            return self._default(leaf, requested)
        known = ", ".join(sorted(self.backends)) or "(none)"
        raise ModelNotFound(
            f"model '{requested}' has no backend prefix and no backend lists it, and there is no "
            f"routing.default_route; write it as prefix:model (prefixes: {known})"
        )

    def _default(self, leaf: Leaf, requested: str) -> list[Target]:
        """``routing.default_route``'s attempts for a leaf no backend knows; the leaf's parameters and annotations
        win over the default route's (checked at start: it names a prefix in every leaf)."""
        default = self._default_route
        if default is None:
            return []
        return [
            replace(_merge(t, leaf), race=number if isinstance(arm, Race) else 0)
            for number, arm in enumerate(default.chain, start=1)
            for d in self.order(arm)
            if d.prefix is not None
            for t in self._targets(d, requested, fallback=False)
        ]


def _draws_nothing(selector: Selector) -> bool:
    """Whether planning ``selector`` draws nothing at random: every arm is one leaf, or a race (legs as written)."""
    return all(len(arm.leaves) == 1 or isinstance(arm, Race) for arm in selector.chain)


def _target(backend: Backend, model: str, leaf: Leaf) -> Target:
    return Target(
        backend,
        model,
        leaf.params,
        handicap_s=float(leaf.handicap),
        ttft_s=float(leaf.ttft_timeout) if leaf.ttft_timeout is not None else None,
        min_context=leaf.min_context,
        max_context=leaf.max_context,
    )


def _merge(target: Target, leaf: Leaf) -> Target:
    """A default-route target with the requested leaf's parameters (they win) and its annotations, where given."""
    return replace(
        target,
        params=target.params + leaf.params,
        handicap_s=float(leaf.handicap) or target.handicap_s,
        ttft_s=float(leaf.ttft_timeout) if leaf.ttft_timeout is not None else target.ttft_s,
        min_context=leaf.min_context if leaf.min_context is not None else target.min_context,
        max_context=leaf.max_context if leaf.max_context is not None else target.max_context,
    )


def legs(targets: Sequence[Target], start: int) -> int:
    """How many targets from ``start`` on are legs of the same race (1 for a target that is not a race leg)."""
    race = targets[start].race
    end = start + 1
    if race:
        while end < len(targets) and targets[end].race == race:
            end += 1
    return end - start
