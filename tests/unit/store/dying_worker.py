"""A writer process that dies right after committing a batch with an answer, before replying.

Run by the writer tests (``WorkerProcess.MODULE``) to open the one window a
SIGKILL from outside can rarely hit on cue: the transaction is on disk and the
bot has not heard so.
"""

from __future__ import annotations

import os
import sqlite3

from bot.store import write_worker
from bot.store.ops import Op

commit = write_worker.apply_batch


def apply_then_die(conn: sqlite3.Connection, ops: list[Op]) -> list[object]:
    """Commit ``ops``; if one is an answer, exit before the reply is written."""
    outcomes = commit(conn, ops)
    if any(type(op) is tuple for op in ops):
        os._exit(3)
    return outcomes


if __name__ == "__main__":
    write_worker.apply_batch = apply_then_die
    write_worker.main()
