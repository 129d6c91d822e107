"""The selector grammar: what a request's ``model``, an alias replacement or the default route may say.

::

    selector := chain
    chain    := choice ("|" choice)*                 ordered failover
    choice   := leaf ("^" leaf)*                     weighted random choice; binds tighter than "|"
    leaf     := ["[weight=" NUMBER "]"] target ["?" params]
    target   := PREFIX ":" MODEL | NAME              MODEL may contain ":" and "/"; NAME has no ":"
    params   := KEY "=" VALUE ("&" KEY "=" VALUE)*   per-leaf overrides (temperature, max_tokens, ...)

Examples: ``provider123:deepseek-chat``, ``my-ollama:llama3:8b``, ``a:m1|b:m2``,
``[weight=3]a:m^[weight=1]b:m``, ``a:m?temperature=0.2&reasoning_effort=high``, ``gpt-4o`` (a bare name).
Pure: no I/O, no configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DELIMITERS = "|^?[]"


class SelectorError(ValueError):
    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in selector {text!r}")
        self.reason = message
        self.text = text
        self.position = position


@dataclass(frozen=True, slots=True)
class Leaf:
    prefix: str | None  # None for a bare model name
    model: str
    weight: float = 1.0
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        text = f"{self.prefix}:{self.model}" if self.prefix is not None else self.model
        if self.params:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.params)
        return text


@dataclass(frozen=True, slots=True)
class Choice:
    """Weighted choice among leaves (a single leaf is a Choice of one)."""

    leaves: tuple[Leaf, ...]

    def __str__(self) -> str:
        if len(self.leaves) == 1 and self.leaves[0].weight == 1.0:
            return str(self.leaves[0])
        return "^".join(f"[weight={_number(leaf.weight)}]{leaf}" for leaf in self.leaves)


@dataclass(frozen=True, slots=True)
class Selector:
    chain: tuple[Choice, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return "|".join(str(choice) for choice in self.chain)

    def leaves(self) -> list[Leaf]:
        return [leaf for choice in self.chain for leaf in choice.leaves]

    @property
    def is_single(self) -> bool:
        return len(self.chain) == 1 and len(self.chain[0].leaves) == 1


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int | None = None) -> SelectorError:
        return SelectorError(message, self.text, self.pos if position is None else position)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def until(self, stops: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            self.pos += 1
        return self.text[start : self.pos]

    def selector(self) -> Selector:
        chain = [self.choice()]
        while self.peek() == "|":
            self.pos += 1
            chain.append(self.choice())
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}")
        return Selector(tuple(chain))

    def choice(self) -> Choice:
        leaves = [self.leaf()]
        while self.peek() == "^":
            self.pos += 1
            leaves.append(self.leaf())
        return Choice(tuple(leaves))

    def leaf(self) -> Leaf:
        weight = self.weight() if self.peek() == "[" else 1.0
        start = self.pos
        target = self.until(DELIMITERS)
        if not target.strip():
            raise self.fail("expected a model selector", start)
        if target != target.strip():
            raise self.fail("whitespace around a selector", start)
        prefix, sep, model = target.partition(":")
        if sep and not prefix:
            raise self.fail("empty backend prefix before ':'", start)
        if sep and not model:
            raise self.fail("empty model name after ':'", start + len(prefix) + 1)
        params = self.params() if self.peek() == "?" else ()
        return Leaf(prefix if sep else None, model if sep else prefix, weight, params)

    def weight(self) -> float:
        start = self.pos
        self.pos += 1
        body = self.until("]")
        if self.peek() != "]":
            raise self.fail("unclosed '['", start)
        self.pos += 1
        key, _, value = body.partition("=")
        if key.strip() != "weight":
            raise self.fail("only [weight=N] is allowed in brackets", start)
        try:
            weight = float(value)
        except ValueError:
            raise self.fail(f"weight {value!r} is not a number", start) from None
        if not weight > 0 or weight == float("inf"):
            raise self.fail("weight must be a positive number", start)
        return weight

    def params(self) -> tuple[tuple[str, str], ...]:
        self.pos += 1
        start = self.pos
        body = self.until("|^[]")
        pairs: list[tuple[str, str]] = []
        for item in body.split("&"):
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise self.fail(f"parameter {item!r} is not key=value", start)
            pairs.append((key, value))
            start += len(item) + 1
        return tuple(pairs)


def parse_selector(text: str) -> Selector:
    """Parse ``text``; raise SelectorError pointing at the offending position."""
    if not isinstance(text, str) or not text:
        raise SelectorError("empty selector", str(text), 0)
    return _Parser(text).selector()
