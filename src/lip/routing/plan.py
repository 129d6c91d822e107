"""Selector + aliases + inventory -> an ordered list of attempts (backend, native model, overrides).

The order is the failover order: the choices of a chain in turn, and within a weighted choice a weighted random
permutation (the first leaf is the weighted draw; each next one is the re-draw among the rest, which is what
excluding a failed leaf and drawing again means). Everything a client can get wrong is found here, before the
first attempt: a malformed selector, an unknown prefix, an unsupported per-leaf parameter.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from lip.backends.base import Backend, Target
from lip.config.load import Settings
from lip.errors import InvalidRequest, ModelNotFound, UnknownBackend
from lip.inventory import Inventory
from lip.routing.overrides import parse_overrides
from lip.routing.selector import Choice, Leaf, Selector, SelectorError, parse_selector

MAX_CACHED_SELECTORS = 1024


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

    def resolve_alias(self, model: str) -> str:
        """The replacement of the first alias whose pattern matches the whole ``model``; else ``model``."""
        for alias in self.settings.aliases:
            match = alias.pattern.fullmatch(model)
            if match is not None:
                return match.expand(alias.replacement)
        return model

    def selector(self, model: str) -> Selector:
        """The parsed selector of ``model`` (after aliases); parsed once per distinct model, then cached."""
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
        if len(self._selectors) >= MAX_CACHED_SELECTORS:
            self._selectors.clear()
        self._selectors[model] = selector
        return selector

    def plan(self, model: str, rng: random.Random | None = None) -> list[Target]:
        """``rng``: the weighted draws' (a sticky conversation's seeded one: lip.routing.affinity)."""
        selector = self.selector(model)
        for leaf in selector.leaves():
            parse_overrides(leaf.params)  # an unsupported parameter is a 400 before anything is tried
        targets: list[Target] = []
        for choice in selector.chain:
            for leaf in self.order(choice, rng):
                targets.extend(self._targets(leaf, model))
        if not targets:
            raise ModelNotFound(f"model '{model}' resolves to no enabled backend")
        return targets

    def order(self, choice: Choice, rng: random.Random | None = None) -> list[Leaf]:
        """A weighted random permutation: the first is the weighted draw, the rest are the re-draws."""
        leaves = list(choice.leaves)
        if len(leaves) == 1:
            return leaves
        rng = rng or self.rng
        ordered: list[Leaf] = []
        while leaves:
            pick = rng.choices(range(len(leaves)), weights=[leaf.weight for leaf in leaves])[0]
            ordered.append(leaves.pop(pick))
        return ordered

    def _targets(self, leaf: Leaf, requested: str) -> list[Target]:
        if leaf.prefix is None:
            return self._bare(leaf, requested)
        backend = self.backends.get(leaf.prefix)
        if backend is not None:
            return [Target(backend, self._native(leaf.prefix, leaf.model), leaf.params)]
        whole = f"{leaf.prefix}:{leaf.model}"  # 'llama3:8b' may be a bare model name that has a ':'
        if self.inventory.backends_with(whole):
            return self._bare(Leaf(None, whole, leaf.weight, leaf.params), requested)
        known = ", ".join(sorted(self.backends)) or "(none)"
        raise UnknownBackend(f"unknown backend prefix '{leaf.prefix}' in model '{requested}'; known prefixes: {known}")

    def _native(self, prefix: str, model: str) -> str:
        entry = self.inventory.by_prefix.get(prefix)
        found = entry.find(model) if entry is not None else None
        return found.native_id if found is not None else model

    def _bare(self, leaf: Leaf, requested: str) -> list[Target]:
        """Every backend that lists the model, in config order; else the default route; else 404."""
        holders = self.inventory.backends_with(leaf.model)
        if holders:
            return [Target(h.backend, self._native(h.backend.prefix, leaf.model), leaf.params) for h in holders]
        default = self.settings.config.routing.default_route
        if default:
            return [
                Target(t.backend, t.model, t.params + leaf.params)  # the request's leaf parameters win
                for choice in parse_selector(default).chain
                for d in self.order(choice)
                if d.prefix is not None
                for t in self._targets(d, requested)
            ]
        known = ", ".join(sorted(self.backends)) or "(none)"
        raise ModelNotFound(
            f"model '{requested}' has no backend prefix and no backend lists it, and there is no "
            f"routing.default_route; write it as prefix:model (prefixes: {known})"
        )
