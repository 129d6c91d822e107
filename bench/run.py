#!/usr/bin/env python3
"""Side-by-side benchmark: the upstream alone, lip, and LiteLLM, measured in one run.

    python3 bench/run.py            # install what is missing, run every scenario, print the table, write JSON
    python3 bench/run.py --quick    # shorter warm-up and measurement (about 6-7 minutes; the full run about 10)

See bench/README.md. Standard library only, so it runs with any Python >= 3.11.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import fixtures
from checks import Reply, post, verify
from procs import (
    MB,
    Sampler,
    busy_pct,
    core_jiffies,
    cpu_seconds,
    hwm_bytes,
    rss_bytes,
    settle,
    start,
    stop,
    tree_pids,
    wait_quiet,
)
from targets import (
    BENCH,
    LITELLM_VERSION,
    REPO,
    SCENARIOS,
    UPSTREAM_PORT,
    WORK,
    Call,
    Scenario,
    Target,
    bare_target,
    child_env,
    lip_target,
    litellm_target,
    render,
    upstream_target,
)

RESULTS = BENCH / "results"
LOGS = WORK / "logs"
LITELLM_VENV = WORK / "litellm-venv"
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")  # Debian's libnginx-mod-http-echo
INTERFERENCE_PCT = 10.0


# ---------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    litellm_duration: float
    litellm_s3_duration: float
    timeout: str
    idle_wait: float
    quiet_wait: float
    retries: int
    nice: int
    render: str | None
    targets: list[str]
    scenarios: list[str]
    lip_cmd: list[str]
    install: bool
    netns: bool
    pin: bool


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="warm-up 1 s, measure 5 s (default: 3 s and 10 s)")
    p.add_argument("--duration", type=float, help="seconds of measurement per scenario and target")
    p.add_argument("--warmup", type=float, help="seconds of warm-up load before each measurement")
    p.add_argument("--litellm-duration", type=float, help="measurement seconds for LiteLLM (default: --duration)")
    p.add_argument("--litellm-s3-duration", type=float, help="LiteLLM's S3 measurement (default 60 s, --quick 40 s)")
    p.add_argument("--timeout", default="120s", help="wrk per-request timeout (LiteLLM at 256 connections is slow)")
    p.add_argument("--idle-wait", type=float, help="seconds after start-up before idle memory is read")
    p.add_argument("--quiet-wait", type=float, default=5.0, help="wait up to this long for a quiet machine first")
    p.add_argument("--retries", type=int, default=1, help="re-measure a row disturbed by other processes (default 1)")
    p.add_argument("--nice", type=int, help="priority for the run and its targets (default -10 as root, else 0)")
    p.add_argument("--targets", default="upstream,bare,lip,litellm", help="comma list of upstream, bare, lip, litellm")
    p.add_argument("--scenarios", default=",".join(s.id for s in SCENARIOS), help="comma list, e.g. S0,S2,W1,W2")
    p.add_argument("--lip-cmd", default="", help="command that runs lip (default: the repo's .venv/bin/lip)")
    p.add_argument("--render", metavar="JSON", help="only print the table of a saved run (bench/results/*.json)")
    p.add_argument("--skip-install", action="store_true", help="do not apt-get/pip anything")
    p.add_argument(
        "--no-netns", action="store_true", help="do not isolate the run in a loopback-only network namespace"
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset (for machines with one core)")
    a = p.parse_args(argv)
    duration = a.duration or (5.0 if a.quick else 10.0)
    return Options(
        duration=duration,
        warmup=a.warmup if a.warmup is not None else (1.0 if a.quick else 3.0),
        litellm_duration=a.litellm_duration or duration,
        litellm_s3_duration=a.litellm_s3_duration or (40.0 if a.quick else 60.0),
        timeout=a.timeout,
        idle_wait=a.idle_wait if a.idle_wait is not None else (1.0 if a.quick else 2.0),
        quiet_wait=a.quiet_wait,
        retries=a.retries,
        nice=a.nice if a.nice is not None else (-10 if os.geteuid() == 0 else 0),
        render=a.render,
        targets=[t.strip().lower() for t in a.targets.split(",") if t.strip()],
        scenarios=[s.strip().upper() for s in a.scenarios.split(",") if s.strip()],
        lip_cmd=shlex.split(a.lip_cmd) if a.lip_cmd else default_lip_cmd(),
        install=not a.skip_install,
        netns=not a.no_netns,
        pin=not a.no_pin and (os.cpu_count() or 1) >= 2,
    )


def default_lip_cmd() -> list[str]:
    for cand in (REPO / ".venv" / "bin" / "lip", WORK / "lip-venv" / "bin" / "lip"):
        if cand.exists():
            return [str(cand)]
    return [str(REPO / ".venv" / "bin" / "lip")]


# ---------------------------------------------------------------- installation


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_quiet(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=timeout)


def nginx_bin() -> str | None:
    for cand in NGINX_CANDIDATES:
        found = shutil.which(cand)
        if found:
            return found
    return None


def ensure_debian_tools() -> None:
    if nginx_bin() and shutil.which("wrk") and ECHO_MODULE.exists():
        return
    log("installing nginx, its echo module (the paced upstream) and wrk from Debian (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx", "libnginx-mod-http-echo", "wrk"], check=True, env=env)


def litellm_installed_version() -> str | None:
    py = LITELLM_VENV / "bin" / "python"
    if not py.exists():
        return None
    out = run_quiet([str(py), "-c", "import importlib.metadata as m; print(m.version('litellm'))"])
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_litellm() -> None:
    if litellm_installed_version() == LITELLM_VERSION and (LITELLM_VENV / "bin" / "litellm").exists():
        return
    log(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV}")
    if not (LITELLM_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
    pip = [str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"litellm[proxy]=={LITELLM_VERSION}"], check=True)


def ensure_lip(opts: Options) -> None:
    if Path(opts.lip_cmd[0]).exists() or shutil.which(opts.lip_cmd[0]):
        return
    venv = WORK / "lip-venv"
    log(f"no lip at {opts.lip_cmd[0]}; installing the repo editable into {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "-e", str(REPO)], check=True)
    opts.lip_cmd[:] = [str(venv / "bin" / "lip")]


def install(opts: Options) -> None:
    ensure_debian_tools()
    if "litellm" in opts.targets:
        ensure_litellm()
    if "lip" in opts.targets:
        ensure_lip(opts)


def enter_offline_netns(argv: list[str]) -> bool:
    """Re-exec inside a fresh network namespace that has only loopback, so nothing can leave the machine.

    Returns True when already inside it (after bringing loopback up); False when namespaces are unavailable.
    """
    if os.environ.get("BENCH_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return True
    if not shutil.which("unshare") or run_quiet(["unshare", "-n", "true"]).returncode != 0:
        log("cannot create a network namespace; running in the host namespace (offline by configuration only)")
        return False
    os.environ["BENCH_NETNS"] = "1"
    sys.stdout.flush()
    os.execvp(
        "unshare", ["unshare", "-n", "--", sys.executable, str(Path(__file__).resolve()), *argv, "--skip-install"]
    )
    return True  # not reached


def raise_priority(nice: int) -> None:
    """Run (and let every target and wrk inherit) a higher priority than other jobs sharing the machine."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        autogroup = Path("/proc/self/autogroup")  # with sched_autogroup, nice counts only inside the session
        if autogroup.exists():
            autogroup.write_text(str(nice))
    except PermissionError:
        log(f"cannot set priority {nice} (not root); other jobs on the machine may disturb the figures")


