"""A writer process that dies around a batch with a given kind of write, before replying.

Run by the writer tests (``WorkerProcess.MODULE``) to open, on cue, the windows
a SIGKILL from outside rarely hits: after COMMIT (the transaction is on disk
and the bot has not heard so), or with ``DIE_BEFORE`` set, before it (nothing
of the batch is on disk). It dies at a batch with an answer in it, or with
``DIE_AFTER`` naming another kind (``finish``, ``reset``, ``start``); with
``DIE_ONCE`` naming a file, only the first worker to create it dies.
"""

from __future__ import annotations

import os
import sqlite3

from bot.store import write_worker
from bot.store.ops import FinishRun, Op, ResetScores, StartRun

commit = write_worker.apply_batch


DIE_AFTER = "DIE_AFTER"
DIE_BEFORE = "DIE_BEFORE"
DIE_ONCE = "DIE_ONCE"

KINDS: dict[str, type] = {"finish": FinishRun, "reset": ResetScores, "start": StartRun}


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


def _fatal(ops: list[Op]) -> bool:
    """Return whether ``ops`` hold the kind of write this worker dies at."""
    kind = KINDS.get(os.environ.get(DIE_AFTER, "answer"))
    if kind is None:
        return any(type(op) is tuple for op in ops)
    return any(isinstance(op, kind) for op in ops)


def apply_then_die(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Commit ``ops`` (or not, with ``DIE_BEFORE``); at the fatal kind, exit without replying."""
    fatal = _fatal(ops) and _first_to_die()
    if fatal and os.environ.get(DIE_BEFORE):
        os._exit(3)
    outcomes = commit(conn, ops)
    if fatal:
        os._exit(3)
    return outcomes


if __name__ == "__main__":
    write_worker.apply_batch = apply_then_die
    write_worker.main()
