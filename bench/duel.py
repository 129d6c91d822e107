#!/usr/bin/env python3
"""A/B of two lip trees that share one core at the same time: CPU µs per request from each one's own CPU time.

    sudo unshare -n python3 bench/duel.py 5 S1,S2,S4,S6 /tmp/old/.venv/bin/lip .venv/bin/lip   # ROUNDS SCENARIOS A B
    sudo unshare -n python3 bench/duel.py 3 S1 "env PYTHONPATH=/tmp/x/src .venv/bin/python -m lip" .venv/bin/lip

Sequential runs of the same tree on this VM drift by 20-40 % within minutes (frequency, the host's other tenants),
more than the changes an A/B must resolve. Here both trees run at once, pinned to the proxy core, each under its own
wrk with the scenario's connections, so whatever slows the core slows both; each one's CPU time divided by the
requests it served is its cost per request. Each round starts both fresh and swaps their ports. The ratio B/A per
round and its median are printed. ``--solo`` runs each tree alone in turn instead (A B, then B A): no sharing of
the core, but the drift again (on this VM its rounds spread 0.99-1.37 where the duel's spread 1.00-1.07). Run it
inside a network namespace (``unshare -n``; it brings loopback up), as root for the priority.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import run
from procs import cpu_seconds, start, stop, tree_pids
from targets import LIP_PORT, SCENARIOS, UPSTREAM_PORT, WORK, child_env, lip_model, render
from targets import Target as BenchTarget

PORTS = (LIP_PORT, LIP_PORT + 1)


def lip_at(cmd: str, port: int, name: str) -> BenchTarget:
    config = render("lip.yaml.template", WORK / f"duel-{name}.yaml", PORT=port, UPSTREAM=UPSTREAM_PORT)
    return BenchTarget(name, port, lip_model, lambda _sc: [*shlex.split(cmd), "serve", "--config", str(config)])


def main(argv: list[str]) -> int:
    solo = "--solo" in argv  # each tree alone in turn (A, B, B, A, ...): no sharing of the core's caches
    argv = [a for a in argv if a != "--solo"]
    rounds, wanted, cmds = int(argv[0]), argv[1].split(","), argv[2:4]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    opts = run.parse_args(["--skip-install", "--duration", "10", "--warmup", "2", "--quiet-wait", "1"])
    if opts.nice:
        run.raise_priority(opts.nice)
    cpus = run.cpus_for(opts)
    nginx, _, _, bodies = run.start_nginx(cpus)
    ratios: dict[str, list[float]] = {}
    try:
        for i in range(rounds):
            for sc in (s for s in SCENARIOS if s.id in wanted):
                ports = PORTS if i % 2 == 0 else PORTS[::-1]
                pair = [lip_at(c, p, n) for c, p, n in zip(cmds, ports, "AB", strict=True)]
                if solo:
                    order = pair if i % 2 == 0 else pair[::-1]
                    alone = {t.name: duel(sc, [t], bodies, cpus)[0] for t in order}
                    cost = [alone["A"], alone["B"]]
                else:
                    cost = duel(sc, pair, bodies, cpus)
                ratios.setdefault(sc.id, []).append(cost[1] / cost[0])
                print(
                    f"round {i} {sc.id}: A {cost[0]:.0f} µs/req, B {cost[1]:.0f} µs/req, B/A {cost[1] / cost[0]:.3f},"
                    f" load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        stop(nginx)
    for sid, values in ratios.items():
        print(f"{sid}: B/A median {statistics.median(values):.3f} (rounds {', '.join(f'{v:.3f}' for v in values)})")
    return 0


def duel(sc: run.Scenario, targets: list[BenchTarget], bodies: dict[str, bytes], cpus: run.Cpus) -> list[float]:
    """CPU µs per request of each target, all loaded at once on the proxy core."""
    procs = []
    try:
        for t in targets:
            assert t.command is not None
            log = run.LOGS / f"duel-{t.name}-{sc.id}.log"
            procs.append(start(run.pinned(t.command(sc), cpus.proxy), log, env=child_env({}), cwd=WORK))
        calls = [t.call(sc, bodies) for t in targets]
        for proc, t, call in zip(procs, targets, calls, strict=True):
            assert call is not None
            run.wait_ready(proc, t.port, call, time.monotonic(), 30.0)
        files = [run.body_file(t.name, sc.id, c.body) for t, c in zip(targets, calls, strict=True) if c is not None]

        def load(seconds: float) -> list[dict[str, float]]:
            with ThreadPoolExecutor(len(targets)) as pool:
                jobs = [
                    pool.submit(run.run_wrk, t.port, c, f, sc.connections, seconds, cpus.load, 1, "10s")
                    for t, c, f in zip(targets, calls, files, strict=True)
                    if c is not None
                ]
                return [j.result() for j in jobs]

        load(2.0)
        before = [cpu_seconds(tree_pids(p.pid)) for p in procs]
        results = load(10.0)
        after = [cpu_seconds(tree_pids(p.pid)) for p in procs]
        return [1e6 * (a - b) / max(1.0, w["requests"]) for a, b, w in zip(after, before, results, strict=True)]
    finally:
        for proc in procs:
            stop(proc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