# ---------------------------------------------------------------- measurement


@dataclass
class Row:
    scenario: str
    target: str
    status: str = "ok"  # ok | n/a | unsupported | pending | failed
    note: str = ""
    connections: int = 0
    requests: int = 0
    errors: int = 0
    rps: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    peak_rss_mb: float | None = None
    hwm_mb: float | None = None
    cpu_pct: float | None = None
    start_s: float | None = None
    idle_rss_mb: float | None = None
    x_upstream: float | None = None
    x_litellm: float | None = None
    x_bare: float | None = None  # lip req/s / the bare aiohttp relay's (the stack's ceiling on this machine)
    x_ideal: float | None = None  # paced: streams/s / (connections / the paced stream's length)
    cpu_us_per_chunk: float | None = None  # paced: CPU µs/req / the stream's 50 chunks
    kb_per_stream: float | None = None  # paced: (peak RSS - idle RSS) / connections
    added_p50_ms: float | None = None
    added_p99_ms: float | None = None
    settle_s: float | None = None
    quiet_wait_s: float | None = None
    core_busy_pct: dict[str, float] = field(default_factory=dict)
    foreign_pct: dict[str, float] = field(default_factory=dict)
    attempts: int = 1
    duration_s: float | None = None
    wrk: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Cpus:
    load: str  # wrk and nginx
    proxy: str
    all: str


def cpus_for(opts: Options) -> Cpus:
    n = os.cpu_count() or 1
    every = f"0-{n - 1}"
    return Cpus("0", "1", every) if opts.pin else Cpus(every, every, every)


