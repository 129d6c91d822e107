#!/usr/bin/env python3
"""A/B of lip trees on paced streams below saturation: CPU µs per chunk from the proxy's own CPU time.

    sudo unshare -n python3 bench/paced_ab.py 300 3 /tmp/old/src src     # CONNS ROUNDS SRC_DIR...

Each round measures every tree once, in turn (alternated, so a change in the machine's load hits both), with the
paced Chat upstream of S7 at CONNS connections: below the core's saturation every tree completes the same
streams/s, and its CPU % tells its cost per chunk exactly. Each tree runs as ``python -m lip`` from this repo's
virtualenv with ``PYTHONPATH=SRC_DIR`` (a `git archive <commit> src | tar -x -C /tmp/x` of the commit). Run it
inside a network namespace (``unshare -n``; it brings loopback up), as root for the priority.
"""

from __future__ import annotations

import os
import subprocess
import sys

import run
from targets import REPO, Scenario, lip_target


def main(argv: list[str]) -> int:
    conns, rounds, trees = int(argv[0]), int(argv[1]), argv[2:]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    opts = run.parse_args(["--skip-install", "--duration", "8", "--warmup", "2", "--quiet-wait", "1"])
    if opts.nice:
        run.raise_priority(opts.nice)
    cpus = run.cpus_for(opts)
    if opts.pin:
        os.sched_setaffinity(0, {int(cpus.load)})
    nginx, _, _, bodies = run.start_nginx(cpus)
    python = str(REPO / ".venv" / "bin" / "python")
    scenario = Scenario("S7", "paced, below saturation", "chat-sse", "chat-paced", conns)
    try:
        for i in range(rounds):
            for src in trees:
                target = lip_target(["env", f"PYTHONPATH={os.path.abspath(src)}", python, "-m", "lip"])
                call = target.call(scenario, bodies)
                assert call is not None
                row = run.measure_proxy(target, scenario, call, call, opts, cpus, nginx.pid)
                per_chunk = (row.cpu_pct or 0) / 100 * 1e6 / row.rps / 50 if row.rps else 0.0
                print(
                    f"round {i} {src}: {row.status} {row.rps or 0:.1f} streams/s, CPU {row.cpu_pct or 0:.1f} %,"
                    f" {per_chunk:.1f} µs/chunk, p50 {row.p50_ms or 0:.0f} ms, p99 {row.p99_ms or 0:.0f} ms,"
                    f" errors {row.errors}, load {os.getloadavg()[0]:.1f} {row.note}",
                    flush=True,
                )
    finally:
        run.stop(nginx)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
