"""The CPU each request spends on metrics: one process (a registry) against `--workers N` (shared mmap files).

    python bench/metrics_cost.py            # both, each in a fresh process; pin it with taskset for stable figures

One "request" is what a streamed generation request does to the metrics: it enters and leaves the lifecycle (the
in-flight gauge), opens and closes two drain scopes (one relays the stream), and is observed (requests, duration,
time to first byte, tokens in and out, HTTP responses).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from typing import Any

from lip.lifecycle import Lifecycle
from lip.observability import Observability
from lip.runtime import Runtime

ROUNDS = 7
REQUESTS = 100_000


def one_request(life: Lifecycle, runtime: Runtime, counters: list[Any], histograms: list[Any]) -> None:
    entry = life.enter(runtime)
    for stream in (0, 1):
        life.streams += stream
        life.streams -= stream
    for counter in counters:
        counter.inc(1)
    for histogram in histograms:
        histogram.observe(0.012)
    life.leave(entry)


def children(obs: Observability) -> tuple[list[Any], list[Any]]:
    """The series one request writes (lip caches them too): requests, tokens in and out, responses; two histograms."""
    counters = [
        obs.requests.labels("openai_chat", "b", "200"),
        obs.tokens.labels("openai_chat", "b", "in"),
        obs.tokens.labels("openai_chat", "b", "out"),
        obs.responses.labels("/v1/chat/completions", "200"),
    ]
    return counters, [obs.duration.labels("openai_chat"), obs.ttfb.labels("openai_chat", "b")]


def measure(mode: str) -> float:
    """The best of ROUNDS: µs per request."""
    with tempfile.TemporaryDirectory(prefix="lip-metrics-bench-") as directory:
        shared, life = None, Lifecycle({}, None)
        if mode == "shared":
            from lip.shared_metrics import CountedLifecycle, SharedMetrics, use_shared_files

            use_shared_files(directory)
            shared = SharedMetrics(directory, lambda: None)
            life = CountedLifecycle({}, None, shared)
        obs = Observability(life, lambda: None, shared) if shared else Observability(life, lambda: None)
        counters, histograms = children(obs)
        runtime = object.__new__(Runtime)
        best = float("inf")
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(REQUESTS):
                one_request(life, runtime, counters, histograms)
            best = min(best, (time.perf_counter() - started) / REQUESTS * 1e6)
        return best


def main() -> None:
    if len(sys.argv) > 1:
        print(f"{measure(sys.argv[1]):.2f}")
        return
    figures = {}
    for mode in ("single", "shared"):
        run = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True)
        figures[mode] = float(run.stdout)
    print(f"one process:  {figures['single']:.2f} µs per request")
    print(f"--workers N:  {figures['shared']:.2f} µs per request (+{figures['shared'] - figures['single']:.2f})")


if __name__ == "__main__":
    main()
