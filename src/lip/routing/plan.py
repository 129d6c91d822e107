"""Selector + aliases + inventory -> an ordered list of attempts (backend, native model, overrides)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from lip.backends.base import Backend, Target
from lip.config.load import Settings
from lip.errors import InvalidRequest, ModelNotFound, UnknownBackend
from lip.inventory import Inventory
from lip.routing.selector import Choice, Leaf, Selector, SelectorError, parse_selector


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

    def resolve_alias(self, model: str) -> str:
        for alias in self.settings.aliases:
            match = alias.pattern.fullmatch(model)
            if match is not None:
                return match.expand(alias.replacement)
        return model

    def selector(self, model: str) -> Selector:
        text = self.resolve_alias(model)
        try:
            return parse_selector(text)
        except SelectorError as exc:
            raise InvalidRequest(f"invalid model selector: {exc}", param="model") from None

    def plan(self, model: str) -> list[Target]:
        selector = self.selector(model)
        targets: list[Target] = []
        for choice in selector.chain:
            for leaf in self._order(choice):
                targets.extend(self._targets(leaf, model))
        return targets

    def _order(self, choice: Choice) -> list[Leaf]:
        """A weighted random permutation: the first is the weighted draw, the rest are the re-draws."""
        leaves = list(choice.leaves)
        if len(leaves) == 1:
            return leaves
        ordered: list[Leaf] = []
        while leaves:
            pick = self.rng.choices(range(len(leaves)), weights=[leaf.weight for leaf in leaves])[0]
            ordered.append(leaves.pop(pick))
        return ordered

    def _targets(self, leaf: Leaf, requested: str) -> Sequence[Target]:
        if leaf.prefix is None:
            return self._bare(leaf, requested)
        backend = self.backends.get(leaf.prefix)
        if backend is None:
            known = ", ".join(sorted(self.backends)) or "(none)"
            raise UnknownBackend(
                f"unknown backend prefix '{leaf.prefix}' in model '{requested}'; known prefixes: {known}"
            )
        return [Target(backend, self._native(leaf.prefix, leaf.model), leaf.params)]

    def _native(self, prefix: str, model: str) -> str:
        entry = self.inventory.by_prefix.get(prefix)
        found = entry.find(model) if entry is not None else None
        return found.native_id if found is not None else model

    def _bare(self, leaf: Leaf, requested: str) -> Sequence[Target]:
        holders = self.inventory.backends_with(leaf.model)
        if len(holders) == 1:
            backend = holders[0].backend
            return [Target(backend, self._native(backend.prefix, leaf.model), leaf.params)]
        default = self.settings.config.routing.default_route
        if default:
            selector = parse_selector(default)
            return [
                Target(self.backends[d.prefix], d.model, d.params or leaf.params)
                for choice in selector.chain
                for d in self._order(choice)
                if d.prefix is not None and d.prefix in self.backends
            ]
        known = ", ".join(sorted(self.backends)) or "(none)"
        why = "several backends list it" if holders else "no backend lists it and there is no default_route"
        raise ModelNotFound(
            f"model '{requested}' has no backend prefix and {why}; write it as prefix:model (prefixes: {known})"
        )
