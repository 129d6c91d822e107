"""The selector grammar: what a request's ``model``, an alias replacement or the default route may say.

::

    selector := chain
    chain    := choice ("|" choice)*                 ordered failover
    choice   := leaf ("^" leaf)*                     weighted random choice; binds tighter than "|"
    leaf     := ["[weight=" NUMBER "]"] target ["?" params]
    target   := PREFIX ":" MODEL | NAME              MODEL may contain ":" and "/"; PREFIX has no "/"
    params   := KEY "=" VALUE ("&" KEY "=" VALUE)*   per-leaf overrides (temperature, max_tokens, ...)
    NUMBER   := DIGITS ["." DIGITS]                  a positive weight; a leaf without one weighs 1

Spaces are allowed around ``|`` and ``^`` and nowhere else. A target, key or value is printable text without
whitespace or any of ``| ^ ? [ ]`` (and ``&`` in parameters); a NAME is a bare model name, which may contain ":"
only after a "/" (``meta-llama/llama-3-8b:free``), since a prefix never contains "/".

Examples: ``provider123:deepseek-chat``, ``my-ollama:llama3:8b``, ``a:m1|b:m2``,
``[weight=3]a:m^[weight=1]b:m``, ``a:m?temperature=0.2&reasoning_effort=high``, ``gpt-4o`` (a bare name).
``str(parse_selector(text))`` is the canonical spelling, and parsing it again gives an equal Selector.
Pure: no I/O, no configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

DELIMITERS = frozenset("|^?[]")
SPACES = " \t"
KEY = re.compile(r"[A-Za-z0-9_.-]+")
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class SelectorError(ValueError):
    """A malformed selector; ``position`` is the 0-based index of the offending character."""

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
        if self.weight != 1.0:
            text = f"[weight={_number(self.weight)}]{text}"
        if self.params:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.params)
        return text


@dataclass(frozen=True, slots=True)
class Choice:
    """Weighted choice among leaves (a single leaf is a Choice of one)."""

    leaves: tuple[Leaf, ...]

    def __str__(self) -> str:
        return "^".join(str(leaf) for leaf in self.leaves)


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
    """Positional decimal notation (``0.00001``, never ``1e-05``), exact enough to parse back to ``value``."""
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _plain(char: str) -> bool:
    return char.isprintable() and not char.isspace()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int | None = None) -> SelectorError:
        return SelectorError(message, self.text, self.pos if position is None else position)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def spaces(self) -> None:
        while self.peek() and self.peek() in SPACES:
            self.pos += 1

    def word(self, stops: frozenset[str]) -> str:
        """The longest run of plain characters (no whitespace, no control characters) not in ``stops``."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stops and _plain(self.text[self.pos]):
            self.pos += 1
        return self.text[start : self.pos]

    def selector(self) -> Selector:
        self.spaces()
        chain = [self.choice()]
        while self.peek() == "|":
            self.pos += 1
            self.spaces()
            chain.append(self.choice())
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}; expected '|', '^' or the end of the selector")
        return Selector(tuple(chain))

    def choice(self) -> Choice:
        leaves = [self.leaf()]
        while self.peek() == "^":
            self.pos += 1
            self.spaces()
            leaves.append(self.leaf())
        return Choice(tuple(leaves))

    def leaf(self) -> Leaf:
        weight = self.weight() if self.peek() == "[" else 1.0
        start = self.pos
        target = self.word(DELIMITERS)
        if not target:
            found = f"found {self.peek()!r}" if self.peek() else "found the end of the selector"
            raise self.fail(f"expected a model selector, {found}", start)
        prefix, sep, model = target.partition(":")
        if sep and "/" not in prefix:
            if not prefix:
                raise self.fail("empty backend prefix before ':'", start)
            if not model:
                raise self.fail("empty model name after ':'", start + len(prefix) + 1)
        params = self.params() if self.peek() == "?" else ()
        space = self.pos
        self.spaces()
        if self.pos > space and self.peek() not in ("|", "^", ""):
            raise self.fail("a space inside a selector (spaces may only surround '|' and '^')", space)
        if sep and "/" not in prefix:
            return Leaf(prefix, model, weight, params)
        return Leaf(None, target, weight, params)

    def weight(self) -> float:
        start = self.pos
        end = self.text.find("]", start)
        if end < 0:
            raise self.fail("unclosed '['", start)
        body = self.text[start + 1 : end]
        key, sep, value = body.partition("=")
        if key != "weight" or not sep:
            raise self.fail("only [weight=N] is allowed in brackets", start)
        if not NUMBER.fullmatch(value):
            raise self.fail(f"weight {value!r} is not a number such as 3 or 0.5", start + len("[weight="))
        weight = float(value)
        if not 0 < weight < float("inf"):
            raise self.fail("weight must be a positive number", start + len("[weight="))
        self.pos = end + 1
        return weight

    def params(self) -> tuple[tuple[str, str], ...]:
        self.pos += 1
        pairs: list[tuple[str, str]] = []
        while True:
            start = self.pos
            item = self.word(DELIMITERS - {"?"} | {"&"})
            key, sep, value = item.partition("=")
            if not sep or not value or not KEY.fullmatch(key):
                raise self.fail(f"parameter {item!r} is not key=value", start)
            pairs.append((key, value))
            if self.peek() != "&":
                return tuple(pairs)
            self.pos += 1


def parse_selector(text: str) -> Selector:
    """Parse ``text``; raise SelectorError pointing at the offending position."""
    if not isinstance(text, str) or not text.strip(SPACES):
        raise SelectorError("empty selector", str(text), 0)
    return _Parser(text).selector()
