"""A writer process that dies right after committing a batch, before replying.

Run by the writer tests (``WorkerProcess.MODULE``) to open the one window a
SIGKILL from outside can rarely hit on cue: the transaction is on disk and the
bot has not heard so. It dies after a batch with an answer in it, or with
``DIE_AFTER=finish`` in its environment after a batch that finishes a run;
with ``DIE_ONCE`` naming a file, only the first worker to create it dies.
"""

from __future__ import annotations

import os
import sqlite3

from bot.store import write_worker
from bot.store.ops import FinishRun, Op

commit = write_worker.apply_batch


DIE_AFTER = "DIE_AFTER"
DIE_ONCE = "DIE_ONCE"


def _first_to_die() -> bool:
    """Return whether this worker should die: always, or once per ``DIE_ONCE`` file."""
    mark = os.environ.get(DIE_ONCE)
    if not mark:
        return True
    try:
        with open(mark, "x"):
            return True
    except FileExistsError:
        return False


def apply_then_die(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Commit ``ops``; if one is of the kind named, exit before the reply is written."""
    outcomes = commit(conn, ops)
    if os.environ.get(DIE_AFTER) == "finish":
        fatal = any(isinstance(op, FinishRun) for op in ops)
    else:
        fatal = any(type(op) is tuple for op in ops)
    if fatal and _first_to_die():
        os._exit(3)
    return outcomes


if __name__ == "__main__":
    write_worker.apply_batch = apply_then_die
    write_worker.main()
