"""Process trees from /proc: start, stop, resident memory, CPU time, and a background peak-RSS sampler."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces; everything after the last ")" is space-separated from field 3 on.
    return raw[raw.rindex(")") + 2 :].split()


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants (by scanning /proc for parent ids)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def hwm_bytes(pids: Sequence[int]) -> int:
    """Sum of the kernel's per-process peak RSS (VmHWM); exact for one process, an upper bound for a tree."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime+stime of every live process in the tree, plus what reaped children left in cutime+cstime."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (fields 14-17)
    return ticks / TICKS


def core_jiffies() -> dict[str, tuple[int, int]]:
    """Per CPU ("cpu0", "cpu1", ...; "cpu" is all): (busy, total) jiffies from /proc/stat."""
    out: dict[str, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            break
        name, *vals = line.split()
        nums = [int(v) for v in vals[:8]]
        idle = nums[3] + nums[4]  # idle + iowait; irq and softirq (loopback packet work) count as busy
        out[name] = (sum(nums) - idle, sum(nums))
    return out


def busy_pct(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], cpu: str) -> float:
    """Percent of `cpu` that was busy between two core_jiffies() readings."""
    busy = after[cpu][0] - before[cpu][0]
    total = after[cpu][1] - before[cpu][1]
    return 100.0 * busy / total if total else 0.0


def wait_quiet(limit: float, busy_limit: float = 10.0, window: float = 0.5) -> float:
    """Wait (at most `limit` s) until the whole machine is under `busy_limit` % busy: others' jobs skew figures."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        before = core_jiffies()
        time.sleep(window)
        if busy_pct(before, core_jiffies(), "cpu") < busy_limit:
            break
    return time.monotonic() - t0


def settle(root: int, busy_pct: float = 10.0, window: float = 0.3, limit: float = 60.0) -> float:
    """Wait until the tree uses less than `busy_pct` of a core (e.g. after abandoned warm-up streams drain)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        pids = tree_pids(root)
        before = cpu_seconds(pids)
        time.sleep(window)
        if 100 * (cpu_seconds(pids) - before) / window < busy_pct:
            break
    return time.monotonic() - t0


@dataclass
class Sampler:
    """Samples the summed RSS of a process tree every `interval` seconds in a thread; keeps the peak."""

    root: int
    interval: float = 0.02
    peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        pids = tree_pids(self.root)
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - last_scan > 0.5:  # pick up workers forked after start
                pids, last_scan = tree_pids(self.root), time.monotonic()
            self.peak = max(self.peak, rss_bytes(pids))
            self.samples += 1
            self._stop.wait(self.interval)


def start(
    cmd: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own process group (so the whole tree can be signalled), output to `log`.

    A process group, not a new session: a new session would get its own scheduler autogroup, outside the
    priority the runner set for itself and everything it starts.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            process_group=0,
        )


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(5)