def pinned(cmd: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *cmd]


def body_file(target: str, scenario: str, body: bytes) -> Path:
    path = WORK / "bodies" / f"{target}-{scenario}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def run_wrk(
    port: int,
    call: Call,
    body: Path,
    connections: int,
    seconds: float,
    cpus: str,
    threads: int,
    timeout: str,
    stagger_ms: float = 0.0,
) -> dict[str, float]:
    """``stagger_ms``: each connection's first request waits a random 0..stagger_ms (paced streams, so that their
    chunks do not all arrive in the same millisecond)."""
    headers = "|".join(f"{k}: {v}" for k, v in call.headers.items())
    env = {**os.environ, "BENCH_PATH": call.path, "BENCH_BODY_FILE": str(body), "BENCH_HEADERS": headers}
    if stagger_ms:
        env |= {"BENCH_STAGGER_MS": str(stagger_ms), "BENCH_CONNECTIONS": str(-(-connections // threads))}
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        timeout,
        "-s",
        str(BENCH / "wrk" / "post.lua"),
        f"http://127.0.0.1:{port}",
    ]
    out = run_quiet(pinned(cmd, cpus), env=env, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return {k: float(v) for k, v in json.loads(line[len("BENCH_JSON ") :]).items()}
    raise RuntimeError(f"wrk printed no summary: {out.stdout[-500:]} {out.stderr[-500:]}")


def wait_ready(proc: subprocess.Popen[bytes], port: int, call: Call, t0: float, limit: float) -> tuple[float, Reply]:
    """Seconds from exec to the first 200 on a served request; 4xx ends the wait (it is not 'still starting')."""
    last = "no answer"
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before serving ({last})")
        try:
            reply = post(port, call.path, call.body, call.headers, timeout=max(5.0, limit))
        except OSError as exc:
            last = f"{type(exc).__name__}"
            time.sleep(0.01)
            continue
        if reply.status == 200:
            return time.monotonic() - t0, reply
        last = f"HTTP {reply.status}: {reply.body[:200]!r}"
        if 400 <= reply.status < 500:
            raise RuntimeError(f"not served: {last}")
        time.sleep(0.05)
    raise RuntimeError(f"not healthy within {limit:.0f} s ({last})")


def fill_from_wrk(row: Row, w: dict[str, float]) -> None:
    row.wrk = w
    row.requests = int(w["requests"])
    row.errors = int(w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["status_errors"] + w["timeouts"])
    row.rps = w["requests"] / (w["duration_us"] / 1e6) if w["duration_us"] else 0.0
    if row.requests:
        row.p50_ms, row.p90_ms = w["p50_us"] / 1000, w["p90_us"] / 1000
        row.p99_ms, row.max_ms = w["p99_us"] / 1000, w["max_us"] / 1000


def load_and_sample(
    row: Row,
    root: int,
    nginx: int,
    port: int,
    call: Call,
    body: Path,
    sc: Scenario,
    opts: Options,
    seconds: float,
    cpus: Cpus,
) -> None:
    """Warm up, then measure with wrk while sampling the target's process tree and accounting every core's time."""
    wrk_cpus = cpus.all if sc.workers else cpus.load
    threads = 2 if sc.workers and opts.pin else 1
    stagger = fixtures.PACE_S * 1000 if sc.paced else 0.0
    with Sampler(root) as sampler:
        if opts.warmup > 0:
            run_wrk(port, call, body, sc.connections, opts.warmup, wrk_cpus, threads, opts.timeout, stagger)
            row.settle_s = settle(root)
        pids, ngx = tree_pids(root), tree_pids(nginx)
        before = (cpu_seconds(pids), cpu_seconds(ngx), own_cpu(), time.monotonic(), core_jiffies())
        w = run_wrk(port, call, body, sc.connections, seconds, wrk_cpus, threads, opts.timeout, stagger)
        pids, ngx = sorted(set(pids) | set(tree_pids(root))), sorted(set(ngx) | set(tree_pids(nginx)))
        after = (cpu_seconds(pids), cpu_seconds(ngx), own_cpu(), time.monotonic(), core_jiffies())
    fill_from_wrk(row, w)
    row.duration_s = w["duration_us"] / 1e6
    row.peak_rss_mb = sampler.peak / MB
    row.hwm_mb = hwm_bytes(tree_pids(root)) / MB
    wall = after[3] - before[3]
    row.cpu_pct = 100 * (after[0] - before[0]) / wall
    ours_on_load_core = 100 * (after[2] - before[2]) / wall  # wrk, the runner and its sampler
    if root != nginx:
        ours_on_load_core += 100 * (after[1] - before[1]) / wall
    else:
        ours_on_load_core += row.cpu_pct
    row.core_busy_pct = {name: round(busy_pct(before[4], after[4], name), 1) for name in after[4]}
    if opts.pin and not sc.workers:
        row.foreign_pct = {
            "load_core": round(row.core_busy_pct.get(f"cpu{cpus.load}", 0.0) - ours_on_load_core, 1),
            "proxy_core": round(
                row.core_busy_pct.get(f"cpu{cpus.proxy}", 0.0) - (0 if root == nginx else row.cpu_pct), 1
            ),
            "load_core_busy": row.core_busy_pct.get(f"cpu{cpus.load}", 0.0),
        }
        row.note = noise_note(row)
    elif sc.workers:  # unpinned: count what the whole machine did besides the proxy, nginx, wrk and the runner
        machine = row.core_busy_pct.get("cpu", 0.0) * (os.cpu_count() or 1)
        ours = row.cpu_pct + ours_on_load_core
        row.foreign_pct = {"machine": round(machine - ours, 1)}
        if machine - ours > INTERFERENCE_PCT:
            row.note = f"noisy: other processes used ~{machine - ours:.0f}% of a core"


def own_cpu() -> float:
    """CPU seconds of this runner (all threads) plus its reaped children (wrk)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def noise_note(row: Row) -> str:
    """Say when processes outside the benchmark used a core the measurement depends on."""
    load, proxy = row.foreign_pct.get("load_core", 0.0), row.foreign_pct.get("proxy_core", 0.0)
    if row.target != "upstream" and proxy > INTERFERENCE_PCT:
        return f"noisy: other processes used ~{proxy:.0f}% of the proxy's core"
    # The load generator's core matters for the upstream alone (nginx and wrk saturate it). Behind a proxy it
    # idles for most of the run, others' jobs fill that idle time, and at the run's priority they do not
    # delay wrk or nginx: not noise.
    if row.target == "upstream" and load > INTERFERENCE_PCT:
        return f"noisy: other processes used ~{load:.0f}% of the load generator's core"
    return ""


def is_noisy(row: Row) -> bool:
    return row.note.startswith("noisy")


def litellm_seconds(sc: Scenario, opts: Options) -> float:
    """LiteLLM streams 256 requests as one slow wave; S3 must last long enough for that wave to finish."""
    return max(opts.litellm_duration, opts.litellm_s3_duration) if sc.id == "S3" else opts.litellm_duration


def measure_proxy(target: Target, sc: Scenario, call: Call, ready: Call, opts: Options, cpus: Cpus, nginx: int) -> Row:
    row = Row(sc.id, target.name, connections=sc.connections)
    assert target.command is not None
    cmd = pinned(target.command(sc), cpus.all if sc.workers else cpus.proxy)
    logfile = LOGS / f"{target.name.lower()}-{sc.id}.log"
    logfile.unlink(missing_ok=True)
    row.quiet_wait_s = wait_quiet(opts.quiet_wait)
    t0 = time.monotonic()
    proc = start(cmd, logfile, env=child_env(target.env), cwd=WORK)
    try:
        row.start_s, _ = wait_ready(proc, target.port, ready, t0, target.ready_timeout)
        time.sleep(opts.idle_wait)
        row.idle_rss_mb = rss_bytes(tree_pids(proc.pid)) / MB
        reply = post(target.port, call.path, call.body, call.headers)
        if reply.status == 404 and b"nginx" not in reply.body:  # the proxy itself does not serve this endpoint
            row.status = "pending" if target.name == "lip" else "n/a"
            row.note = f"{target.name} answers 404 on {call.path}: endpoint not served"
            return row
        problem = verify(reply, call.check, call.exact)
        if problem:
            row.status, row.note = "failed", f"check: {problem}"
            return row
        seconds = litellm_seconds(sc, opts) if target.name == "LiteLLM" else opts.duration
        load_and_sample(
            row, proc.pid, nginx, target.port, call, body_file(target.name, sc.id, call.body), sc, opts, seconds, cpus
        )
        if proc.poll() is not None:
            row.status, row.note = "failed", f"exited with code {proc.returncode} under load"
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        row.status, row.note = "failed", str(exc)[:300]
    finally:
        stop(proc)
    if row.status == "failed":
        row.note += f" (log: {logfile.relative_to(BENCH)})"
    return row


def measure_upstream(nginx: subprocess.Popen[bytes], sc: Scenario, call: Call, opts: Options, cpus: Cpus) -> Row:
    row = Row(sc.id, "upstream", connections=sc.connections)
    row.quiet_wait_s = wait_quiet(opts.quiet_wait)
    problem = verify(post(UPSTREAM_PORT, call.path, call.body, call.headers), call.check, call.exact)
    if problem:
        row.status, row.note = "failed", f"check: {problem}"
        return row
    load_and_sample(
        row,
        nginx.pid,
        nginx.pid,
        UPSTREAM_PORT,
        call,
        body_file("upstream", sc.id, call.body),
        sc,
        opts,
        opts.duration,
        cpus,
    )
    return row


def start_nginx(cpus: Cpus) -> tuple[subprocess.Popen[bytes], float, float, dict[str, bytes]]:
    """Generate bodies and config, start nginx pinned with the load generator; return it, start-up s, idle MB."""
    www = WORK / "www"
    bodies = fixtures.write_upstream_files(www, paced=ECHO_MODULE.exists())
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (WORK / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    modules = f"load_module {ECHO_MODULE};" if ECHO_MODULE.exists() else "# no echo module: no paced upstream"
    conf = render(
        "nginx.conf.template", WORK / "nginx.conf", WORK=str(WORK), WWW=str(www), PORT=UPSTREAM_PORT, MODULES=modules
    )
    nginx = nginx_bin()
    if nginx is None:
        raise SystemExit("nginx is not installed (run without --skip-install)")
    ready = Call("/json/v1/chat/completions", fixtures.chat_request(fixtures.MODEL, False), {}, "exact")
    t0 = time.monotonic()
    proc = start(pinned([nginx, "-c", str(conf), "-p", str(WORK)], cpus.load), LOGS / "nginx.log")
    start_s, _ = wait_ready(proc, UPSTREAM_PORT, ready, t0, 10.0)
    time.sleep(0.3)
    return proc, start_s, rss_bytes(tree_pids(proc.pid)) / MB, bodies


# ---------------------------------------------------------------- targets and support


def lip_status(opts: Options) -> tuple[str | None, bool]:
    """(None if `lip serve` exists else why not, whether it takes --workers)."""
    try:
        out = run_quiet([*opts.lip_cmd, "serve", "--help"], timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"lip not runnable: {exc}", False
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["?"]
        return f"`lip serve` not available yet: {tail[0][:160]}", False
    return None, "--workers" in out.stdout


def build_targets(opts: Options) -> tuple[list[Target], dict[str, str], bool]:
    targets: list[Target] = []
    pending: dict[str, str] = {}
    workers_ok = False
    for name in opts.targets:
        if name == "upstream":
            targets.append(upstream_target())
        elif name == "lip":
            why, workers_ok = lip_status(opts)
            targets.append(lip_target(opts.lip_cmd))
            if why:
                pending["lip"] = why
        elif name == "bare":
            targets.append(bare_target(str(Path(opts.lip_cmd[0]).parent / "python")))
        elif name == "litellm":
            targets.append(litellm_target(LITELLM_VENV))
        else:
            raise SystemExit(f"unknown target {name!r}")
    return targets, pending, workers_ok


def skip_row(sc: Scenario, target: Target, status: str, note: str) -> Row:
    return Row(sc.id, target.name, status=status, note=note, connections=sc.connections)


def run_matrix(opts: Options, cpus: Cpus, nginx: subprocess.Popen[bytes], bodies: dict[str, bytes]) -> list[Row]:
    targets, pending, workers_ok = build_targets(opts)
    rows: list[Row] = []
    s2 = next(s for s in SCENARIOS if s.id == "S2")
    for sc in (s for s in SCENARIOS if s.id in opts.scenarios):
        for target in targets:
            call = target.call(sc, bodies)
            if call is None:
                continue
            if target.name in pending:
                rows.append(skip_row(sc, target, "pending", pending[target.name]))
                continue
            if sc.workers and not workers_ok:
                rows.append(skip_row(sc, target, "unsupported", "`lip serve --help` lists no --workers"))
                continue
            ready = target.call(s2, bodies)
            rows.append(measure_with_retries(target, sc, call, ready, opts, cpus, nginx))
    return rows


def measure_with_retries(
    target: Target,
    sc: Scenario,
    call: Call,
    ready: Call | None,
    opts: Options,
    cpus: Cpus,
    nginx: subprocess.Popen[bytes],
) -> Row:
    """Measure; while others' processes disturbed it, measure again (up to --retries); keep the quietest."""
    best: Row | None = None
    for attempt in range(1, opts.retries + 2):
        log(f"{sc.id} {target.name}: {sc.title}" + (f" (attempt {attempt})" if attempt > 1 else ""))
        if target.command is None:
            row = measure_upstream(nginx, sc, call, opts, cpus)
        else:
            assert ready is not None
            row = measure_proxy(target, sc, call, ready, opts, cpus, nginx.pid)
        row.attempts = attempt
        log(
            f"   -> {row.status} {fmt(row.rps, 0)} rps p50 {fmt(row.p50_ms, 2)} ms p99 {fmt(row.p99_ms, 2)} ms"
            f" errors {row.errors} {row.note}"
        )
        if best is None or noise(row) < noise(best):
            best = row
        if not is_noisy(row):
            break
    assert best is not None
    return best


def noise(row: Row) -> float:
    return max(row.foreign_pct.values(), default=0.0) if is_noisy(row) else 0.0


# ---------------------------------------------------------------- ratios, table, JSON


def find(rows: list[Row], scenario: str, target: str) -> Row | None:
    for r in rows:
        if r.scenario == scenario and r.target == target and r.status == "ok":
            return r
    return None


def add_ratios(rows: list[Row]) -> None:
    for r in rows:
        if r.status != "ok" or r.rps is None:
            continue
        base = find(rows, "S2" if r.scenario.startswith("W") else r.scenario, "upstream")
        lite = find(rows, r.scenario, "LiteLLM")
        bare = find(rows, r.scenario, "bare")
        if base and base.rps and r.target != "upstream":
            r.x_upstream = r.rps / base.rps
            if r.p50_ms is not None and base.p50_ms is not None and r.p99_ms is not None and base.p99_ms is not None:
                r.added_p50_ms, r.added_p99_ms = r.p50_ms - base.p50_ms, r.p99_ms - base.p99_ms
        if lite and lite.rps and r.target == "lip":
            r.x_litellm = r.rps / lite.rps
        if bare and bare.rps and r.target == "lip":
            r.x_bare = r.rps / bare.rps
        if r.scenario.startswith(("S7", "S8")):
            paced_figures(r)
    w1 = find(rows, "W1", "lip")
    w2 = find(rows, "W2", "lip")
    if w1 and w2 and w1.rps and w2.rps:
        w2.note = "; ".join(x for x in (f"{w2.rps / w1.rps:.2f}x of --workers 1", w2.note) if x)


def paced_figures(r: Row) -> None:
    """Per chunk and per open stream: what a gateway holding thousands of paced streams spends."""
    assert r.rps is not None
    r.x_ideal = r.rps / (r.connections / fixtures.PACED_STREAM_S)
    per_request = cpu_us_per_request(r)
    if per_request is not None:
        r.cpu_us_per_chunk = per_request / fixtures.CHUNKS
    if r.peak_rss_mb is not None and r.idle_rss_mb is not None and r.connections:
        r.kb_per_stream = (r.peak_rss_mb - r.idle_rss_mb) * 1024 / r.connections


def fmt_ratio(v: float | None) -> str:
    """Two significant digits below 0.1 (LiteLLM is ~0.0005x the upstream alone), else two decimals."""
    if v is None:
        return "-"
    return f"{v:.2g}x" if v < 0.1 else f"{v:,.2f}x"


def fmt(v: float | None, digits: int, suffix: str = "") -> str:
    return "-" if v is None else f"{v:,.{digits}f}{suffix}"


COLUMNS = [
    "scen",
    "target",
    "conns",
    "req/s",
    "p50 ms",
    "p99 ms",
    "+p50 ms",
    "+p99 ms",
    "errors",
    "peak MB",
    "CPU %",
    "CPU µs/req",
    "x upstream",
    "x LiteLLM",
    "x bare",
    "start s",
    "idle MB",
]


def cpu_us_per_request(r: Row) -> float | None:
    """The target's CPU time per request: steadier than req/s on a VM whose host is shared (a slower core shows in
    both, but a queue that stalls shows only in req/s)."""
    if r.cpu_pct is None or not r.rps:
        return None
    return r.cpu_pct / 100 * 1e6 / r.rps


def cells(r: Row) -> list[str]:
    if r.status != "ok":
        label = r.status.upper() if r.status == "failed" else r.status
        return [r.scenario, r.target, str(r.connections), label, *["-"] * 11, fmt(r.start_s, 2), fmt(r.idle_rss_mb, 0)]
    return [
        r.scenario,
        r.target,
        str(r.connections),
        fmt(r.rps, 0),
        fmt(r.p50_ms, 2),
        fmt(r.p99_ms, 2),
        fmt(r.added_p50_ms, 2),
        fmt(r.added_p99_ms, 2),
        str(r.errors),
        fmt(r.peak_rss_mb, 0),
        fmt(r.cpu_pct, 0),
        fmt(cpu_us_per_request(r), 0),
        fmt_ratio(r.x_upstream),
        fmt(r.x_litellm, 1, "x"),
        fmt_ratio(r.x_bare),
        fmt(r.start_s, 2),
        fmt(r.idle_rss_mb, 0),
    ]


def startup_rows(rows: list[Row], nginx_start: float, nginx_idle: float) -> list[list[str]]:
    """One 'start-up' line per target: the median start-up time and idle RSS over its fresh starts."""
    out = [["start", "upstream", "", *["-"] * 12, fmt(nginx_start, 2), fmt(nginx_idle, 0)]]
    for name in ("bare", "lip", "LiteLLM"):
        starts = sorted(r.start_s for r in rows if r.target == name and r.start_s is not None and r.scenario[0] != "W")
        idles = sorted(
            r.idle_rss_mb for r in rows if r.target == name and r.idle_rss_mb is not None and r.scenario[0] != "W"
        )
        if starts:
            out.append(
                ["start", name, "", *["-"] * 12, fmt(starts[len(starts) // 2], 2), fmt(idles[len(idles) // 2], 0)]
            )
    return out


PACED_COLUMNS = [
    "scen",
    "target",
    "conns",
    "streams/s",
    "x ideal",
    "p50 ms",
    "p99 ms",
    "+p50 ms",
    "+p99 ms",
    "errors",
    "CPU %",
    "CPU µs/chunk",
    "peak MB",
    "KB/stream",
    "x upstream",
    "x bare",
]


def is_paced(r: Row) -> bool:
    return r.scenario.startswith(("S7", "S8"))


def paced_cells(r: Row) -> list[str]:
    if r.status != "ok":
        label = r.status.upper() if r.status == "failed" else r.status
        return [r.scenario, r.target, str(r.connections), label, *["-"] * (len(PACED_COLUMNS) - 4)]
    return [
        r.scenario,
        r.target,
        str(r.connections),
        fmt(r.rps, 0),
        fmt(r.x_ideal, 2, "x"),
        fmt(r.p50_ms, 1),
        fmt(r.p99_ms, 1),
        fmt(r.added_p50_ms, 1),
        fmt(r.added_p99_ms, 1),
        str(r.errors),
        fmt(r.cpu_pct, 0),
        fmt(r.cpu_us_per_chunk, 1),
        fmt(r.peak_rss_mb, 0),
        fmt(r.kb_per_stream, 1),
        fmt_ratio(r.x_upstream),
        fmt_ratio(r.x_bare),
    ]


def tables(rows: list[Row], nginx_start: float, nginx_idle: float, markdown: bool) -> str:
    """The one-write table (with the start-up rows) and, when the run had any, the paced-stream table."""
    lines = [cells(r) for r in rows if not is_paced(r)] + startup_rows(rows, nginx_start, nginx_idle)
    out = table(COLUMNS, lines, markdown)
    paced = [paced_cells(r) for r in rows if is_paced(r)]
    if paced:
        out += f"\npaced streams ({fixtures.CHUNKS} chunks, one every {fixtures.PACE_S * 1000:g} ms):\n\n"
        out += table(PACED_COLUMNS, paced, markdown)
    return out


def table(columns: list[str], lines: list[list[str]], markdown: bool) -> str:
    if markdown:
        head = "| " + " | ".join(columns) + " |\n|" + "|".join("---" for _ in columns) + "|\n"
        return head + "".join("| " + " | ".join(c) + " |\n" for c in lines)
    widths = [max(len(c[i]) for c in [columns, *lines]) for i in range(len(columns))]
    fmt_line = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt_line.format(*c) for c in [columns, *lines]) + "\n"


def notes(rows: list[Row]) -> str:
    return "".join(f"  {r.scenario} {r.target}: {r.status} — {r.note}\n" for r in rows if r.note)


def version_of(cmd: list[str]) -> str:
    try:
        out = run_quiet(cmd, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


def lip_commit() -> str:
    return version_of(["git", "-C", str(REPO), "log", "-1", "--format=%h %cI"])


def environment(opts: Options, netns: bool) -> dict[str, object]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    lip_py = Path(opts.lip_cmd[0]).parent / "python"
    lip_version = version_of([str(lip_py), "-c", "import lip; print(lip.__version__)"]) if lip_py.exists() else "?"
    commit = lip_commit()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "kernel": platform.release(),
            "os": version_of(["cat", "/etc/debian_version"]),
        },
        "versions": {
            "nginx": version_of([nginx_bin() or "nginx", "-v"]),
            "wrk": version_of(["wrk", "-v"]).split(" Copyright")[0],
            "litellm": litellm_installed_version(),
            "lip": lip_version,
            "lip_commit": commit,
            "python_lip": version_of([str(lip_py), "--version"]) if lip_py.exists() else "?",
            "python_litellm": version_of([str(LITELLM_VENV / "bin" / "python"), "--version"]),
        },
        "settings": {
            "duration_s": opts.duration,
            "litellm_duration_s": opts.litellm_duration,
            "warmup_s": opts.warmup,
            "wrk_timeout": opts.timeout,
            "idle_wait_s": opts.idle_wait,
            "quiet_wait_s": opts.quiet_wait,
            "retries": opts.retries,
            "nice": opts.nice,
            "pinned": opts.pin,
            "load_and_upstream_cpu": cpus_for(opts).load,
            "proxy_cpu": cpus_for(opts).proxy,
            "offline_netns": netns,
        },
    }


def write_results(meta: dict[str, object], rows: list[Row], text: str, md: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data = {**meta, "rows": [asdict(r) for r in rows]}
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{stamp}.txt").write_text(text)
    (RESULTS / f"{stamp}.md").write_text(md)
    return path


# ---------------------------------------------------------------- main


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM/SIGINT end the run through the normal cleanup (every target's process group is stopped)."""
    raise KeyboardInterrupt(f"signal {signum}")


def render_saved(path: Path) -> int:
    """Print a saved run's table (plain and Markdown) again, without measuring."""
    data = json.loads(path.read_text())
    rows = [Row(**r) for r in data["rows"]]
    start_s, idle_mb = data["upstream_startup_s"], data["upstream_idle_rss_mb"]
    print(f"{data['date']}  {data['machine']}  {data['versions']}\n")
    print(tables(rows, start_s, idle_mb, markdown=False) + ("\nnotes:\n" + notes(rows) if notes(rows) else ""))
    print(tables(rows, start_s, idle_mb, markdown=True), end="")
    return 0


def main(argv: list[str]) -> int:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupt)
    opts = parse_args(argv)
    if opts.render:
        return render_saved(Path(opts.render))
    WORK.mkdir(parents=True, exist_ok=True)
    if opts.install:
        install(opts)
    netns = enter_offline_netns(argv) if opts.netns else False
    cpus = cpus_for(opts)
    if opts.pin:
        os.sched_setaffinity(0, {int(cpus.load)})  # the runner and its sampler stay off the proxy's core
    if opts.nice:
        raise_priority(opts.nice)
    meta = environment(opts, netns)
    meta["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
    commit_start = lip_commit()
    log(
        f"nginx on cpu {cpus.load}, proxies on cpu {cpus.proxy}; {opts.warmup:g} s warm-up, {opts.duration:g} s"
        f" measure ({opts.litellm_duration:g} s for LiteLLM); offline netns: {netns}"
    )
    nginx, nginx_start, nginx_idle, bodies = start_nginx(cpus)
    try:
        rows = run_matrix(opts, cpus, nginx, bodies)
    finally:
        stop(nginx)
    add_ratios(rows)
    text = tables(rows, nginx_start, nginx_idle, markdown=False) + ("\nnotes:\n" + notes(rows) if notes(rows) else "")
    md = tables(rows, nginx_start, nginx_idle, markdown=True)
    meta["upstream_startup_s"], meta["upstream_idle_rss_mb"] = nginx_start, nginx_idle
    meta["load_average_end"] = [round(x, 2) for x in os.getloadavg()]  # the machine's, other jobs included
    loads = meta["load_average_start"], meta["load_average_end"]
    text += f"\nload average (1, 5, 15 min): {loads[0]} at the start, {loads[1]} at the end\n"
    commit_now = lip_commit()
    if commit_now != commit_start:
        log(f"the repo moved during the run: {commit_start} -> {commit_now}")
        meta["lip_commit_at_end"] = commit_now
        text += f"\nwarning: the repo's HEAD moved during the run (now {commit_now}); lip rows may mix versions\n"
    path = write_results(meta, rows, text, md)
    print()
    print(text, end="")
    print(f"\nraw results: {path.relative_to(REPO)} (and bench/results/latest.json)")
    return 0 if all(r.status in ("ok", "n/a", "unsupported", "pending") for r in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt as exc:
        log(f"interrupted ({exc or 'SIGINT'}); every target was stopped")
        sys.exit(130)
