"""lip.heap: what ``lip serve`` does to the garbage collector. Each case runs in a fresh interpreter: freezing is
process-wide, and the test run's own collector must stay as it is."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import orjson

PROBE = """
import gc, weakref, orjson
from lip import heap

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a

out = {"before": heap.state()}
early = cycle()
heap.settle()  # not tuned: must do nothing
out["untuned"] = heap.state()
heap.tune()
out["tuned"] = heap.state()
probe = weakref.ref(early)
del early
gc.collect()
out["frozen_cycle_kept"] = probe() is not None  # frozen: no collection looks at it
heap.thaw()
gc.collect()
out["thawed_cycle_collected"] = probe() is None  # what a reload relies on to free the old configuration
out["thawed"] = heap.state()
heap.settle()
out["settled_again"] = heap.state()
print(orjson.dumps(out).decode())
"""


def run_probe() -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(PROBE)], capture_output=True, check=True, timeout=60)
    return orjson.loads(done.stdout)


def test_only_a_tuned_process_is_frozen_and_a_thaw_lets_frozen_garbage_go() -> None:
    out = run_probe()
    assert out["before"] == {"threshold": [700, 10, 10], "frozen": 0}
    assert out["untuned"]["frozen"] == 0
    assert out["tuned"]["threshold"] == [10_000, 10, 10]
    assert out["tuned"]["frozen"] > 1000  # the interpreter, lip and its dependencies
    assert out["frozen_cycle_kept"] is True
    assert out["thawed_cycle_collected"] is True
    assert out["thawed"]["frozen"] == 0
    assert out["settled_again"]["frozen"] > 1000
