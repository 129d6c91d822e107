"""Ids lip mints that only need to be unique, not secret: a random prefix per process and a counter.

No system call per id (``uuid4`` reads the OS's random source each time). Never use these for something a client
could guess to reach another client's data: a stored response's id (``previous_response_id``) stays a uuid4.
"""

from __future__ import annotations

import itertools
import os

_prefix = os.urandom(8).hex()
_counter = itertools.count(1)


def unique_hex() -> str:
    """32 hex digits, unique across the processes of a deployment (64 random bits per process, then a counter)."""
    return f"{_prefix}{next(_counter):016x}"


def _new_process() -> None:
    """A forked process gets its own prefix (spawned workers import afresh and draw their own anyway)."""
    global _prefix
    _prefix = os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_process)
