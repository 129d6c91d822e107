"""The garbage collector of a serving process: a young-generation threshold above what requests in flight hold,
and the objects made at start-up (configuration, codecs, metrics, imported modules) frozen out of every collection.

Why (measured with gc callbacks under the benchmark's streamed load, docs/performance.md): at CPython's default
threshold of 700, the objects that 32 requests in flight hold cross it again and again, so a young collection ran
every ~8 requests, and every tenth of those tenths walked the ~55,000 objects made at start-up (30 ms each). That
was 60-70 µs of collection per request and the 30 ms pauses in the latency tail. Only ``lip serve`` calls this:
a program that embeds ``create_app`` keeps its own collector settings.
"""

from __future__ import annotations

import gc
import logging

GEN0_THRESHOLD = 10_000  # 256 connections in flight: 1,133 collections in 4 s at 700, 37 at 10,000 (GC time ÷ 4)
log = logging.getLogger(__name__)
_tuned = False  # settle and thaw act only in a process that ``tune`` set up (``lip serve``), never in a test run


def tune() -> None:
    """Raise the young generation's threshold (the older generations keep CPython's ratios); then ``settle``."""
    global _tuned
    _tuned = True
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    settle()


def settle() -> None:
    """Collect once, then freeze what survives: collections skip it from now on (start-up, and after a reload)."""
    if not _tuned:
        return
    gc.collect()
    gc.freeze()
    log.debug("%d long-lived objects frozen out of garbage collection", gc.get_freeze_count())


def thaw() -> None:
    """A reload is retiring objects that were frozen: make them collectable again until the next ``settle``."""
    if _tuned:
        gc.unfreeze()


def state() -> dict[str, object]:
    """For diagnostics: the thresholds and how many objects are frozen."""
    return {"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
