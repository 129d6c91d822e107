"""The selector grammar: what a request's ``model``, an alias replacement or the default route may say.

The Go project's grammar (its ``internal/core/routing/parser.go``), parsed by one hand-written scanner::

    selector    := [global] arm ("|" arm)*               ordered failover between arms
    global      := "{" gentry ("," gentry)* "}"          only before the first leaf, at most once
    gentry      := "ttft_timeout=" SECONDS               one budget for the first output across every attempt
                 | "affinity=" ("session" | "client") | "session_sticky" | "client_sticky"
    arm         := leaf ("^" leaf)*                      weighted random choice (a single leaf is a choice of one)
                 | leaf ("!" leaf)+                      a parallel race, 2 to 16 legs; '^' and '!' never mix
    leaf        := ("[" note ("," note)* "]")* target ["?" params]
    note        := "weight=" NUMBER | "first" | "thinker" ["=" ("true" | "yes" | "1")]     weighted arms only
                 | "handicap=" SECONDS                                                     race legs only
                 | "ttft_timeout=" SECONDS | "max_context=" TOKENS | "min_context=" TOKENS  any leaf
    target      := PREFIX ":" MODEL | NAME               MODEL may contain ":" and "/"; PREFIX has no "/"
    params      := KEY "=" VALUE ("&" KEY "=" VALUE)*    per-leaf overrides; VALUE may use %XX escapes
    NUMBER      := DIGITS ["." DIGITS]                   a positive weight; a leaf without one weighs 1
    SECONDS     := DIGITS                                a positive whole number of seconds
    TOKENS      := DIGITS ["k" | "K" | "m" | "M"]        a positive token count (128k = 128000)

Spaces may surround ``|``, ``^``, ``!``, annotation blocks and the entries inside ``[...]`` and ``{...}``, and
nowhere else. Annotation keys are case-insensitive. A target, key or value is printable text without whitespace
or any of ``| ^ ! ? [ ] { }`` (and ``&`` in parameters); a NAME is a bare model name, which may contain ":" only
after a "/" (``meta-llama/llama-3-8b:free``), since a prefix never contains "/".

Placement, as in the Go project: ``[weight]``, ``[first]`` and ``[thinker]`` make an arm weighted and are refused
on race legs; ``[handicap]`` only on race legs; at most one ``[first]`` and one ``[thinker]`` per arm, never both
on one leaf, and a ``[thinker]`` needs a non-thinker leaf beside it; ``min_context`` below ``max_context``; every
key at most once per leaf (and per global block). The Go project's one mixed form, a ``[thinker]`` leaf weighted
against a parallel group, is refused here with the reason (lip does not run interleaved thinking).

``str(parse_selector(text))`` is the canonical spelling, and parsing it again gives an equal Selector.
Pure: no I/O, no configuration; linear in the text (no regular expression runs over it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

DELIMITERS = frozenset("|^!?[]{}")
PARAM_STOPS = DELIMITERS - {"?"} | {"&"}
SPACES = " \t"
KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
DIGITS = frozenset("0123456789")
HEX = frozenset("0123456789abcdefABCDEF")
MAX_RACE_LEGS = 16  # the Go project's maxParallelBranches
MAX_SECONDS = (2**63 - 1) // 10**9  # the Go project's bound (a time.Duration in nanoseconds)
MAX_TOKENS = 2**63 - 1
AFFINITIES = ("session", "client")
TRUE_WORDS = frozenset({"1", "yes", "true"})
FALSE_WORDS = frozenset({"0", "no", "false", ""})
ESCAPED = DELIMITERS | {"&", "%"}  # what a rendered parameter value spells as %XX


class SelectorError(ValueError):
    """A malformed selector; ``position`` is the 0-based index of the offending character."""

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in selector {text!r}")
        self.reason = message
        self.text = text
        self.position = position


@dataclass(frozen=True, slots=True)
class Leaf:
    """One target with its annotations; seconds and token counts are whole numbers, as the Go project has them."""

    prefix: str | None  # None for a bare model name
    model: str
    weight: float = 1.0
    params: tuple[tuple[str, str], ...] = ()  # decoded (%XX escapes resolved)
    first: bool = False  # a session's first request takes this leaf of its weighted arm
    thinker: bool = False  # the Go project's interleaved-thinking planner leaf (refused when planning in lip)
    handicap: int = 0  # seconds a race leg waits before it starts
    ttft_timeout: int | None = None  # seconds this attempt may take to its first output
    min_context: int | None = None  # tokens: skip the leaf for a smaller prompt
    max_context: int | None = None  # tokens: skip the leaf for a larger prompt

    @property
    def target(self) -> str:
        return f"{self.prefix}:{self.model}" if self.prefix is not None else self.model

    def notes(self) -> list[str]:
        out: list[str] = []
        if self.weight != 1.0:
            out.append(f"weight={_number(self.weight)}")
        if self.first:
            out.append("first")
        if self.thinker:
            out.append("thinker")
        if self.handicap:
            out.append(f"handicap={self.handicap}")
        for key in ("ttft_timeout", "min_context", "max_context"):
            value = getattr(self, key)
            if value is not None:
                out.append(f"{key}={value}")
        return out

    def __str__(self) -> str:
        notes = self.notes()
        text = (f"[{','.join(notes)}]" if notes else "") + self.target
        if self.params:
            text += "?" + "&".join(f"{k}={_escape(v)}" for k, v in self.params)
        return text


@dataclass(frozen=True, slots=True)
class Choice:
    """Weighted choice among leaves (a single leaf is a Choice of one)."""

    leaves: tuple[Leaf, ...]

    def __str__(self) -> str:
        return "^".join(str(leaf) for leaf in self.leaves)


@dataclass(frozen=True, slots=True)
class Race:
    """Legs started together (each after its handicap); the first to produce output is served, the rest cancelled."""

    leaves: tuple[Leaf, ...]

    def __str__(self) -> str:
        return "!".join(str(leaf) for leaf in self.leaves)


Arm = Choice | Race


@dataclass(frozen=True, slots=True)
class Selector:
    chain: tuple[Arm, ...] = field(default_factory=tuple)
    ttft_timeout: int | None = None  # seconds: one budget for the first output across every attempt
    affinity: str | None = None  # "session" or "client": the weighted picks stick (lip.routing's sessions)
    steers_first: bool = field(init=False, compare=False)  # a weighted arm has a [first] leaf: sessions matter

    def __post_init__(self) -> None:
        object.__setattr__(self, "steers_first", any(leaf.first for arm in self.chain for leaf in arm.leaves))

    def __str__(self) -> str:
        notes = []
        if self.ttft_timeout is not None:
            notes.append(f"ttft_timeout={self.ttft_timeout}")
        if self.affinity is not None:
            notes.append(f"affinity={self.affinity}")
        head = "{" + ",".join(notes) + "}" if notes else ""
        return head + "|".join(str(arm) for arm in self.chain)

    def leaves(self) -> list[Leaf]:
        return [leaf for arm in self.chain for leaf in arm.leaves]

    @property
    def is_single(self) -> bool:
        return len(self.chain) == 1 and len(self.chain[0].leaves) == 1

    @property
    def races(self) -> bool:
        return any(isinstance(arm, Race) for arm in self.chain)


def _number(value: float) -> str:
    """Positional decimal notation (``0.00001``, never ``1e-05``), exact enough to parse back to ``value``."""
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _escape(value: str) -> str:
    return "".join("".join(f"%{b:02X}" for b in c.encode()) if c in ESCAPED or not _plain(c) else c for c in value)


def _plain(char: str) -> bool:
    return char.isprintable() and not char.isspace()


@dataclass(slots=True)
class _Notes:
    """A leaf's annotations while they are read, with where each key was (for the placement errors)."""

    at: dict[str, int] = field(default_factory=dict)
    weight: float = 1.0
    first: bool = False
    thinker: bool = False
    handicap: int = 0
    ttft_timeout: int | None = None
    min_context: int | None = None
    max_context: int | None = None


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

    # ---- structure

    def selector(self) -> Selector:
        self.spaces()
        ttft, affinity = self.globals() if self.peek() == "{" else (None, None)
        chain = [self.arm()]
        while self.peek() == "|":
            self.pos += 1
            self.spaces()
            chain.append(self.arm())
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}; expected '|', '^', '!' or the end of the selector")
        return Selector(tuple(chain), ttft, affinity)

    def arm(self) -> Arm:
        start = self.pos
        leaves = [self.leaf()]
        ops: list[tuple[str, int]] = []
        while self.peek() in ("^", "!"):
            ops.append((self.peek(), self.pos))
            self.pos += 1
            self.spaces()
            leaves.append(self.leaf())
        kinds = {op for op, _ in ops}
        if len(kinds) > 1:
            mixed = next(at for op, at in ops if op != ops[0][0])
            if any(leaf.thinker for leaf, _ in leaves):
                raise self.fail(
                    "a [thinker] leaf weighted against a parallel group is the Go project's interleaved thinking, "
                    "which lip does not run",
                    mixed,
                )
            raise self.fail(
                "'!' (a race) and '^' (a weighted choice) cannot be mixed in one arm; join arms with '|'", mixed
            )
        if kinds == {"!"}:
            return self.race(leaves, start)
        return self.choice(leaves)

    def race(self, leaves: list[tuple[Leaf, _Notes]], start: int) -> Race:
        if len(leaves) > MAX_RACE_LEGS:
            raise self.fail(f"a race has at most {MAX_RACE_LEGS} legs, this one has {len(leaves)}", start)
        for _, notes in leaves:
            for key in ("weight", "first"):
                if key in notes.at:
                    raise self.fail(
                        f"[{key}] is not valid on a race leg ('!'); it belongs to weighted arms", notes.at[key]
                    )
            if "thinker" in notes.at:
                raise self.fail("[thinker] is only valid on a leaf of a weighted arm ('^')", notes.at["thinker"])
        return Race(tuple(leaf for leaf, _ in leaves))

    def choice(self, leaves: list[tuple[Leaf, _Notes]]) -> Choice:
        first = thinker = 0
        for leaf, notes in leaves:
            if "handicap" in notes.at:
                raise self.fail("[handicap] is only valid on a race leg ('!')", notes.at["handicap"])
            if leaf.first and leaf.thinker:
                raise self.fail("[first] and [thinker] cannot be on the same leaf", notes.at["thinker"])
            first += leaf.first
            thinker += leaf.thinker
            if leaf.first and first > 1:
                raise self.fail("at most one [first] leaf in a weighted arm", notes.at["first"])
            if leaf.thinker and thinker > 1:
                raise self.fail("at most one [thinker] leaf in a weighted arm", notes.at["thinker"])
        if thinker and thinker == len(leaves):
            raise self.fail(
                "a [thinker] leaf needs a non-thinker leaf in its weighted arm ('^')", leaves[0][1].at["thinker"]
            )
        return Choice(tuple(leaf for leaf, _ in leaves))

    def leaf(self) -> tuple[Leaf, _Notes]:
        notes = _Notes()
        while self.peek() == "[":
            self.notes(notes)
            self.spaces()
        if notes.min_context is not None and notes.max_context is not None and notes.min_context >= notes.max_context:
            raise self.fail("min_context must be less than max_context", notes.at["min_context"])
        start = self.pos
        if self.peek() == "{":
            raise self.fail("the {...} global block must come before the first leaf")
        target = self.word(DELIMITERS)
        if not target:
            found = f"found {self.peek()!r}" if self.peek() else "found the end of the selector"
            raise self.fail(f"expected a model selector, {found}", start)
        prefix, sep, model = target.partition(":")
        split = bool(sep) and "/" not in prefix
        if split and not prefix:
            raise self.fail("empty backend prefix before ':'", start)
        if split and not model:
            raise self.fail("empty model name after ':'", start + len(prefix) + 1)
        params = self.params() if self.peek() == "?" else ()
        if self.peek() == "{":
            raise self.fail("the {...} global block must come before the first leaf")
        space = self.pos
        self.spaces()
        if self.pos > space and self.peek() not in ("|", "^", "!", ""):
            raise self.fail("a space inside a selector (spaces may only surround '|', '^', '!' and blocks)", space)
        leaf = Leaf(
            prefix if split else None,
            model if split else target,
            notes.weight,
            params,
            notes.first,
            notes.thinker,
            notes.handicap,
            notes.ttft_timeout,
            notes.min_context,
            notes.max_context,
        )
        return leaf, notes

    # ---- blocks

    def entries(self, close: str, what: str) -> list[tuple[str, str | None, int]]:
        """The ``key[=value]`` entries of a block opened at ``self.pos``; keys lower-cased; spaces trimmed."""
        start = self.pos
        end = self.text.find(close, start)
        if end < 0:
            raise self.fail(f"unclosed '{self.text[start]}'", start)
        out: list[tuple[str, str | None, int]] = []
        at = start + 1
        for raw in self.text[start + 1 : end].split(","):
            stripped = raw.strip(SPACES)
            where = at + len(raw) - len(raw.lstrip(SPACES))
            if not stripped:
                raise self.fail(f"an empty entry in the {what}", where)
            key, sep, value = stripped.partition("=")
            out.append((key.strip(SPACES).lower(), value.strip(SPACES) if sep else None, where))
            at += len(raw) + 1
        self.pos = end + 1
        return out

    def globals(self) -> tuple[int | None, str | None]:
        ttft: int | None = None
        affinity: str | None = None
        for key, value, at in self.entries("}", "global block"):
            if key == "ttft_timeout":
                if ttft is not None:
                    raise self.fail("ttft_timeout is given twice in the global block", at)
                ttft = self.seconds(key, value, at)
            elif key in ("affinity", "session_sticky", "client_sticky"):
                if affinity is not None:
                    raise self.fail("affinity is given twice in the global block", at)
                if key != "affinity":
                    if value is not None:
                        raise self.fail(f"{key} takes no value", at)
                    affinity = key.removesuffix("_sticky")
                elif value is None or value.lower() not in AFFINITIES:
                    raise self.fail("affinity must be session or client", at)
                else:
                    affinity = value.lower()
            else:
                raise self.fail(
                    f"unknown global parameter {key!r}; use ttft_timeout, affinity, session_sticky or client_sticky",
                    at,
                )
        self.spaces()
        if self.peek() == "{":
            raise self.fail("only one {...} global block is allowed")
        return ttft, affinity

    def notes(self, notes: _Notes) -> None:
        for key, value, at in self.entries("]", "annotation block"):
            if key in notes.at:
                raise self.fail(f"[{key}] is given twice on one leaf", at)
            notes.at[key] = at
            if key == "weight":
                notes.weight = self.weight(value, at)
            elif key == "first":
                if value:
                    raise self.fail("[first] takes no value", at)
                notes.first = True
            elif key == "thinker":
                if value is not None and value.lower() not in TRUE_WORDS:
                    raise self.fail("[thinker] must be bare or true, yes or 1", at)
                notes.thinker = True
            elif key == "handicap":
                notes.handicap = self.seconds(key, value, at)
            elif key == "ttft_timeout":
                notes.ttft_timeout = self.seconds(key, value, at)
            elif key in ("min_context", "max_context"):
                setattr(notes, key, self.tokens(key, value, at))
            else:
                raise self.fail(
                    f"unknown annotation {key!r}; use weight, first, thinker, handicap, ttft_timeout, "
                    "min_context or max_context",
                    at,
                )

    def weight(self, value: str | None, at: int) -> float:
        where = at + len("weight=")
        whole, dot, frac = (value or "").partition(".")
        if not whole or not set(whole) <= DIGITS or (dot and (not frac or not set(frac) <= DIGITS)):
            raise self.fail(f"weight {value!r} is not a number such as 3 or 0.5", where)
        weight = float(value or 0)
        if not 0 < weight < float("inf"):
            raise self.fail("weight must be a positive number", where)
        return weight

    def seconds(self, key: str, value: str | None, at: int) -> int:
        if not value or not set(value) <= DIGITS or int(value) <= 0:
            raise self.fail(f"{key} must be a positive whole number of seconds", at)
        if int(value) > MAX_SECONDS:
            raise self.fail(f"{key} is too large", at)
        return int(value)

    def tokens(self, key: str, value: str | None, at: int) -> int:
        digits, scale = (value or ""), 1
        if digits[-1:] in ("k", "K", "m", "M"):
            digits, scale = digits[:-1].rstrip(SPACES), 1_000 if digits[-1] in "kK" else 1_000_000
        if not digits or not set(digits) <= DIGITS or int(digits) <= 0:
            raise self.fail(f"{key} must be a positive token count, optionally with k or M (128k)", at)
        if int(digits) * scale > MAX_TOKENS:
            raise self.fail(f"{key} is too large", at)
        return int(digits) * scale

    def params(self) -> tuple[tuple[str, str], ...]:
        self.pos += 1
        pairs: list[tuple[str, str]] = []
        while True:
            start = self.pos
            item = self.word(PARAM_STOPS)
            key, sep, value = item.partition("=")
            if not sep or not value or not key or not set(key) <= KEY_CHARS:
                raise self.fail(f"parameter {item!r} is not key=value", start)
            pairs.append((key, self.unescape(value, start + len(key) + 1)))
            if self.peek() != "&":
                return tuple(pairs)
            self.pos += 1

    def unescape(self, value: str, at: int) -> str:
        """``%XX`` escapes (UTF-8 bytes) resolved, as in a URL query; a '%' without two hex digits is an error."""
        if "%" not in value:
            return value
        out = bytearray()
        i = 0
        while i < len(value):
            if value[i] != "%":
                out += value[i].encode()
                i += 1
                continue
            pair = value[i + 1 : i + 3]
            if len(pair) != 2 or not set(pair) <= HEX:
                raise self.fail("'%' must start an escape such as %21 (two hex digits)", at + i)
            out.append(int(pair, 16))
            i += 3
        try:
            return out.decode()
        except UnicodeDecodeError:
            raise self.fail("the %XX escapes do not spell UTF-8 text", at) from None


THINKER_REFUSED = (
    "[thinker] (the Go project's interleaved thinking: a planner model's memo injected into later turns of a "
    "session) is not supported by lip; drop the annotation to weigh the leaf like the others (docs/routing.md)"
)


def refusal(selector: Selector) -> str | None:
    """Why lip refuses a selector it parses (None when it takes it): the forms it does not run."""
    if any(leaf.thinker for leaf in selector.leaves()):
        return THINKER_REFUSED
    return None


def parse_selector(text: str) -> Selector:
    """Parse ``text``; raise SelectorError pointing at the offending position."""
    if not isinstance(text, str) or not text.strip(SPACES):
        raise SelectorError("empty selector", str(text), 0)
    return _Parser(text).selector()
