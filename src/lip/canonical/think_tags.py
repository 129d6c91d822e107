"""Reasoning that a model leaks into its text as ``<think>...</think>``, turned back into reasoning events.

Local runtimes without a reasoning parser (and some hosted models) answer ``<think>thoughts</think>answer`` in plain
content. With the backend's ``think_tags`` on, a ``<think>`` at the start of the answer's text (after whitespace)
opens reasoning and ``</think>`` closes it; the whitespace after the closing tag is dropped. Tags may be split
across chunks: a text tail that could still become a tag is held until the next chunk decides it, and released at
once when anything else (a tool call, the end) arrives. A ``<think>`` anywhere later in the text is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from lip.canonical.events import Event, MessageStart, ReasoningDelta, ReasoningEnd, Repair, TextDelta

OPEN = "<think>"
CLOSE = "</think>"
_NOT_DECIDING = (ReasoningDelta, Repair, MessageStart)  # events that leave a held tag fragment undecided


def _held(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` are a proper prefix of ``tag`` (and so may become it)."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkTags:
    """Canonical events in, the same events out with leaked ``<think>`` text as reasoning."""

    __slots__ = ("_buffer", "_state")

    def __init__(self) -> None:
        self._state = "start"  # start (no text yet) | reasoning | after (just closed) | text
        self._buffer = ""

    def feed(self, events: Iterable[Event]) -> list[Event]:
        if self._state == "text":  # decided: the rest of the answer passes untouched
            return list(events)
        out: list[Event] = []
        for event in events:
            if self._state == "text":
                out.append(event)
            elif type(event) is TextDelta:
                self._text(event.text, out)
            else:
                if not isinstance(event, _NOT_DECIDING):
                    self._release(out)
                out.append(event)
        return out

    def _text(self, text: str, out: list[Event]) -> None:
        text = self._buffer + text
        self._buffer = ""
        if self._state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                self._state, text = "reasoning", stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # nothing but whitespace, or a part of "<think>" so far
                self._buffer = text
                return
            else:
                self._state = "text"
                out.append(TextDelta(text))
                return
        if self._state == "reasoning":
            before, closed, rest = text.partition(CLOSE)
            if not closed:
                keep = _held(text, CLOSE)
                self._buffer = text[len(text) - keep :] if keep else ""
                if len(text) > keep:
                    out.append(ReasoningDelta(text[: len(text) - keep]))
                return
            if before:
                out.append(ReasoningDelta(before))
            out.append(ReasoningEnd())
            self._state, text = "after", rest
        text = text.lstrip()  # "after": the blank lines a model puts between its thoughts and its answer
        if text:
            self._state = "text"
            out.append(TextDelta(text))

    def _release(self, out: list[Event]) -> None:
        """Something other than text arrived: what is held is decided as it stands."""
        if self._state == "reasoning":
            if self._buffer:
                out.append(ReasoningDelta(self._buffer))
            out.append(ReasoningEnd())
        elif self._state == "start" and self._buffer.strip():
            out.append(TextDelta(self._buffer))
        self._state = "text" if self._state != "start" or self._buffer.strip() else "start"
        self._buffer = ""
