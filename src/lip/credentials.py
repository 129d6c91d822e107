"""API keys from numbered environment variables, held as redacted secrets, with rotation and cooldowns.

``ROOT`` is read first, then ``ROOT_2``, ``ROOT_3``, ... up to ``ROOT_32`` (or ``ROOT_1``, ``ROOT_2``, ... for
providers numbered from one). Values are trimmed; an empty ``ROOT`` is skipped; reading stops at the first missing
or empty numbered variable.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

MAX_KEYS = 32
ADOPT_SLACK_S = 0.5  # a shared cool-down this close to the local one is the same event (clocks differ slightly)


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret's value replaced by ``[redacted]``, longest first."""
    for value in sorted((s.reveal() for s in secrets), key=len, reverse=True):
        if value:
            text = text.replace(value, REDACTED)
    return text


def read_numbered(env: Mapping[str, str], root: str, *, from_one: bool = False) -> list[Secret]:
    """The keys of one env-var root, in order; see the module docstring for the rules."""
    keys: list[Secret] = []
    first = env.get(root, "").strip()
    if first:
        keys.append(Secret(first))
    for n in range(1 if from_one else 2, MAX_KEYS + 1):
        value = env.get(f"{root}_{n}", "").strip()
        if not value:
            break
        keys.append(Secret(value))
    return keys[:MAX_KEYS]


def key_variable_names(env: Mapping[str, str], root: str, *, from_one: bool = False) -> list[str]:
    """The variable names read for ``root`` (for summaries that must not show values)."""
    names = [root] if env.get(root, "").strip() else []
    for n in range(1 if from_one else 2, MAX_KEYS + 1):
        name = f"{root}_{n}"
        if not env.get(name, "").strip():
            break
        names.append(name)
    return names


@dataclass(slots=True)
class KeyState:
    secret: Secret
    disabled: bool = False  # a 401: out until the config is reloaded
    cool_until: float = 0.0  # a 429: out until then


class KeyListener(Protocol):
    """Told when a key goes out of use (lip.routing.shared publishes it to the other lip processes)."""

    def cooled(self, state: KeyState, seconds: float) -> None: ...

    def disabled(self, state: KeyState) -> None: ...


@dataclass(slots=True)
class KeyRing:
    """Round-robin over a backend instance's keys, skipping disabled and cooling ones."""

    keys: list[KeyState]
    clock: Callable[[], float] = time.monotonic
    _next: int = field(default=0)
    listener: KeyListener | None = None

    @classmethod
    def of(cls, secrets: list[Secret], clock: Callable[[], float] = time.monotonic) -> KeyRing:
        return cls([KeyState(s) for s in secrets], clock)

    @property
    def authenticated(self) -> bool:
        return bool(self.keys)

    def candidates(self, sticky: str | None = None) -> Iterator[KeyState]:
        """Usable keys for one request, starting at the round-robin position; a conversation's (``sticky``, a hex
        digest: lip.routing.affinity) starts at the key its hash names, the same one in every process."""
        count = len(self.keys)
        if sticky is not None and count:
            start = int(sticky[:8], 16) % count
        else:
            start = self._next
            self._next = (self._next + 1) % count if count else 0
        now = self.clock()
        for offset in range(count):
            state = self.keys[(start + offset) % count]
            if not state.disabled and state.cool_until <= now:
                yield state

    def secrets(self) -> list[Secret]:
        return [k.secret for k in self.keys]

    def usable(self) -> int:
        now = self.clock()
        return sum(1 for k in self.keys if not k.disabled and k.cool_until <= now)

    def soonest_available(self) -> float | None:
        """Seconds until a cooling key is back, or None when none is cooling."""
        now = self.clock()
        waits = [k.cool_until - now for k in self.keys if not k.disabled and k.cool_until > now]
        return min(waits) if waits else None

    def disable(self, state: KeyState) -> None:
        state.disabled = True
        if self.listener is not None:
            self.listener.disabled(state)

    def cool(self, state: KeyState, seconds: float) -> None:
        state.cool_until = self.clock() + max(seconds, 0.0)
        if self.listener is not None:
            self.listener.cooled(state, max(seconds, 0.0))

    def adopt(self, state: KeyState, *, disabled: bool, cool_for: float) -> bool:
        """Another lip process saw this key fail: take the later cool-down and a disable. True when it changed."""
        changed = disabled and not state.disabled
        state.disabled |= disabled
        until = self.clock() + cool_for
        if cool_for > 0 and until > state.cool_until + ADOPT_SLACK_S:
            state.cool_until, changed = until, True
        return changed

    def describe(self) -> list[dict[str, object]]:
        """Per key state for diagnostics, never the value."""
        now = self.clock()
        return [
            {
                "key": n + 1,
                "disabled": k.disabled,
                "cooling_s": round(max(k.cool_until - now, 0.0), 1),
            }
            for n, k in enumerate(self.keys)
        ]
