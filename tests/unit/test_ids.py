"""Ids that only need to be unique: distinct within a process and in a forked one."""

from __future__ import annotations

import multiprocessing

from lip.ids import unique_hex


def _child_id(queue: multiprocessing.Queue[str]) -> None:
    queue.put(unique_hex())


def test_ids_are_unique_in_a_process() -> None:
    ids = [unique_hex() for _ in range(1000)]
    assert len(set(ids)) == 1000 and all(len(i) == 32 for i in ids)


def test_a_forked_process_mints_from_its_own_prefix() -> None:
    ctx = multiprocessing.get_context("fork")  # --workers spawns (a fresh import); a fork copies the prefix
    queue: multiprocessing.Queue[str] = ctx.Queue()
    child = ctx.Process(target=_child_id, args=(queue,))
    child.start()
    theirs = queue.get(timeout=10)
    child.join(timeout=10)
    assert theirs[:16] != unique_hex()[:16]
